/*
 * The redis: backend against real redis-server processes that the test
 * starts (tests/redis_server.h) and always stops: the behaviours every
 * backend shares (store_common.h), the layout of docs/store.md, and faults
 * (a paused, killed or full server, a writer killed mid-put, eviction).
 *
 * No assertion depends on speed: a "within the timeout" check only has a
 * generous hang deadline, so a loaded machine cannot fail it.
 */
#include <stash/store.h>

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"
#include "store_common.h"

static struct redis_server shared_server;

static int start_shared(void **state)
{
    (void)state;
    return redis_server_start(&shared_server, NULL);
}

static int stop_shared(void **state)
{
    (void)state;
    redis_server_stop(&shared_server);
    return 0;
}

/* The shared server's URI with a query ("?prefix=..."), in a static buffer. */
static const char *uri_with(const char *query)
{
    static char uri[512];
    snprintf(uri, sizeof uri, "%s%s", shared_server.uri, query ? query : "");
    return uri;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A bare int64 array of count elements, element i = seed + i. */
static stash_value *counting_array(size_t count, int64_t seed)
{
    int64_t *data = malloc(count * sizeof *data);
    assert_non_null(data);
    for (size_t i = 0; i < count; i++)
        data[i] = seed + (int64_t)i;
    stash_value *v = array_of(STASH_DTYPE_INT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                              (uint64_t[]){count}, data);
    free(data);
    return v;
}

static void expect_round_trip(stash_store *s, const char *key, stash_value *v)
{
    stash_value *back = NULL;
    assert_ok(stash_store_put(s, key, v));
    assert_ok(stash_store_get(s, key, &back));
    assert_true(stash_value_equal(v, back));
    stash_value_free(&back);
    stash_value_free(&v);
}

/* ---- The shared behaviours ------------------------------------------------------------ */

static void test_redis_round_trips_every_kind(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=kinds:"), NULL, &s));
    assert_true(stash_store_is_active(s));
    assert_string_equal(stash_store_backend(s), "redis");
    expect_round_trip(s, "all/kinds", every_kind());
    expect_round_trip(s, ".hidden/..x/%41 \xc3\xa9}{", json("[1, {\"a\": null}]"));
    /* Several chunks: 20 MiB is three of at most 8 MiB. */
    expect_round_trip(s, "chunked", counting_array(20u << 17, -5));
    /* The tree that comes back is the caller's: it can grow. */
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "all/kinds", &back));
    assert_ok(stash_value_dict_set(back, "added", json("1")));
    stash_value_free(&back);
    stash_store_close(&s);
}

static void test_redis_put_replaces_and_delete_removes(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=replace:"), NULL, &s));
    stash_value *one = json("{\"v\": 1}"), *two = json("[2]"), *back = NULL;
    assert_int_equal(stash_store_has(s, "k"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_NOT_FOUND);
    assert_null(back);
    assert_ok(stash_store_put(s, "k", one));
    assert_ok(stash_store_put(s, "k", two));
    assert_ok(stash_store_has(s, "k"));
    assert_ok(stash_store_get(s, "k", &back));
    assert_true(stash_value_equal(back, two));
    stash_value_free(&back);
    assert_ok(stash_store_delete(s, "k"));
    assert_int_equal(stash_store_delete(s, "k"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_has(s, "k"), STASH_E_NOT_FOUND);
    assert_ok(stash_store_put(s, "kept", one));
    stash_store_close(&s);
    /* A read-only handle reads but refuses to change anything. */
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_ok(stash_store_open(uri_with("?prefix=replace:"), &ro, &s));
    assert_int_equal(stash_store_put(s, "k", one), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_store_delete(s, "kept"), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_store_gc(s, 0, NULL), STASH_E_NOT_WRITABLE);
    assert_ok(stash_store_get(s, "kept", &back));
    assert_true(stash_value_equal(back, one));
    stash_value_free(&back);
    stash_store_close(&s);
    /* Another prefix is another store on the same server. */
    assert_ok(stash_store_open(uri_with("?prefix=other:"), NULL, &s));
    assert_int_equal(stash_store_has(s, "kept"), STASH_E_NOT_FOUND);
    stash_store_close(&s);
    stash_value_free(&one);
    stash_value_free(&two);
}

static void test_redis_list_gives_every_key_and_gc_reports(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=list*[x]:"), NULL, &s));
    const char *keys[] = {"test", "test/foo", "abc", "7", "xxh3-128:00112233445566778899aabbccddeeff"};
    for (size_t i = 0; i < 5; i++) {
        stash_value *v = json("[1, 2, 3]");
        assert_ok(stash_store_put(s, keys[i], v));
        stash_value_free(&v);
    }
    /* Not listed: another prefix that a careless glob would match, and a temporary. */
    stash_store *other;
    assert_ok(stash_store_open(uri_with("?prefix=listX[x]:"), NULL, &other));
    stash_value *v = json("1");
    assert_ok(stash_store_put(other, "stranger", v));
    stash_store_close(&other);
    const char *hset[] = {"HSET", "list*[x]:{abc}:tmp:00", "m", "x"};
    assert_int_equal(redis_command(&shared_server, hset, 4), 1);
    struct seen seen = {0};
    assert_ok(stash_store_list(s, count_entry, &seen));
    assert_int_equal(seen.count, 5);
    assert_true(seen.saw_nested);
    assert_true(seen.bytes > 5 * 100);
    assert_int_equal(stash_store_list(s, stop_at_first, NULL), STASH_E_BUSY);
    stash_store_gc_stats stats;
    assert_ok(stash_store_gc(s, 0, &stats));
    assert_int_equal(stats.entries, 5);
    assert_int_equal(stats.bytes, seen.bytes);
    assert_int_equal(stats.evicted_entries, 0);
    stash_value_free(&v);
    stash_store_close(&s);
}

static stash_status double_it(void *ctx, const stash_value *inputs, const stash_value *meta,
                              stash_value **result)
{
    (void)meta;
    (*(int *)ctx)++;
    int64_t i = 0;
    stash_value_get_int(inputs, &i);
    return stash_value_new_int(2 * i, result);
}

static void test_redis_memoise_computes_once(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=memo:"), NULL, &s));
    stash_value *in = json("21"), *out = NULL;
    int calls = 0;
    stash_store_memo memo;
    assert_ok(stash_store_memoise(s, in, NULL, double_it, &calls, &out, &memo));
    assert_false(memo.hit);
    assert_true(memo.stored);
    assert_int_equal(memo.not_stored, STASH_OK);
    stash_value_free(&out);
    assert_ok(stash_store_memoise(s, in, NULL, double_it, &calls, &out, &memo));
    assert_true(memo.hit);
    assert_int_equal(calls, 1);
    int64_t i = 0;
    assert_ok(stash_value_get_int(out, &i));
    assert_int_equal(i, 42);
    stash_value_free(&out);
    stash_value_free(&in);
    stash_store_close(&s);
}

static void test_four_processes_share_a_redis_store(void **state)
{
    (void)state;
    run_concurrent_workers(uri_with("?prefix=shared:"));
}

/* Worker w's op: 0 put its key k, 1 get anyone's key, 2 delete its key k. */
static int mixed_action(int op)
{
    return (op / KEYS_PER_WORKER) % 3;
}

/* Puts, gets and deletes; exits 0 if every value it read was whole. */
static int mixed_worker(const char *uri, int w)
{
    stash_store *s;
    if (stash_store_open(uri, NULL, &s) != STASH_OK)
        return 10;
    unsigned seed = (unsigned)w * 7919u + 3;
    int bad = 0;
    for (int op = 0; op < OPS_PER_WORKER && !bad; op++) {
        char key[32];
        int k = op % KEYS_PER_WORKER;
        snprintf(key, sizeof key, "w%d/k%d", w, k);
        if (mixed_action(op) == 0) {
            stash_value *v = worker_value(w, k, op);
            bad = stash_store_put(s, key, v) != STASH_OK ? 20 : 0;
            stash_value_free(&v);
        } else if (mixed_action(op) == 2) {
            stash_status st = stash_store_delete(s, key);
            bad = st != STASH_OK && st != STASH_E_NOT_FOUND ? 50 : 0;
        } else {
            snprintf(key, sizeof key, "w%d/k%d", (int)(rand_r(&seed) % WORKERS),
                     (int)(rand_r(&seed) % KEYS_PER_WORKER));
            stash_value *v = NULL;
            stash_status st = stash_store_get(s, key, &v);
            if (st == STASH_OK && !is_consistent(v))
                bad = 30;
            else if (st != STASH_OK && st != STASH_E_NOT_FOUND)
                bad = 40;
            stash_value_free(&v);
        }
    }
    stash_store_close(&s);
    return bad;
}

/* Four processes, 500 mixed puts, gets and deletes each; then each key is as its last op left it. */
static void test_four_processes_put_get_and_delete_at_once(void **state)
{
    (void)state;
    const char *uri = uri_with("?prefix=mixed:");
    run_workers(uri, mixed_worker);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    for (int w = 0; w < WORKERS; w++) {
        for (int k = 0; k < KEYS_PER_WORKER; k++) {
            int last = -1;
            for (int op = k; op < OPS_PER_WORKER; op += KEYS_PER_WORKER)
                if (mixed_action(op) != 1)
                    last = op;
            char key[32];
            snprintf(key, sizeof key, "w%d/k%d", w, k);
            stash_value *v = NULL;
            stash_status st = stash_store_get(s, key, &v);
            if (last >= 0 && mixed_action(last) == 0) {
                assert_int_equal(st, STASH_OK);
                assert_true(is_consistent(v));
                assert_int_equal(field(v, "version"), last);
            } else {
                assert_int_equal(st, STASH_E_NOT_FOUND);
            }
            stash_value_free(&v);
        }
    }
    stash_store_close(&s);
}

/* ---- URIs ----------------------------------------------------------------------------- */

static void test_malformed_redis_uris_are_refused(void **state)
{
    (void)state;
    stash_store *s = NULL;
    const char *bad[] = {
        "redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:x",
        "redis://h/db", "redis://h/-1", "redis://h?nope=1", "redis://h?timeout_ms=0",
        "redis://h?timeout_ms", "redis://h?prefix=a{b", "redis://h?prefix=%zz",
        "redis://h,", "redis://[::1", "redis+unix://", "redis+unix://relative/path",
        "redis:/h", "REDIS://h", "redis+tcp://h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(stash_store_open(bad[i], NULL, &s), STASH_E_INVALID);
        assert_null(s);
    }
    /* The schemes are listed for messages. */
    bool listed = false;
    for (size_t i = 0; stash_store_scheme(i); i++)
        listed |= strcmp(stash_store_scheme(i), "redis://") == 0;
    assert_true(listed);
}

static void test_a_server_that_is_not_there_is_unavailable(void **state)
{
    (void)state;
    stash_store *s = NULL;
    char uri[512];
    snprintf(uri, sizeof uri, "redis+unix://%s/nobody-listens.sock", shared_server.dir);
    assert_int_equal(stash_store_open(uri, NULL, &s), STASH_E_UNAVAILABLE);
    assert_null(s);
    assert_int_equal(stash_store_open("redis://127.0.0.1:1?timeout_ms=500", NULL, &s),
                     STASH_E_UNAVAILABLE);
    assert_string_equal(stash_status_name(STASH_E_UNAVAILABLE), "STASH_E_UNAVAILABLE");
}

/* ---- The layout (docs/store.md, "redis: layout") ------------------------------------- */

/* The reply of one command on a fresh connection; the caller frees it. */
static redisReply *raw(const struct redis_server *srv, int argc, const char **argv,
                       const size_t *lens)
{
    redisContext *c = redisConnectUnix(srv->socket);
    assert_true(c && !c->err);
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    assert_non_null(r);
    redisFree(c);
    return r;
}

static uint64_t le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The hash holds a manifest and the bytes of a dir: entry of the same value, in chunks. */
static void test_an_entry_is_one_hash_holding_a_dir_entrys_bytes(void **state)
{
    (void)state;
    const char *scratch = scratch_dir();
    char dir_uri[4200];
    snprintf(dir_uri, sizeof dir_uri, "dir:%s", path_in(scratch, "twin"));
    stash_store *dir, *s;
    assert_ok(stash_store_open(dir_uri, NULL, &dir));
    assert_ok(stash_store_open(uri_with("?prefix=layout:"), NULL, &s));
    stash_value *v = json("{\"name\": \"run\"}");
    set(v, "data", counting_array(3u << 20, 7)); /* 24 MiB: four chunks */
    assert_ok(stash_store_put(dir, "a/b", v));
    assert_ok(stash_store_put(s, "a/b", v));
    stash_value_free(&v);
    stash_store_close(&dir);
    stash_store_close(&s);

    char entry_path[4200];
    snprintf(entry_path, sizeof entry_path, "%s/twin/a%%2Fb.nco", scratch);
    size_t file_len = (size_t)file_size(entry_path);
    unsigned char *file = malloc(file_len);
    assert_int_equal(read_file(entry_path, file, file_len), file_len);
    const char *hgetall[] = {"HGETALL", "layout:{a/b}"};
    redisReply *r = raw(&shared_server, 2, hgetall, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2 * 5); /* m, 0, 1, 2, 3 */
    const redisReply *manifest = NULL;
    const redisReply *chunks[4] = {0};
    for (size_t i = 0; i < r->elements; i += 2) {
        const char *field = r->element[i]->str;
        if (strcmp(field, "m") == 0)
            manifest = r->element[i + 1];
        else
            chunks[atoi(field)] = r->element[i + 1];
    }
    assert_non_null(manifest);
    assert_int_equal(manifest->len, 48);
    const unsigned char *m = (const unsigned char *)manifest->str;
    assert_memory_equal(m, "stRE", 4);
    assert_int_equal(le(m + 4, 4), 1);
    assert_int_equal(le(m + 8, 8), file_len);
    assert_int_equal(le(m + 16, 4), 8u << 20);
    assert_int_equal(le(m + 20, 4), 4);
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        assert_non_null(chunks[i]);
        assert_true(chunks[i]->len <= 8 << 20);
        assert_memory_equal(chunks[i]->str, file + at, (size_t)chunks[i]->len);
        at += (size_t)chunks[i]->len;
    }
    assert_int_equal(at, file_len);
    freeReplyObject(r);
    /* Nothing else was left on the server: no temporaries. */
    const char *keys[] = {"KEYS", "layout:*"};
    r = raw(&shared_server, 2, keys, NULL);
    assert_int_equal(r->elements, 1);
    freeReplyObject(r);
    free(file);
}

/* A damaged chunk is reported, never returned; a missing one is a miss. */
static void test_damaged_entries_are_reported_never_returned(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=damage:"), NULL, &s));
    stash_value *v = counting_array(1000, 1), *back = NULL;
    assert_ok(stash_store_put(s, "k", v));
    const char *flip[] = {"HSET", "damage:{k}", "0", "not the bytes that were put"};
    assert_int_equal(redis_command(&shared_server, flip, 4), 0);
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_CORRUPT);
    assert_ok(stash_store_put(s, "k", v));
    const char *drop[] = {"HDEL", "damage:{k}", "0"};
    assert_int_equal(redis_command(&shared_server, drop, 3), 1);
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_NOT_FOUND);
    const char *future[] = {"HSET", "damage:{k}", "m", "stRE\x02\0\0\0"};
    size_t future_lens[] = {4, 10, 1, 8};
    freeReplyObject(raw(&shared_server, 4, future, future_lens));
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_VERSION);
    const char *string[] = {"SET", "damage:{s}", "a plain string"};
    assert_int_equal(redis_command(&shared_server, string, 3), 0);
    assert_int_equal(stash_store_get(s, "s", &back), STASH_E_CORRUPT);
    assert_null(back);
    stash_value_free(&v);
    stash_store_close(&s);
}

/* A reader racing a writer that replaces a several-chunk entry never gets a mix. */
static void test_a_get_during_replacements_is_never_half_old(void **state)
{
    (void)state;
    const char *uri = uri_with("?prefix=race:");
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *first = counting_array(3u << 20, 0);
    assert_ok(stash_store_put(s, "k", first));
    stash_value_free(&first);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stash_store *w;
        if (stash_store_open(uri, NULL, &w) != STASH_OK)
            _exit(1);
        for (int64_t n = 1;; n++) {
            stash_value *v = counting_array(3u << 20, n * 1000000000);
            stash_store_put(w, "k", v);
            stash_value_free(&v);
        }
    }
    for (int round = 0; round < 30; round++) {
        stash_value *back = NULL;
        stash_status st = stash_store_get(s, "k", &back);
        assert_true(st == STASH_OK || st == STASH_E_NOT_FOUND);
        if (st == STASH_OK) {
            const stash_array_desc *d;
            const void *data;
            assert_ok(stash_value_get_array(back, &d, &data));
            const int64_t *p = data;
            for (size_t i = 0; i < d->shape[0]; i += 4096)
                assert_int_equal(p[i], p[0] + (int64_t)i);
            assert_int_equal(p[d->shape[0] - 1], p[0] + (int64_t)d->shape[0] - 1);
        }
        stash_value_free(&back);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    stash_store_close(&s);
}

/* ---- Faults ----------------------------------------------------------------------------- */

static void test_a_paused_server_is_unavailable_within_the_timeout(void **state)
{
    (void)state;
    struct redis_server srv = {0};
    assert_int_equal(redis_server_start(&srv, NULL), 0);
    char uri[512];
    snprintf(uri, sizeof uri, "%s?timeout_ms=300", srv.uri);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *v = json("{\"x\": 1}"), *back = NULL;
    assert_ok(stash_store_put(s, "k", v));
    kill(srv.pid, SIGSTOP);
    /* Each call gives up after about the timeout; 30 s only catches a hang. */
    double start = now_s();
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_UNAVAILABLE);
    assert_true(now_s() - start < 30);
    start = now_s();
    assert_int_equal(stash_store_put(s, "k", v), STASH_E_UNAVAILABLE);
    assert_int_equal(stash_store_has(s, "k"), STASH_E_UNAVAILABLE);
    assert_true(now_s() - start < 60);
    /* memoise: a miss, computed, returned, not stored; no put waited on. */
    int calls = 0;
    stash_store_memo memo;
    stash_value *in = json("4");
    assert_ok(stash_store_memoise(s, in, NULL, double_it, &calls, &back, &memo));
    assert_int_equal(calls, 1);
    assert_false(memo.hit);
    assert_false(memo.stored);
    assert_int_equal(memo.not_stored, STASH_E_UNAVAILABLE);
    stash_value_free(&back);
    /* Continued, the server is used again by the same handle. */
    kill(srv.pid, SIGCONT);
    assert_ok(stash_store_get(s, "k", &back));
    assert_true(stash_value_equal(v, back));
    stash_value_free(&back);
    stash_store_close(&s);
    /* Killed: refused at once, and an open is refused too. */
    assert_ok(stash_store_open(uri, NULL, &s));
    kill(srv.pid, SIGKILL);
    waitpid(srv.pid, NULL, 0);
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_UNAVAILABLE);
    assert_int_equal(stash_store_put(s, "k", v), STASH_E_UNAVAILABLE);
    stash_store_close(&s);
    assert_int_equal(stash_store_open(uri, NULL, &s), STASH_E_UNAVAILABLE);
    redis_server_stop(&srv);
    stash_value_free(&in);
    stash_value_free(&v);
}

static void test_a_killed_writer_leaves_no_partial_entry(void **state)
{
    (void)state;
    const char *uri = uri_with("?prefix=killed:");
    for (unsigned delay = 2000; delay <= 62000; delay += 15000) {
        kill_writer_mid_put(uri, delay);
        expect_whole_or_missing(uri);
    }
    /* What a killed writer left is a temporary with an expiry, never a bare hash. */
    const char *keys[] = {"KEYS", "killed:*:tmp:*"};
    redisReply *r = raw(&shared_server, 2, keys, NULL);
    for (size_t i = 0; i < r->elements; i++) {
        const char *ttl[] = {"TTL", r->element[i]->str};
        long long left = redis_command(&shared_server, ttl, 2);
        assert_true(left > 0);
    }
    freeReplyObject(r);
}

/* A value of test_eviction_...'s: 1 MiB, or every tenth 9 MiB (two chunks). */
static size_t evicted_count(int k)
{
    return k % 10 == 9 ? (9u << 20) / 8 : 1u << 17;
}

/* Under a small maxmemory and allkeys-lru, a get gives a whole value or a miss. */
static void test_eviction_never_returns_a_partial_value(void **state)
{
    (void)state;
    struct redis_server srv = {0};
    const char *args[] = {"--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru", NULL};
    assert_int_equal(redis_server_start(&srv, args), 0);
    char uri[512];
    snprintf(uri, sizeof uri, "%s?max_entry_bytes=0", srv.uri);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    int misses = 0, whole = 0;
    for (int n = 0; n < 60; n++) {
        char key[32];
        snprintf(key, sizeof key, "v%d", n);
        stash_value *v = counting_array(evicted_count(n), n * 10000000);
        stash_status st = stash_store_put(s, key, v);
        assert_true(st == STASH_OK || st == STASH_E_FULL);
        stash_value_free(&v);
        for (int k = n < 10 ? 0 : n - 10; k <= n; k++) {
            snprintf(key, sizeof key, "v%d", k);
            stash_value *back = NULL;
            st = stash_store_get(s, key, &back);
            assert_true(st == STASH_OK || st == STASH_E_NOT_FOUND);
            if (st == STASH_OK) {
                const stash_array_desc *d;
                const void *data;
                assert_ok(stash_value_get_array(back, &d, &data));
                const int64_t *p = data;
                assert_int_equal(d->shape[0], evicted_count(k));
                assert_int_equal(p[0], (int64_t)k * 10000000);
                assert_int_equal(p[d->shape[0] - 1], p[0] + (int64_t)d->shape[0] - 1);
                whole++;
            } else {
                misses++;
            }
            stash_value_free(&back);
        }
    }
    assert_true(misses > 0); /* the cap was reached: eviction happened */
    assert_true(whole > 0);
    stash_store_close(&s);
    /* Without max_entry_bytes, a quarter of maxmemory is the largest entry. */
    assert_ok(stash_store_open(srv.uri, NULL, &s));
    stash_value *big = counting_array(1u << 20, 0), *back = NULL;
    assert_int_equal(stash_store_put(s, "too-big", big), STASH_E_LIMIT);
    int calls = 0;
    stash_store_memo memo;
    stash_value *in = json("5");
    stash_store_close(&s);
    snprintf(uri, sizeof uri, "%s?max_entry_bytes=10", srv.uri);
    assert_ok(stash_store_open(uri, NULL, &s));
    assert_ok(stash_store_memoise(s, in, NULL, double_it, &calls, &back, &memo));
    assert_false(memo.stored);
    assert_int_equal(memo.not_stored, STASH_E_LIMIT);
    int64_t i = 0;
    assert_ok(stash_value_get_int(back, &i));
    assert_int_equal(i, 10);
    stash_value_free(&back);
    stash_value_free(&in);
    stash_value_free(&big);
    stash_store_close(&s);
    redis_server_stop(&srv);
}

/* A full server that may evict nothing refuses the put whole: FULL, and nothing left. */
static void test_a_full_server_refuses_a_put_whole(void **state)
{
    (void)state;
    struct redis_server srv = {0};
    const char *args[] = {"--maxmemory", "12mb", "--maxmemory-policy", "noeviction", NULL};
    assert_int_equal(redis_server_start(&srv, args), 0);
    char uri[512];
    snprintf(uri, sizeof uri, "%s?max_entry_bytes=0", srv.uri);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *big = counting_array(3u << 20, 0), *back = NULL; /* 24 MiB */
    assert_int_equal(stash_store_put(s, "big", big), STASH_E_FULL);
    assert_int_equal(stash_store_get(s, "big", &back), STASH_E_NOT_FOUND);
    const char *dbsize[] = {"DBSIZE"};
    assert_int_equal(redis_command(&srv, dbsize, 1), 0);
    /* One-chunk entries (one script each) until the server is full: the last is refused whole. */
    stash_value *mib = counting_array(1u << 17, 0);
    stash_status st = STASH_OK;
    char key[32];
    for (int n = 0; n < 100 && st == STASH_OK; n++) {
        snprintf(key, sizeof key, "one%d", n);
        st = stash_store_put(s, key, mib);
    }
    assert_int_equal(st, STASH_E_FULL);
    assert_int_equal(stash_store_get(s, key, &back), STASH_E_NOT_FOUND);
    const char *tmps[] = {"KEYS", "*:tmp:*"};
    redisReply *r = raw(&srv, 2, tmps, NULL);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    stash_value_free(&mib);
    stash_value_free(&big);
    stash_store_close(&s);
    redis_server_stop(&srv);
}

static void test_a_password_from_the_uri_or_the_environment(void **state)
{
    (void)state;
    struct redis_server srv = {0};
    const char *args[] = {"--requirepass", "s3cret@:x", "--user", "alice", "on", ">pa:ss",
                          "~*", "&*", "+@all", NULL};
    assert_int_equal(redis_server_start_tcp(&srv, args), 0);
    stash_store *s = NULL;
    unsetenv("STASH_REDIS_PASSWORD");
    assert_int_equal(stash_store_open(srv.uri, NULL, &s), -EACCES);
    setenv("STASH_REDIS_PASSWORD", "wrong", 1);
    assert_int_equal(stash_store_open(srv.uri, NULL, &s), -EACCES);
    setenv("STASH_REDIS_PASSWORD", "s3cret@:x", 1);
    assert_ok(stash_store_open(srv.uri, NULL, &s));
    expect_round_trip(s, "k", json("1"));
    stash_store_close(&s);
    unsetenv("STASH_REDIS_PASSWORD");
    /* A user and a percent-encoded password in a TCP URI: AUTH user password. */
    char uri[512];
    snprintf(uri, sizeof uri, "redis://alice:pa%%3Ass@127.0.0.1:%d/0", srv.port);
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "k", &back));
    stash_value_free(&back);
    stash_store_close(&s);
    snprintf(uri, sizeof uri, "redis://alice:nope@127.0.0.1:%d/0", srv.port);
    assert_int_equal(stash_store_open(uri, NULL, &s), -EACCES);
    /* Another database is another store. */
    snprintf(uri, sizeof uri, "redis://alice:pa%%3Ass@127.0.0.1:%d/3", srv.port);
    assert_ok(stash_store_open(uri, NULL, &s));
    assert_int_equal(stash_store_has(s, "k"), STASH_E_NOT_FOUND);
    stash_store_close(&s);
    redis_server_stop(&srv);
}

/* Two shards, one killed: only the keys that live on it miss. */
static void test_two_shards_with_one_down_lose_only_its_keys(void **state)
{
    (void)state;
    struct redis_server a = {0}, b = {0};
    assert_int_equal(redis_server_start_tcp(&a, NULL), 0);
    assert_int_equal(redis_server_start_tcp(&b, NULL), 0);
    char uri[512];
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d,127.0.0.1:%d/0?timeout_ms=300", a.port,
             b.port);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    bool on_b[40];
    int count_b = 0;
    for (int k = 0; k < 40; k++) {
        char key[16], name[32];
        snprintf(key, sizeof key, "k%d", k);
        stash_value *v = json("[1]");
        assert_ok(stash_store_put(s, key, v));
        stash_value_free(&v);
        snprintf(name, sizeof name, "stash:{%s}", key);
        const char *exists[] = {"EXISTS", name};
        long long in_a = redis_command(&a, exists, 2), in_b = redis_command(&b, exists, 2);
        assert_int_equal(in_a + in_b, 1); /* each key on exactly one server */
        on_b[k] = in_b == 1;
        count_b += on_b[k];
    }
    assert_true(count_b > 0 && count_b < 40);
    redis_server_stop(&b);
    for (int k = 0; k < 40; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        stash_value *back = NULL;
        assert_int_equal(stash_store_get(s, key, &back), on_b[k] ? STASH_E_UNAVAILABLE : STASH_OK);
        stash_value_free(&back);
    }
    stash_store_close(&s);
    /* The same servers listed the other way round put each key in the same place;
     * and a store opens while one of its shards is down. */
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d,127.0.0.1:%d/0?timeout_ms=300", b.port,
             a.port);
    assert_ok(stash_store_open(uri, NULL, &s));
    for (int k = 0; k < 40; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        assert_int_equal(stash_store_has(s, key), on_b[k] ? STASH_E_UNAVAILABLE : STASH_OK);
    }
    stash_store_close(&s);
    redis_server_stop(&a);
}

/* True once the node at srv reports cluster_state:ok (up to 30 s). */
static bool cluster_ok(const struct redis_server *srv)
{
    for (int tries = 0; tries < 300; tries++) {
        const char *info[] = {"CLUSTER", "INFO"};
        redisReply *r = raw(srv, 2, info, NULL);
        bool ok = r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
        freeReplyObject(r);
        if (ok)
            return true;
        struct timespec wait = {0, 100 * 1000000};
        nanosleep(&wait, NULL);
    }
    return false;
}

/*
 * A Redis Cluster of three masters made by redis-cli --cluster create: a node
 * answers a key of another node's slots with MOVED, which stash refuses with
 * STASH_E_UNSUPPORTED (docs/store.md, "TLS, Cluster"), never following it and
 * never hanging; keys of the node's own slots work.
 */
static void test_a_redis_cluster_is_refused_with_a_clear_status(void **state)
{
    (void)state;
    struct redis_server nodes[3] = {{0}};
    const char *args[] = {"--cluster-enabled", "yes", "--cluster-node-timeout", "2000", NULL};
    for (int i = 0; i < 3; i++)
        assert_int_equal(redis_server_start_tcp(&nodes[i], args), 0);
    char command[512];
    snprintf(command, sizeof command,
             "redis-cli --cluster create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d "
             "--cluster-replicas 0 --cluster-yes > /dev/null 2>&1",
             nodes[0].port, nodes[1].port, nodes[2].port);
    if (system(command) != 0) {
        for (int i = 0; i < 3; i++)
            redis_server_stop(&nodes[i]);
        fail_msg("redis-cli --cluster create failed");
    }
    assert_true(cluster_ok(&nodes[0]));
    char uri[512];
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d/0?timeout_ms=2000", nodes[0].port);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    int refused = 0, stored = 0;
    stash_value *v = counting_array(100000, 1), *small = json("1"); /* 800 kB: chunked path */
    for (int k = 0; k < 30; k++) {
        char key[16];
        snprintf(key, sizeof key, "c%d", k);
        stash_status st = stash_store_put(s, key, k % 2 ? v : small);
        assert_true(st == STASH_OK || st == STASH_E_UNSUPPORTED);
        stash_value *back = NULL;
        stash_status got = stash_store_get(s, key, &back);
        assert_int_equal(got, st == STASH_OK ? STASH_OK : STASH_E_UNSUPPORTED);
        stash_value_free(&back);
        refused += st == STASH_E_UNSUPPORTED;
        stored += st == STASH_OK;
    }
    assert_true(refused > 0);
    assert_true(stored > 0);
    stash_value_free(&small);
    stash_value_free(&v);
    stash_store_close(&s);
    for (int i = 0; i < 3; i++)
        redis_server_stop(&nodes[i]);
}

/* A value over Redis's 512 MB string limit, if the machine has the memory. */
static void test_a_600_mib_value_round_trips(void **state)
{
    (void)state;
    if (under_valgrind()) { /* 600 MiB through memcheck takes many minutes */
        print_message("skipped under valgrind\n");
        skip();
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && (double)pages * (double)page < 6e9) {
        print_message("skipped: a 600 MiB round trip needs about 6 GB free\n");
        skip();
    }
    stash_store *s;
    assert_ok(stash_store_open(uri_with("?prefix=huge:&timeout_ms=10000"), NULL, &s));
    size_t count = (600u << 20) / 8;
    stash_value *v = counting_array(count, 3), *back = NULL;
    assert_ok(stash_store_put(s, "huge", v));
    assert_ok(stash_store_get(s, "huge", &back));
    assert_true(stash_value_equal(v, back));
    stash_value_free(&back);
    stash_value_free(&v);
    assert_ok(stash_store_delete(s, "huge"));
    stash_store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_redis_uris_are_refused),
        cmocka_unit_test(test_a_server_that_is_not_there_is_unavailable),
        cmocka_unit_test(test_redis_round_trips_every_kind),
        cmocka_unit_test(test_redis_put_replaces_and_delete_removes),
        cmocka_unit_test(test_redis_list_gives_every_key_and_gc_reports),
        cmocka_unit_test(test_redis_memoise_computes_once),
        cmocka_unit_test(test_an_entry_is_one_hash_holding_a_dir_entrys_bytes),
        cmocka_unit_test(test_damaged_entries_are_reported_never_returned),
        cmocka_unit_test(test_a_get_during_replacements_is_never_half_old),
        cmocka_unit_test(test_four_processes_share_a_redis_store),
        cmocka_unit_test(test_four_processes_put_get_and_delete_at_once),
        cmocka_unit_test(test_a_killed_writer_leaves_no_partial_entry),
        cmocka_unit_test(test_a_paused_server_is_unavailable_within_the_timeout),
        cmocka_unit_test(test_eviction_never_returns_a_partial_value),
        cmocka_unit_test(test_a_full_server_refuses_a_put_whole),
        cmocka_unit_test(test_a_password_from_the_uri_or_the_environment),
        cmocka_unit_test(test_two_shards_with_one_down_lose_only_its_keys),
        cmocka_unit_test(test_a_redis_cluster_is_refused_with_a_clear_status),
        cmocka_unit_test(test_a_600_mib_value_round_trips),
    };
    return cmocka_run_group_tests(tests, start_shared, stop_shared);
}
