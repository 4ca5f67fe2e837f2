/*
 * The pickle: backend: corelay's PickleStorage tests (five keys as given,
 * the full cycle across reopenings), what stash adds (a torn record is
 * ignored and cut, delete and gc rewrite atomically, hostile records are
 * refused unexecuted), and the behaviours every backend shares
 * (store_common.h). tests/interop/store_pickle.py checks the files against
 * Python's pickle and NumPy.
 */
#include <stash/hash.h>
#include <stash/pickle.h>
#include <stash/store.h>

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_common.h"

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = strdup(scratch_dir());
    return 0;
}

/* "pickle:<dir>/<name>" in a static buffer. */
static const char *uri_of(const char *name)
{
    static char uri[4200];
    snprintf(uri, sizeof uri, "pickle:%s/%s", dir, name);
    return uri;
}

static const char *file_of(const char *name)
{
    return uri_of(name) + strlen("pickle:");
}

static stash_store *open_store(const char *name, unsigned flags)
{
    stash_store_options options = {.flags = flags};
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri_of(name), &options, &s));
    return s;
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

static void expect_stored(stash_store *s, const char *key, const char *json_text)
{
    stash_value *want = json(json_text), *back = NULL;
    assert_ok(stash_store_get(s, key, &back));
    assert_true(stash_value_equal(want, back));
    stash_value_free(&back);
    stash_value_free(&want);
}

static void append_bytes(const char *path, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

struct names {
    int count;
    char seen[8][32];
    uint64_t bytes[8];
};

static stash_status note_name(void *ctx, const char *key, uint64_t bytes)
{
    struct names *n = ctx;
    if (n->count < 8) {
        snprintf(n->seen[n->count], sizeof n->seen[0], "%s", key);
        n->bytes[n->count] = bytes;
    }
    n->count++;
    return STASH_OK;
}

/* ---- corelay's tests ------------------------------------------------------------------ */

/* Five writes, "test/foo" and "test/bar" among them: five keys, as given, in put order. */
static void test_keys_are_whole_strings(void **state)
{
    (void)state;
    stash_store *s = open_store("keys.pkl", 0);
    const char *keys[] = {"data", "new_data", "test/foo", "test/bar", "other"};
    stash_value *v = json("\"value\"");
    for (int i = 0; i < 5; i++)
        assert_ok(stash_store_put(s, keys[i], v));
    assert_ok(stash_store_put(s, "data", v)); /* again: still one key */
    stash_value_free(&v);
    struct names n = {0};
    assert_ok(stash_store_list(s, note_name, &n));
    assert_int_equal(n.count, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(n.seen[i], keys[i]);
    assert_true(n.bytes[0] > 0);
    assert_int_equal(stash_store_has(s, "test"), STASH_E_NOT_FOUND);
    assert_string_equal(stash_store_backend(s), "pickle");
    stash_store_close(&s);
}

static void test_full_cycle_across_reopenings(void **state)
{
    (void)state;
    stash_store *s = open_store("cycle.pkl", 0);
    stash_value *v = json("[1, 2, 3]");
    assert_ok(stash_store_put(s, "data", v));
    stash_value_free(&v);
    stash_store_close(&s);
    s = open_store("cycle.pkl", 0);
    v = json("{\"param1\": 1, \"param2\": \"string\"}");
    assert_ok(stash_store_put(s, "new_data", v));
    stash_value_free(&v);
    stash_store_close(&s);
    s = open_store("cycle.pkl", STASH_STORE_READ_ONLY);
    struct names n = {0};
    assert_ok(stash_store_list(s, note_name, &n));
    assert_int_equal(n.count, 2);
    expect_stored(s, "data", "[1, 2, 3]");
    expect_stored(s, "new_data", "{\"param1\": 1, \"param2\": \"string\"}");
    assert_int_equal(stash_store_get(s, "missing", &v), STASH_E_NOT_FOUND);
    v = json("1");
    assert_int_equal(stash_store_put(s, "x", v), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_store_delete(s, "data"), STASH_E_NOT_WRITABLE);
    stash_value_free(&v);
    stash_store_close(&s);
}

/* ---- Shared with every backend ------------------------------------------------------- */

static void test_every_kind_round_trips_and_puts_replace(void **state)
{
    (void)state;
    stash_store *s = open_store("kinds.pkl", 0);
    expect_round_trip(s, "all", every_kind());
    expect_round_trip(s, "all", json("[1, 2]"));
    expect_round_trip(s, "deep/key/path", json("{\"a\": null}"));
    stash_store_close(&s);
    s = open_store("kinds.pkl", 0);
    expect_stored(s, "all", "[1, 2]");
    stash_store_close(&s);
}

/* A value got is the caller's to change, a small int included (dir: and pickle: alike). */
static void test_a_got_value_is_the_callers_own(void **state)
{
    (void)state;
    char dir_uri[4200];
    snprintf(dir_uri, sizeof dir_uri, "dir:%s", path_in(dir, "own-dir"));
    for (int u = 0; u < 2; u++) {
        char uri[4200];
        snprintf(uri, sizeof uri, "%s", u == 0 ? uri_of("own.pkl") : dir_uri);
        stash_store *s = NULL;
        assert_ok(stash_store_open(uri, NULL, &s));
        const char *values[] = {"5", "null", "true", "{\"a\": [1, 2]}"};
        for (int i = 0; i < 4; i++) {
            stash_value *v = json(values[i]), *back = NULL, *list = NULL;
            assert_ok(stash_store_put(s, "k", v));
            stash_value_free(&v);
            assert_ok(stash_store_get(s, "k", &back));
            assert_ok(stash_value_new_list(&list));
            assert_ok(stash_value_append(list, back));
            stash_value_free(&list);
        }
        stash_store_close(&s);
    }
}

static void test_a_handle_sees_other_handles_changes_at_once(void **state)
{
    (void)state;
    stash_store *a = open_store("two.pkl", 0), *b = open_store("two.pkl", 0);
    stash_value *v = json("1");
    assert_ok(stash_store_put(a, "k", v));
    stash_value_free(&v);
    expect_stored(b, "k", "1");
    v = json("2");
    assert_ok(stash_store_put(b, "k", v));
    stash_value_free(&v);
    expect_stored(a, "k", "2");
    assert_ok(stash_store_delete(a, "k"));
    assert_int_equal(stash_store_get(b, "k", &v), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_delete(b, "k"), STASH_E_NOT_FOUND);
    stash_store_close(&a);
    stash_store_close(&b);
}

static stash_status twice(void *ctx, const stash_value *inputs, const stash_value *meta,
                          stash_value **result)
{
    (*(int *)ctx)++;
    (void)meta;
    int64_t i;
    stash_value_get_int(stash_value_item(inputs, 0), &i);
    return stash_value_new_int(2 * i, result);
}

/* Content keys are keys like any other: memoise computes once per inputs. */
static void test_memoise_computes_once(void **state)
{
    (void)state;
    stash_store *s = open_store("memo.pkl", 0);
    stash_value *inputs = json("[21]"), *result = NULL;
    int calls = 0;
    stash_store_memo memo;
    for (int i = 0; i < 3; i++) {
        assert_ok(stash_store_memoise(s, inputs, NULL, twice, &calls, &result, &memo));
        int64_t got;
        assert_ok(stash_value_get_int(result, &got));
        assert_int_equal(got, 42);
        assert_int_equal(memo.hit, i > 0);
        stash_value_free(&result);
    }
    assert_int_equal(calls, 1);
    assert_ok(stash_store_has(s, memo.key.text));
    stash_value_free(&inputs);
    stash_store_close(&s);
}

static void test_bad_paths_and_options_are_refused(void **state)
{
    (void)state;
    stash_store *s = NULL;
    stash_store_options limit = {.max_bytes = 100}, read_only = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open("pickle:", NULL, &s), STASH_E_INVALID);
    assert_int_equal(stash_store_open(uri_of("limit.pkl"), &limit, &s), STASH_E_INVALID);
    assert_int_equal(stash_store_open(uri_of("missing.pkl"), &read_only, &s), -ENOENT);
    assert_int_equal(access(file_of("missing.pkl"), F_OK), -1);
    assert_int_equal(access(path_in(dir, "missing.pkl.lock"), F_OK), -1);
    assert_int_equal(mkdir(file_of("a_dir"), 0700), 0);
    assert_int_equal(stash_store_open(uri_of("a_dir"), NULL, &s), -EISDIR);
    assert_null(s);
    assert_string_equal(stash_store_scheme(3), "pickle:");
}

/* ---- Crashes, damage and hostile records -------------------------------------------- */

/* A record cut short (a writer killed mid-append): readers skip it, the next put cuts it. */
static void test_a_torn_record_is_ignored_then_cut(void **state)
{
    (void)state;
    stash_store *s = open_store("torn.pkl", 0);
    stash_value *v = json("{\"kept\": true}");
    assert_ok(stash_store_put(s, "whole", v));
    stash_value_free(&v);
    long whole = file_size(file_of("torn.pkl"));
    /* The first 20 bytes of a record for "torn". */
    stash_store *t = open_store("scratch.pkl", 0);
    v = json("{\"lost\": [1, 2, 3, 4, 5, 6, 7, 8]}");
    assert_ok(stash_store_put(t, "torn", v));
    stash_value_free(&v);
    stash_store_close(&t);
    char *bytes = NULL;
    size_t len = 0;
    FILE *f = fopen(file_of("scratch.pkl"), "rb");
    assert_non_null(f);
    bytes = malloc(4096);
    len = fread(bytes, 1, 4096, f);
    fclose(f);
    assert_true(len > 20);
    append_bytes(file_of("torn.pkl"), bytes, 20);
    free(bytes);
    stash_store *r = open_store("torn.pkl", STASH_STORE_READ_ONLY);
    expect_stored(r, "whole", "{\"kept\": true}");
    assert_int_equal(stash_store_get(r, "torn", &v), STASH_E_NOT_FOUND);
    struct names n = {0};
    assert_ok(stash_store_list(r, note_name, &n));
    assert_int_equal(n.count, 1);
    v = json("\"after\"");
    assert_ok(stash_store_put(s, "after", v));
    stash_value_free(&v);
    expect_stored(r, "after", "\"after\"");
    expect_stored(r, "whole", "{\"kept\": true}");
    /* The torn bytes were cut before the new record went in. */
    assert_true(file_size(file_of("torn.pkl")) < whole + 20 + 64);
    stash_store_close(&r);
    stash_store_close(&s);
}

static void test_delete_and_gc_rewrite_the_file_aside(void **state)
{
    (void)state;
    stash_store *s = open_store("gc.pkl", 0);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 4; k++) {
            char key[8], text[32];
            snprintf(key, sizeof key, "k%d", k);
            snprintf(text, sizeof text, "[%d, %d]", round, k);
            stash_value *v = json(text);
            assert_ok(stash_store_put(s, key, v));
            stash_value_free(&v);
        }
    }
    struct stat before, after;
    assert_int_equal(stat(file_of("gc.pkl"), &before), 0);
    assert_ok(stash_store_delete(s, "k1"));
    assert_int_equal(stat(file_of("gc.pkl"), &after), 0);
    assert_true(after.st_ino != before.st_ino); /* a new file, renamed into place */
    assert_int_equal(stash_store_has(s, "k1"), STASH_E_NOT_FOUND);
    expect_stored(s, "k2", "[2, 2]");
    stash_store_gc_stats stats;
    assert_ok(stash_store_gc(s, 0, &stats));
    assert_int_equal(stats.entries, 3);
    assert_int_equal(stats.evicted_entries, 0);
    assert_true(stats.evicted_bytes > 0); /* the six records superseded */
    long compact = file_size(file_of("gc.pkl"));
    assert_int_equal(stats.bytes - stats.evicted_bytes, (uint64_t)compact);
    expect_stored(s, "k0", "[2, 0]");
    expect_stored(s, "k3", "[2, 3]");
    /* A budget for two records evicts the key put longest ago. */
    assert_ok(stash_store_gc(s, (uint64_t)compact * 2 / 3, &stats));
    assert_int_equal(stats.evicted_entries, 1);
    assert_int_equal(stash_store_has(s, "k0"), STASH_E_NOT_FOUND);
    expect_stored(s, "k2", "[2, 2]");
    assert_ok(stash_store_gc(s, 0, &stats)); /* nothing to do: nothing written */
    assert_int_equal(stats.evicted_bytes, 0);
    stash_store_close(&s);
}

/* corelay's own files can hold objects stash refuses: reported at their get, never run. */
static void test_hostile_and_damaged_records_get_clear_statuses(void **state)
{
    (void)state;
    stash_store *s = open_store("hostile.pkl", 0);
    stash_value *v = json("1");
    assert_ok(stash_store_put(s, "fine", v));
    /* {"data": os.system("touch MARK"), "key": "evil"}, protocol 2 */
    const char *marker = path_in(dir, "MARK");
    char command[4200], evil[4400];
    snprintf(command, sizeof command, "touch %s", marker);
    const char head[] = "\x80\2}q\0(X\4\0\0\0datacposix\nsystem\nX";
    const char tail[] = "\x85RX\3\0\0\0keyX\4\0\0\0evilu.";
    size_t n = 0, clen = strlen(command);
    memcpy(evil, head, sizeof head - 1);
    n += sizeof head - 1;
    for (int i = 0; i < 4; i++)
        evil[n++] = (char)(clen >> (8 * i));
    memcpy(evil + n, command, clen);
    n += clen;
    memcpy(evil + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    append_bytes(file_of("hostile.pkl"), evil, n);
    assert_int_equal(stash_store_get(s, "evil", &v), STASH_E_UNSAFE);
    /* Where a refused record ends is known without running it: the rest stays usable. */
    assert_ok(stash_store_put(s, "more", v));
    expect_stored(s, "more", "1");
    expect_stored(s, "fine", "1");
    assert_int_equal(stash_store_get(s, "evil", &v), STASH_E_UNSAFE);
    assert_int_equal(access(marker, F_OK), -1);
    stash_value_free(&v);
    stash_store_close(&s);
    /* Garbage that is not a pickle at all. */
    s = open_store("garbage.pkl", 0);
    append_bytes(file_of("garbage.pkl"), "\x89HDF\r\n\x1a\n", 8);
    assert_int_equal(stash_store_get(s, "x", &v), STASH_E_CORRUPT);
    /* A pickle that is not a record. */
    stash_store_close(&s);
    s = open_store("notrecord.pkl", 0);
    append_bytes(file_of("notrecord.pkl"), "\x80\4K\1.", 5);
    assert_int_equal(stash_store_has(s, "x"), STASH_E_CORRUPT);
    stash_store_close(&s);
}

/* ---- Processes ------------------------------------------------------------------------- */

static void test_four_processes_share_a_pickle_store(void **state)
{
    (void)state;
    run_concurrent_workers(uri_of("shared.pkl"));
}

static void test_a_killed_writer_leaves_the_pickle_store_readable(void **state)
{
    (void)state;
    for (unsigned delay = 2000; delay <= 62000; delay += 15000) {
        kill_writer_mid_put(uri_of("killed.pkl"), delay);
        expect_whole_or_missing(uri_of("killed.pkl"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_whole_strings),
        cmocka_unit_test(test_full_cycle_across_reopenings),
        cmocka_unit_test(test_every_kind_round_trips_and_puts_replace),
        cmocka_unit_test(test_a_got_value_is_the_callers_own),
        cmocka_unit_test(test_a_handle_sees_other_handles_changes_at_once),
        cmocka_unit_test(test_memoise_computes_once),
        cmocka_unit_test(test_bad_paths_and_options_are_refused),
        cmocka_unit_test(test_a_torn_record_is_ignored_then_cut),
        cmocka_unit_test(test_delete_and_gc_rewrite_the_file_aside),
        cmocka_unit_test(test_hostile_and_damaged_records_get_clear_statuses),
        cmocka_unit_test(test_four_processes_share_a_pickle_store),
        cmocka_unit_test(test_a_killed_writer_leaves_the_pickle_store_readable),
    };
    return cmocka_run_group_tests_name("store_pickle", tests, make_dir, NULL);
}
