/*
 * Store behaviours every backend shares, for test_store.c (dir:),
 * test_store_hdf5.c (hdf5:), test_store_pickle.c and test_store_redis.c:
 * value builders, round trips, list callbacks, and many processes putting
 * and getting in one store at once.
 */
#ifndef STASH_TEST_STORE_COMMON_H
#define STASH_TEST_STORE_COMMON_H

#include <stash/store.h>

#include "test_util.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static stash_value *json(const char *text)
{
    stash_value *v = NULL;
    assert_ok(stash_value_from_json(text, strlen(text), &v, NULL));
    return v;
}

static stash_value *array_of(stash_dtype dtype, stash_byte_order byte_order,
                             stash_array_order order, unsigned ndim, const uint64_t *shape,
                             const void *data)
{
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, dtype, ndim, shape));
    d.byte_order = byte_order;
    d.order = order;
    stash_value *v = NULL;
    assert_ok(stash_value_new_array(&d, data, &v));
    return v;
}

static void set(stash_value *dict, const char *key, stash_value *item)
{
    assert_ok(stash_value_dict_set(dict, key, item));
}

/* A dict with one of each kind the store keeps, arrays in several layouts. */
static stash_value *every_kind(void)
{
    stash_value *v = json("{\"none\": null, \"yes\": true, \"no\": false, \"int\": -7,"
                          " \"big\": 9223372036854775807, \"float\": 2.5,"
                          " \"text\": \"h\\u00e9llo\", \"bytes\": {\"$bytes\": \"AAEC/w==\"},"
                          " \"list\": [1, \"two\", [3.0]], \"empty\": {}, \"nested\": {\"a\": {\"b\": 1}}}");
    double grid[6] = {0, 1, 2, 3, 4, 5};
    set(v, "c_order", array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 2,
                               (uint64_t[]){2, 3}, grid));
    set(v, "fortran", array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_F, 2,
                               (uint64_t[]){2, 3}, grid));
    uint8_t big_endian[8] = {0, 0, 0, 1, 0, 0, 0, 2};
    set(v, "big_endian", array_of(STASH_DTYPE_INT32, STASH_BIG_ENDIAN, STASH_ORDER_C, 1,
                                  (uint64_t[]){2}, big_endian));
    double scalar = 4.25;
    set(v, "scalar", array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 0, NULL,
                              &scalar));
    set(v, "zero_length", array_of(STASH_DTYPE_INT16, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 2,
                                   (uint64_t[]){0, 4}, NULL));
    bool flags[3] = {true, false, true};
    set(v, "flags", array_of(STASH_DTYPE_BOOL, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                             (uint64_t[]){3}, flags));
    float pairs[4] = {1, -2, 3.5f, 0};
    set(v, "complex", array_of(STASH_DTYPE_COMPLEX64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                               (uint64_t[]){2}, pairs));
    stash_value *t = json("[]"), *tuple;
    stash_value_free(&t);
    assert_ok(stash_value_new_tuple(&tuple));
    assert_ok(stash_value_append(tuple, json("\"first\"")));
    assert_ok(stash_value_append(tuple, json("2")));
    set(v, "tuple", tuple);
    return v;
}

/* ---- Many processes at once ---------------------------------------------------------- */

#define WORKERS 4
#define OPS_PER_WORKER 500
#define KEYS_PER_WORKER 25

/* Worker w's value for key k, version n: its numbers say who wrote it. */
static stash_value *worker_value(int w, int k, int n)
{
    char text[128];
    snprintf(text, sizeof text, "{\"worker\": %d, \"key\": %d, \"version\": %d}", w, k, n);
    stash_value *v = json(text);
    int64_t payload[64];
    for (int i = 0; i < 64; i++)
        payload[i] = (int64_t)w * 1000000 + k * 1000 + n + i;
    set(v, "payload", array_of(STASH_DTYPE_INT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                               (uint64_t[]){64}, payload));
    return v;
}

static int64_t field(const stash_value *v, const char *name)
{
    int64_t i = -1;
    stash_value_get_int(stash_value_dict_get(v, name), &i);
    return i;
}

/* True if v is whole: its payload agrees with its numbers. */
static bool is_consistent(const stash_value *v)
{
    const stash_array_desc *d;
    const void *data;
    if (stash_value_get_array(stash_value_dict_get(v, "payload"), &d, &data) != STASH_OK ||
        d->ndim != 1 || d->shape[0] != 64)
        return false;
    int64_t w = field(v, "worker"), k = field(v, "key"), n = field(v, "version");
    const int64_t *p = data;
    for (int i = 0; i < 64; i++)
        if (p[i] != w * 1000000 + k * 1000 + n + i)
            return false;
    return true;
}

/* Puts its own keys and gets anyone's; exits 0 if every value it read was whole. */
static int store_worker(const char *uri, int w)
{
    stash_store *s;
    if (stash_store_open(uri, NULL, &s) != STASH_OK)
        return 10;
    unsigned seed = (unsigned)w * 7919u + 1;
    int bad = 0;
    for (int op = 0; op < OPS_PER_WORKER && !bad; op++) {
        char key[32];
        int k = op % KEYS_PER_WORKER;
        if (op % 2 == 0) {
            snprintf(key, sizeof key, "w%d/k%d", w, k);
            stash_value *v = worker_value(w, k, op);
            bad = stash_store_put(s, key, v) != STASH_OK ? 20 : 0;
            stash_value_free(&v);
        } else {
            int other = (int)(rand_r(&seed) % WORKERS);
            snprintf(key, sizeof key, "w%d/k%d", other, (int)(rand_r(&seed) % KEYS_PER_WORKER));
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

/* Runs worker(uri, w) in WORKERS processes at once; each must exit 0. */
static void run_workers(const char *uri, int (*worker)(const char *uri, int w))
{
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0)
            _exit(worker(uri, w));
    }
    for (int w = 0; w < WORKERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* stash_store_list callbacks: count every key (and see "test/foo"), or stop at once. */
struct seen {
    int count;
    uint64_t bytes;
    bool saw_nested;
};

static inline stash_status count_entry(void *ctx, const char *key, uint64_t bytes)
{
    struct seen *seen = ctx;
    seen->count++;
    seen->bytes += bytes;
    seen->saw_nested |= strcmp(key, "test/foo") == 0;
    return STASH_OK;
}

static inline stash_status stop_at_first(void *ctx, const char *key, uint64_t bytes)
{
    (void)ctx, (void)key, (void)bytes;
    return STASH_E_BUSY;
}

/* WORKERS processes at once; then every key holds its writer's last version. */
static void run_concurrent_workers(const char *uri)
{
    run_workers(uri, store_worker);
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    for (int w = 0; w < WORKERS; w++) {
        for (int k = 0; k < KEYS_PER_WORKER; k++) {
            char key[32];
            snprintf(key, sizeof key, "w%d/k%d", w, k);
            stash_value *v = NULL;
            assert_ok(stash_store_get(s, key, &v));
            assert_true(is_consistent(v));
            /* The last put of key k by worker w was at op = the last even op with op % K == k. */
            int last = -1;
            for (int op = 0; op < OPS_PER_WORKER; op += 2)
                if (op % KEYS_PER_WORKER == k)
                    last = op;
            if (last >= 0)
                assert_int_equal(field(v, "version"), last);
            stash_value_free(&v);
        }
    }
    stash_store_close(&s);
}

/* ---- A writer killed in the middle of a put -------------------------------------------- */

/* A child puts large values under one key forever; it is killed at some instant. */
static void kill_writer_mid_put(const char *uri, unsigned delay_us)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stash_store *s;
        if (stash_store_open(uri, NULL, &s) != STASH_OK)
            _exit(1);
        for (int n = 1;; n++) {
            size_t count = 1u << 20;
            int64_t *big = malloc(count * sizeof *big);
            for (size_t i = 0; i < count; i++)
                big[i] = n;
            stash_value *v = json("{}");
            set(v, "n", json("1"));
            set(v, "data", array_of(STASH_DTYPE_INT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                                    (uint64_t[]){count}, big));
            free(big);
            stash_store_put(s, "victim", v);
            stash_value_free(&v);
        }
    }
    usleep(delay_us);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
}

/* After a kill: the key holds a whole value or nothing, and the store still works. */
static void expect_whole_or_missing(const char *uri)
{
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *v = NULL;
    stash_status st = stash_store_get(s, "victim", &v);
    assert_true(st == STASH_OK || st == STASH_E_NOT_FOUND);
    if (st == STASH_OK) {
        const stash_array_desc *d;
        const void *data;
        assert_ok(stash_value_get_array(stash_value_dict_get(v, "data"), &d, &data));
        assert_int_equal(d->shape[0], 1u << 20);
        const int64_t *p = data;
        for (size_t i = 1; i < d->shape[0]; i++)
            assert_int_equal(p[i], p[0]);
    }
    stash_value_free(&v);
    stash_value *fresh = json("{\"after\": \"the crash\"}");
    assert_ok(stash_store_put(s, "after", fresh));
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "after", &back));
    assert_true(stash_value_equal(fresh, back));
    stash_value_free(&fresh);
    stash_value_free(&back);
    stash_store_close(&s);
}

#endif
