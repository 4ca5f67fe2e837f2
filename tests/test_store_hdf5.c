/*
 * The hdf5: backend: corelay's storage tests (HDF5Storage, HashedHDF5),
 * what stash does better (tuples stay tuples, puts replace, failed puts
 * leave nothing), and the behaviours every backend shares (store_common.h).
 * tests/interop/store_h5py.py checks the files against h5py itself.
 */
#include <stash/hash.h>
#include <stash/store.h>

#include "test_util.h"

#include <errno.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <time.h>

#include "store_common.h"

#include "store/store_hdf5_driver.h"
#include "store/store_hdf5_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = strdup(scratch_dir());
    return 0;
}

/* "hdf5:<dir>/<name>" in a static buffer. */
static const char *uri_of(const char *name)
{
    static char uri[4200];
    snprintf(uri, sizeof uri, "hdf5:%s/%s", dir, name);
    return uri;
}

static stash_store *open_store(const char *name, unsigned flags)
{
    stash_store_options options = {.flags = flags};
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri_of(name), &options, &s));
    return s;
}

static stash_value *tuple_of(stash_value *a, stash_value *b, stash_value *c)
{
    stash_value *t;
    assert_ok(stash_value_new_tuple(&t));
    assert_ok(stash_value_append(t, a));
    assert_ok(stash_value_append(t, b));
    if (c)
        assert_ok(stash_value_append(t, c));
    return t;
}

static stash_value *vector(double first)
{
    double d[4] = {first, first + 1, first + 2, first + 3};
    return array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1, (uint64_t[]){4}, d);
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

/* ---- corelay's tests --------------------------------------------------------------------- */

static stash_status constant(void *ctx, const stash_value *inputs, const stash_value *meta,
                             stash_value **result)
{
    (void)inputs, (void)meta;
    return stash_value_from_json(ctx, strlen(ctx), result, NULL);
}

static stash_status make_pair(void *ctx, const stash_value *inputs, const stash_value *meta,
                              stash_value **result)
{
    (void)ctx, (void)inputs, (void)meta;
    *result = tuple_of(vector(0), vector(10), NULL);
    return STASH_OK;
}

/* HashedHDF5: arrays and tuples under the hash of (data_in, meta); a missing hash is NoDataSource. */
static void test_hashed_layout_round_trips_arrays_and_tuples(void **state)
{
    (void)state;
    stash_store *s = open_store("hashed.h5", 0);
    stash_value *one = json("1"), *two = json("2"), *out = NULL;
    stash_store_memo memo;
    assert_ok(stash_store_memoise(s, one, one, make_pair, NULL, &out, &memo));
    assert_true(memo.stored);
    stash_value_free(&out);
    assert_ok(stash_store_memoise(s, one, one, make_pair, NULL, &out, &memo));
    assert_true(memo.hit);
    stash_value *want = tuple_of(vector(0), vector(10), NULL);
    assert_true(stash_value_equal(out, want));
    stash_value_free(&want);
    stash_value_free(&out);
    /* Strings, which HashedHDF5 refuses, are stored too. */
    assert_ok(stash_store_memoise(s, two, NULL, constant, "\"adfg\"", &out, &memo));
    stash_value_free(&out);
    assert_ok(stash_store_memoise(s, two, NULL, constant, "\"other\"", &out, &memo));
    assert_true(memo.hit);
    stash_value *adfg = json("\"adfg\"");
    assert_true(stash_value_equal(out, adfg));
    stash_value_free(&adfg);
    stash_value_free(&out);
    /* The group of a hash holds data, meta, input and output. */
    char path[128];
    snprintf(path, sizeof path, "%s/meta", memo.key.text);
    assert_ok(stash_store_has(s, path));
    snprintf(path, sizeof path, "%s/output", memo.key.text);
    assert_ok(stash_store_has(s, path));
    stash_key missing;
    assert_ok(stash_hash_value(two, &missing));
    assert_int_equal(stash_store_get(s, missing.text, &out), STASH_E_NOT_FOUND);
    stash_value_free(&one);
    stash_value_free(&two);
    stash_store_close(&s);
}

/* The indexer test: a dict of two strings comes back as such; a missing key is NoDataSource. */
static void test_dicts_of_strings_and_missing_keys(void **state)
{
    (void)state;
    stash_store *s = open_store("index.h5", 0);
    assert_true(stash_store_is_active(s));
    stash_value *v = json("{\"key1\": \"value1\", \"key2\": \"value2\"}");
    assert_ok(stash_store_put(s, "data", v));
    stash_store_close(&s);
    s = open_store("index.h5", STASH_STORE_READ_ONLY);
    assert_ok(stash_store_has(s, "data"));
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "data", &back));
    assert_int_equal(stash_value_length(back), 2);
    assert_true(stash_value_equal(v, back));
    stash_value_free(&back);
    assert_int_equal(stash_store_get(s, "non_existing", &back), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_has(s, "non_existing"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_has(s, "data/key3"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_put(s, "x", v), STASH_E_NOT_WRITABLE);
    stash_value_free(&v);
    stash_store_close(&s);
}

/* A tuple of three arrays: corelay returns a dict with int keys; stash the tuple, in order. */
static void test_tuples_stay_tuples_in_order(void **state)
{
    (void)state;
    stash_store *s = open_store("tuple.h5", 0);
    expect_round_trip(s, "data", tuple_of(vector(0), vector(4), vector(8)));
    /* Twelve members: corelay's name order would put "10" before "2". */
    stash_value *t;
    assert_ok(stash_value_new_tuple(&t));
    for (int i = 0; i < 12; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", i);
        assert_ok(stash_value_append(t, json(n)));
    }
    expect_round_trip(s, "twelve", t);
    stash_store_close(&s);
}

struct names {
    int count;
    char seen[8][32];
};

static stash_status note_name(void *ctx, const char *key, uint64_t bytes)
{
    (void)bytes;
    struct names *n = ctx;
    if (n->count < 8)
        snprintf(n->seen[n->count], sizeof n->seen[0], "%s", key);
    n->count++;
    return STASH_OK;
}

/* corelay's keys test, five writes: where keys() gives the top-level names
 * ("test" for test/foo and test/bar), stash lists every key. */
static void test_list_gives_every_key(void **state)
{
    (void)state;
    stash_store *s = open_store("keys.h5", 0);
    const char *keys[] = {"data", "new_data", "test/foo", "test/bar", "other"};
    stash_value *v = json("\"value\"");
    for (int i = 0; i < 5; i++)
        assert_ok(stash_store_put(s, keys[i], v));
    stash_value_free(&v);
    struct names n = {0};
    assert_ok(stash_store_list(s, note_name, &n));
    assert_int_equal(n.count, 5);
    assert_string_equal(n.seen[3], "test/bar");
    assert_string_equal(n.seen[4], "test/foo");
    stash_store_close(&s);
}

struct sizes {
    int count;
    char key[8][64];
    uint64_t bytes[8];
};

static stash_status note_size(void *ctx, const char *key, uint64_t bytes)
{
    struct sizes *z = ctx;
    if (z->count < 8) {
        snprintf(z->key[z->count], sizeof z->key[0], "%s", key);
        z->bytes[z->count] = bytes;
    }
    z->count++;
    return STASH_OK;
}

static stash_status four_doubles(void *ctx, const stash_value *inputs, const stash_value *meta,
                             stash_value **result)
{
    (void)ctx, (void)inputs, (void)meta;
    *result = vector(4);
    return STASH_OK;
}

/* Each key with the bytes its data takes: arrays, lists and memoised entries whole. */
static void test_list_gives_each_keys_stored_size(void **state)
{
    (void)state;
    stash_store *s = open_store("sizes.h5", 0);
    stash_value *v = vector(100), *list = json("[1, 2, 3]"), *empty = json("{}");
    assert_ok(stash_store_put(s, "run/a", v));
    assert_ok(stash_store_put(s, "run/list", list));
    assert_ok(stash_store_put(s, "run/empty", empty));
    stash_value *result = NULL;
    stash_store_memo memo;
    assert_ok(stash_store_memoise(s, v, NULL, four_doubles, NULL, &result, &memo));
    struct sizes z = {0};
    assert_ok(stash_store_list(s, note_size, &z));
    assert_int_equal(z.count, 4);
    assert_string_equal(z.key[0], "run/a");
    assert_int_equal(z.bytes[0], 4 * sizeof(double));
    assert_string_equal(z.key[1], "run/empty");
    assert_int_equal(z.bytes[1], 0);
    assert_string_equal(z.key[2], "run/list");
    assert_int_equal(z.bytes[2], 3 * sizeof(int64_t));
    assert_string_equal(z.key[3], memo.key.text); /* one entry, data and all */
    assert_true(z.bytes[3] >= 4 * sizeof(double));
    stash_value_free(&result);
    stash_value_free(&v);
    stash_value_free(&list);
    stash_value_free(&empty);
    stash_store_close(&s);
}

/* The nested test: test/foo, test/bar and test/baz read back together as "test". */
static void test_nested_keys_read_back_as_one_group(void **state)
{
    (void)state;
    stash_store *s = open_store("nested.h5", 0);
    stash_value *foo = json("{\"key1\": true, \"key2\": false}");
    stash_value *bar = tuple_of(vector(1), vector(2), NULL);
    stash_value *baz = json("\"This is a test string\"");
    assert_ok(stash_store_put(s, "test/foo", foo));
    assert_ok(stash_store_put(s, "test/bar", bar));
    assert_ok(stash_store_put(s, "test/baz", baz));
    stash_value *test = NULL;
    assert_ok(stash_store_get(s, "test", &test));
    assert_int_equal(stash_value_kind_of(test), STASH_VALUE_DICT);
    bool key1 = false;
    assert_ok(stash_value_get_bool(stash_value_dict_get(stash_value_dict_get(test, "foo"), "key1"),
                                   &key1));
    assert_true(key1);
    assert_true(stash_value_equal(stash_value_dict_get(test, "bar"), bar));
    assert_true(stash_value_equal(stash_value_dict_get(test, "baz"), baz));
    stash_value_free(&test);
    stash_value_free(&foo);
    stash_value_free(&bar);
    stash_value_free(&baz);
    stash_store_close(&s);
}

/* The full cycle: writes across reopenings, all readable; exists is true only for what was written. */
static void test_full_cycle_across_reopenings(void **state)
{
    (void)state;
    stash_store *s = open_store("cycle.h5", 0);
    stash_value *data = vector(5), *new_data = vector(50);
    assert_ok(stash_store_put(s, "data", data));
    stash_store_close(&s);
    s = open_store("cycle.h5", 0);
    assert_ok(stash_store_put(s, "new_data", new_data));
    stash_store_close(&s);
    s = open_store("cycle.h5", STASH_STORE_READ_ONLY);
    struct names n = {0};
    assert_ok(stash_store_list(s, note_name, &n));
    assert_int_equal(n.count, 2);
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "data", &back));
    assert_true(stash_value_equal(back, data));
    stash_value_free(&back);
    assert_ok(stash_store_get(s, "new_data", &back));
    assert_true(stash_value_equal(back, new_data));
    stash_value_free(&back);
    stash_store_close(&s);
    s = open_store("cycle.h5", 0);
    stash_value *params = json("{\"param1\": 1, \"param2\": \"string\"}");
    assert_ok(stash_store_put(s, "params", params));
    assert_ok(stash_store_has(s, "params"));
    assert_int_equal(stash_store_has(s, "missing"), STASH_E_NOT_FOUND);
    assert_ok(stash_store_get(s, "params", &back));
    assert_true(stash_value_equal(back, params));
    stash_value_free(&back);
    stash_value_free(&params);
    stash_value_free(&data);
    stash_value_free(&new_data);
    stash_store_close(&s);
}

/* ---- Better than corelay ------------------------------------------------------------------ */

static void test_every_kind_round_trips_and_puts_replace(void **state)
{
    (void)state;
    stash_store *s = open_store("kinds.h5", 0);
    expect_round_trip(s, "all", every_kind());
    /* corelay keeps the old value silently; stash replaces it, whatever its shape. */
    expect_round_trip(s, "all", json("[1, 2]"));
    expect_round_trip(s, "all", vector(3));
    assert_ok(stash_store_delete(s, "all"));
    assert_int_equal(stash_store_delete(s, "all"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_gc(s, 0, NULL), STASH_E_UNSUPPORTED);
    stash_store_close(&s);
}

static void test_a_failed_put_leaves_nothing(void **state)
{
    (void)state;
    stash_store *s = open_store("failed.h5", 0);
    stash_value *old = json("{\"kept\": 1}");
    assert_ok(stash_store_put(s, "k", old));
    /* A dict key with "/" has no HDF5 member name; a string with NUL no HDF5 string. */
    stash_value *bad = json("{\"fine\": [1, 2, 3], \"a/b\": 1}");
    assert_int_equal(stash_store_put(s, "k", bad), STASH_E_UNSUPPORTED);
    assert_int_equal(stash_store_put(s, "new", bad), STASH_E_UNSUPPORTED);
    stash_value_free(&bad);
    bad = json("{\"fine\": 1, \"text\": \"nul\\u0000inside\"}");
    assert_int_equal(stash_store_put(s, "k", bad), STASH_E_UNSUPPORTED);
    stash_value_free(&bad);
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, "k", &back));
    assert_true(stash_value_equal(back, old));
    stash_value_free(&back);
    assert_int_equal(stash_store_has(s, "new"), STASH_E_NOT_FOUND);
    struct names n = {0};
    assert_ok(stash_store_list(s, note_name, &n));
    assert_int_equal(n.count, 1);
    /* A value where a group would have to go. */
    assert_int_equal(stash_store_put(s, "k/kept/deeper", old), STASH_E_UNSUPPORTED);
    stash_value_free(&old);
    stash_store_close(&s);
}

static void test_bad_files_and_options_are_refused(void **state)
{
    (void)state;
    stash_store *s;
    write_file(path_in(dir, "not.h5"), "not an HDF5 file at all", 23);
    assert_int_equal(stash_store_open(uri_of("not.h5"), NULL, &s), STASH_E_CORRUPT);
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open(uri_of("absent.h5"), &ro, &s), -ENOENT);
    stash_store_options limited = {.max_bytes = 1000};
    assert_int_equal(stash_store_open(uri_of("limited.h5"), &limited, &s), STASH_E_INVALID);
    assert_int_equal(stash_store_open("hdf5:", NULL, &s), STASH_E_INVALID);
}

/* Replaces every occurrence of the 4-byte signature from with to in the file; how many. */
static int replace_signature(const char *path, const char *from, const char *to)
{
    long found = file_size(path);
    assert_true(found > 0 && found < (1L << 30));
    size_t size = found > 0 && found < (1L << 30) ? (size_t)found : 1;
    unsigned char *bytes = malloc(size);
    assert_non_null(bytes);
    assert_int_equal(read_file(path, bytes, size), size);
    int n = 0;
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(bytes + i, from, 4) == 0) {
            memcpy(bytes + i, to, 4);
            n++;
        }
    write_file(path, bytes, size);
    free(bytes);
    return n;
}

/* In a forked child: put key into the store at uri; returns what the child wrote on stderr. */
static size_t put_in_child_and_capture_stderr(const char *uri, const char *key, char *err,
                                              size_t cap, stash_status *put_status)
{
    int out[2], status_pipe[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(status_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 2);
        stash_store *s;
        stash_status st = stash_store_open(uri, NULL, &s);
        if (st == STASH_OK) {
            stash_value *v = json("{\"a\": 1}");
            st = stash_store_put(s, key, v);
            stash_value_free(&v);
            stash_store_close(&s);
        }
        if (write(status_pipe[1], &st, sizeof st) != sizeof st)
            _exit(2);
        exit(0); /* atexit handlers run: HDF5's library shutdown among them */
    }
    close(out[1]);
    close(status_pipe[1]);
    size_t got = 0;
    for (ssize_t n; got < cap - 1 && (n = read(out[0], err + got, cap - 1 - got)) > 0;)
        got += (size_t)n;
    err[got] = '\0';
    assert_int_equal(read(status_pipe[0], put_status, sizeof *put_status),
                     (ssize_t)sizeof *put_status);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(out[0]);
    close(status_pipe[0]);
    return got;
}

/*
 * A group whose link storage is damaged (as a kill inside HDF5's metadata
 * flush can leave it): its keys are reported as damage, never as missing,
 * and a put into it is refused before HDF5 is asked to create anything
 * there (a failed creation leaves HDF5 objects behind, which HDF5 then
 * complains about on stderr at exit).
 */
static void test_a_damaged_group_is_corrupt_not_missing(void **state)
{
    (void)state;
    stash_store *s = open_store("damaged-group.h5", 0);
    for (int i = 0; i < 12; i++) { /* more than 8 links: dense storage, in a fractal heap */
        char key[32];
        snprintf(key, sizeof key, "g/k%d", i);
        stash_value *v = json("[1, 2]");
        assert_ok(stash_store_put(s, key, v));
        stash_value_free(&v);
    }
    stash_store_close(&s);
    /* The heap's direct blocks lose their signature: HDF5 can no longer read the links. */
    assert_true(replace_signature(path_in(dir, "damaged-group.h5"), "FHDB", "XXXX") > 0);
    s = open_store("damaged-group.h5", 0);
    stash_value *v = NULL;
    assert_int_equal(stash_store_get(s, "g/k3", &v), STASH_E_CORRUPT);
    assert_int_equal(stash_store_has(s, "g/k3"), STASH_E_CORRUPT);
    assert_int_equal(stash_store_delete(s, "g/k3"), STASH_E_CORRUPT);
    assert_null(v);
    stash_store_close(&s);
    char err[4096];
    stash_status put;
    size_t printed = put_in_child_and_capture_stderr(uri_of("damaged-group.h5"), "g/k3", err,
                                                     sizeof err, &put);
    assert_int_equal(put, STASH_E_CORRUPT);
    if (printed)
        fail_msg("a put into a damaged group printed: %s", err);
    /* Keys outside the damaged group still work. */
    s = open_store("damaged-group.h5", 0);
    expect_round_trip(s, "elsewhere", json("{\"fine\": true}"));
    stash_store_close(&s);
}

/* Replaces the one stored name placeholder with name, of the same length, in the file at path. */
static void forge_name(const char *path, const char *placeholder, const char *name)
{
    static char image[1 << 16];
    size_t len = read_file(path, image, sizeof image), n = strlen(name) + 1;
    assert_true(len < sizeof image && strlen(placeholder) + 1 == n);
    char *at = memmem(image, len, placeholder, n);
    assert_non_null(at);
    assert_null(memmem(at + 1, len - (size_t)(at + 1 - image), placeholder, n));
    memcpy(at, name, n);
    write_file(path, image, len);
}

static void scalar_dataset(hid_t loc, const char *name, int value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(loc, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(space >= 0 && ds >= 0);
    assert_true(H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0);
    H5Dclose(ds);
    H5Sclose(space);
}

/*
 * HDF5 reads a member's name as a path. A forged name holding '/' must not
 * take a read through an external link into another file, nor to a sibling.
 */
static void test_a_member_named_as_a_path_is_refused(void **state)
{
    (void)state;
    char other[4200];
    snprintf(other, sizeof other, "%s", path_in(dir, "other.h5"));
    hid_t f = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "secret", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    scalar_dataset(g, "x", 7);
    H5Gclose(g);
    H5Fclose(f);
    /* Symbol-table groups (the default format) keep names unchecksummed in a heap. */
    const char *path = path_in(dir, "forged.h5");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Lcreate_external(other, "/secret", f, "ext", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    scalar_dataset(f, "sibling", 1);
    g = H5Gcreate2(f, "through_ext", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    scalar_dataset(g, "#ext_x", 0);
    H5Gclose(g);
    g = H5Gcreate2(f, "to_sibling", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    scalar_dataset(g, "#sibling", 0);
    H5Gclose(g);
    g = H5Gcreate2(f, "dot", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    scalar_dataset(g, "#", 0);
    H5Gclose(g);
    H5Fclose(f);
    forge_name(path, "#ext_x", "/ext/x");
    forge_name(path, "#sibling", "/sibling");
    forge_name(path, "#", ".");
    stash_store *s = open_store("forged.h5", STASH_STORE_READ_ONLY);
    stash_value *v = NULL;
    assert_int_equal(stash_store_get(s, "through_ext", &v), STASH_E_CORRUPT);
    assert_int_equal(stash_store_get(s, "to_sibling", &v), STASH_E_CORRUPT);
    assert_int_equal(stash_store_get(s, "dot", &v), STASH_E_CORRUPT);
    assert_null(v);
    assert_ok(stash_store_get(s, "sibling", &v));
    stash_value_free(&v);
    stash_store_close(&s);
}

/* A gzip dataset of n float64s in 16-element chunks, the first `written` of them written. */
static void gzip_dataset(hid_t loc, const char *name, hsize_t n, hsize_t written)
{
    hsize_t chunk = 16;
    hid_t space = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(H5Pset_chunk(dcpl, 1, &chunk) >= 0 && H5Pset_deflate(dcpl, 1) >= 0);
    hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    if (written) {
        double *data = calloc(written, sizeof *data);
        hsize_t start = 0;
        hid_t mem = H5Screate_simple(1, &written, NULL);
        assert_true(H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &written, NULL) >= 0);
        assert_true(H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, data) >= 0);
        H5Sclose(mem);
        free(data);
    }
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
}

/* Never-written chunks cost no file space but HDF5 fills each on a read: refused, quickly. */
static void test_a_compressed_dataset_with_unwritten_chunks_is_refused(void **state)
{
    (void)state;
    hid_t f = H5Fcreate(path_in(dir, "sparse.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    gzip_dataset(f, "never", (hsize_t)1 << 26, 0); /* 4 Mi chunks: 21 s and 512 MiB to fill */
    gzip_dataset(f, "partly", 64, 32);
    gzip_dataset(f, "whole", 64, 64);
    gzip_dataset(f, "empty", 0, 0);
    H5Fclose(f);
    stash_store *s = open_store("sparse.h5", STASH_STORE_READ_ONLY);
    stash_value *v = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(stash_store_get(s, "never", &v), STASH_E_TRUNCATED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    assert_int_equal(stash_store_get(s, "partly", &v), STASH_E_TRUNCATED);
    assert_null(v);
    const stash_array_desc *desc;
    const void *data;
    assert_ok(stash_store_get(s, "whole", &v));
    assert_ok(stash_value_get_array(v, &desc, &data));
    assert_int_equal(desc->shape[0], 64);
    stash_value_free(&v);
    assert_ok(stash_store_get(s, "empty", &v));
    stash_value_free(&v);
    stash_store_close(&s);
}

/* Exclusive: one open file for the handle's life; what it put is there for the next opener. */
static void test_an_exclusive_handle_keeps_the_file_open(void **state)
{
    (void)state;
    stash_store *s = open_store("held.h5", STASH_STORE_EXCLUSIVE);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        stash_value *v = vector(i);
        assert_ok(stash_store_put(s, key, v));
        stash_value_free(&v);
    }
    expect_round_trip(s, "kinds", every_kind());
    assert_ok(stash_store_delete(s, "k0"));
    stash_store_close(&s);
    s = open_store("held.h5", STASH_STORE_READ_ONLY);
    stash_value *back = NULL, *want = vector(4);
    assert_ok(stash_store_get(s, "k4", &back));
    assert_true(stash_value_equal(back, want));
    assert_int_equal(stash_store_has(s, "k0"), STASH_E_NOT_FOUND);
    stash_value_free(&back);
    stash_value_free(&want);
    stash_store_close(&s);
}

/* ---- System failures under HDF5 report the system's reason ------------------------------------- */

static void test_a_directory_given_as_the_file_is_eisdir(void **state)
{
    (void)state;
    stash_store *s = NULL;
    assert_int_equal(mkdir(path_in(dir, "a-directory.h5"), 0700), 0);
    assert_int_equal(stash_store_open(uri_of("a-directory.h5"), NULL, &s), -EISDIR);
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open(uri_of("a-directory.h5"), &ro, &s), -EISDIR);
    assert_null(s);
    /* and leaves no lock file beside it */
    assert_int_equal(access(path_in(dir, "a-directory.h5.lock"), F_OK), -1);
}

typedef void (*child_body)(stash_status *statuses);

/* Runs body in a forked child, which fills statuses[0..count) and leaves with
 * _exit: a child that made HDF5 fail mid-write skips HDF5's exit handlers. */
static void statuses_from_child(child_body body, stash_status *statuses, size_t count)
{
    int results[2];
    assert_int_equal(pipe(results), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(results[0]);
        for (size_t i = 0; i < count; i++)
            statuses[i] = 1; /* not reached */
        body(statuses);
        ssize_t n = write(results[1], statuses, count * sizeof *statuses);
        _exit(n == (ssize_t)(count * sizeof *statuses) ? 0 : 2);
    }
    close(results[1]);
    assert_int_equal(read(results[0], statuses, count * sizeof *statuses),
                     (ssize_t)(count * sizeof *statuses));
    close(results[0]);
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
}

/* Opens descriptors on /dev/null until the process has none left; returns
 * the last one. */
static int use_every_descriptor(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max < 64 ? limit.rlim_max : 64;
    setrlimit(RLIMIT_NOFILE, &limit); /* the soft limit: valgrind keeps the hard one */
    int last = -1;
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;)
        last = fd;
    return last;
}

/* statuses: a put and a get on an open store; opening the existing file and
 * creating a new one, with one descriptor left (the lock file's). */
static void with_no_descriptors_left(stash_status *statuses)
{
    stash_store *s = NULL, *other = NULL;
    stash_value *v = json("{\"a\": 1}"), *back = NULL;
    if (stash_store_open(uri_of("emfile.h5"), NULL, &s) == STASH_OK &&
        stash_store_put(s, "k", v) == STASH_OK) {
        int spare = use_every_descriptor();
        statuses[0] = stash_store_put(s, "k", v);
        statuses[1] = stash_store_get(s, "k", &back);
        close(spare);
        statuses[2] = stash_store_open(uri_of("emfile.h5"), NULL, &other);
        stash_store_close(&other);
        statuses[3] = stash_store_open(uri_of("emfile-new.h5"), NULL, &other);
        stash_store_close(&other);
    }
    stash_value_free(&back);
    stash_value_free(&v);
    stash_store_close(&s);
}

static void test_out_of_descriptors_is_emfile_not_eio(void **state)
{
    (void)state;
    stash_status statuses[4];
    statuses_from_child(with_no_descriptors_left, statuses, 4);
    assert_int_equal(statuses[0], -EMFILE);
    assert_int_equal(statuses[1], -EMFILE);
    assert_int_equal(statuses[2], -EMFILE);
    assert_int_equal(statuses[3], -EMFILE);
}

/* statuses: a 1 MiB put into a file that may not pass 64 KiB. */
static void with_a_file_size_limit(stash_status *statuses)
{
    static double big[1 << 17];
    stash_store *s = NULL;
    if (stash_store_open(uri_of("fsize.h5"), NULL, &s) != STASH_OK)
        return;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {64 << 10, 64 << 10};
    setrlimit(RLIMIT_FSIZE, &limit);
    stash_value *v = array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                              (uint64_t[]){1 << 17}, big);
    statuses[0] = stash_store_put(s, "big", v);
    stash_value_free(&v);
    stash_store_close(&s);
}

/* A write HDF5 cannot make reports the system's reason: EFBIG here, ENOSPC
 * on a full disk, by the same path. */
static void test_a_write_past_the_file_size_limit_is_efbig_not_eio(void **state)
{
    (void)state;
    stash_status status;
    statuses_from_child(with_a_file_size_limit, &status, 1);
    assert_int_equal(status, -EFBIG);
}

/* ---- The journal ----------------------------------------------------------------------------- */

/* The whole file at path, in a new buffer (*len bytes). */
static char *file_bytes(const char *path, size_t *len)
{
    long size = file_size(path);
    assert_true(size >= 0);
    char *bytes = malloc((size_t)size + 1);
    assert_non_null(bytes);
    *len = read_file(path, bytes, (size_t)size + 1);
    assert_int_equal(*len, (size_t)size);
    return bytes;
}

static void expect_bytes(const char *path, const char *bytes, size_t len)
{
    size_t now_len;
    char *now = file_bytes(path, &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, bytes, len);
    free(now);
}

static const char *journal_of(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s.journal", path_in(dir, name));
    return path;
}

/* Whether the journal's header is invalid (all zeros): nothing to roll back. */
static bool journal_is_cold(const char *name)
{
    char header[HDF5_JOURNAL_HEADER_BYTES], zeros[HDF5_JOURNAL_HEADER_BYTES] = {0};
    return read_file(journal_of(name), header, sizeof header) == sizeof header &&
           memcmp(header, zeros, sizeof header) == 0;
}

/* A store holding "k": {"kept": [an array of 2048 float64s]}: some 20 KiB, over several pages. */
static stash_value *kept_value(void)
{
    static double d[2048];
    for (int i = 0; i < 2048; i++)
        d[i] = i * 0.5;
    stash_value *v = json("{}");
    assert_ok(stash_value_dict_set(v, "kept", array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN,
                                                       STASH_ORDER_C, 1, (uint64_t[]){2048}, d)));
    return v;
}

static void make_kept_store(const char *name)
{
    stash_store *s = open_store(name, 0);
    stash_value *v = kept_value();
    assert_ok(stash_store_put(s, "k", v));
    stash_value_free(&v);
    assert_ok(stash_store_close(&s));
}

static void expect_kept(stash_store *s)
{
    stash_value *want = kept_value(), *got = NULL;
    assert_ok(stash_store_get(s, "k", &got));
    assert_true(stash_value_equal(want, got));
    stash_value_free(&want);
    stash_value_free(&got);
}

static void scribble(int fd, uint64_t offset, size_t len)
{
    char junk[16384];
    memset(junk, 'x', sizeof junk);
    assert_true(len <= sizeof junk);
    assert_int_equal(pwrite(fd, junk, len, (off_t)offset), (ssize_t)len);
}

/*
 * Leaves the file name as a writer killed inside a put leaves it, through
 * the journal's own calls as the driver makes them: pages overwritten (their
 * old bytes saved first), the file cut below its start size and grown past
 * it again, and no commit. (The crash test kills real writers.)
 */
static void crash_mid_put(const char *name)
{
    const char *path = path_in(dir, name);
    uint64_t size = (uint64_t)file_size(path);
    assert_true(size > 12000);
    struct hdf5_journal j;
    assert_ok(hdf5_journal_open(path, true, false, &j));
    assert_ok(hdf5_journal_lock(&j));
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    hdf5_journal_attach(&j, fd);
    assert_ok(hdf5_journal_save(&j, 0, 100)); /* the superblock */
    scribble(fd, 0, 100);
    assert_ok(hdf5_journal_save(&j, 4000, 5000)); /* across a page boundary */
    scribble(fd, 4000, 5000);
    assert_ok(hdf5_journal_before_cut(&j, size - 3000));
    assert_int_equal(ftruncate(fd, (off_t)(size - 3000)), 0);
    assert_ok(hdf5_journal_save(&j, size - 3000, 10000)); /* back past the start size */
    scribble(fd, size - 3000, 10000);
    hdf5_journal_detach(&j);
    close(fd);
    assert_ok(hdf5_journal_close(&j)); /* killed: the lock goes, nothing is committed */
    assert_false(journal_is_cold(name));
}

static void test_a_put_leaves_a_cold_journal_and_the_earliest_format(void **state)
{
    (void)state;
    make_kept_store("cold.h5");
    assert_true(journal_is_cold("cold.h5"));
    char superblock[9];
    assert_int_equal(read_file(path_in(dir, "cold.h5"), superblock, 9), 9);
    assert_memory_equal(superblock, "\x89HDF\r\n\x1a\n", 8);
    assert_int_equal(superblock[8], 0); /* version 0: no reader refuses it as "open for writing" */
    stash_store *s = open_store("cold.h5", STASH_STORE_EXCLUSIVE);
    expect_round_trip(s, "more", json("{\"x\": 1}"));
    assert_true(journal_is_cold("cold.h5")); /* committed at the put's flush */
    assert_ok(stash_store_close(&s));
    assert_true(journal_is_cold("cold.h5"));
}

static void test_a_killed_put_is_rolled_back_before_hdf5_reads_the_file(void **state)
{
    (void)state;
    make_kept_store("rolled.h5");
    size_t len;
    char *before = file_bytes(path_in(dir, "rolled.h5"), &len);
    stash_store *reader = open_store("rolled.h5", STASH_STORE_READ_ONLY);
    crash_mid_put("rolled.h5");
    /* A read-only handle may not roll back: it says so rather than read a damaged file. */
    stash_value *v = NULL;
    assert_int_equal(stash_store_get(reader, "k", &v), STASH_E_NEEDS_RECOVERY);
    assert_null(v);
    stash_store *s = NULL;
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open(uri_of("rolled.h5"), &ro, &s), STASH_E_NEEDS_RECOVERY);
    ro.flags |= STASH_STORE_EXCLUSIVE;
    assert_int_equal(stash_store_open(uri_of("rolled.h5"), &ro, &s), STASH_E_NEEDS_RECOVERY);
    assert_null(s);
    /* A writable open rolls back, to the very bytes of the last commit. */
    s = open_store("rolled.h5", 0);
    expect_bytes(path_in(dir, "rolled.h5"), before, len);
    assert_true(journal_is_cold("rolled.h5"));
    expect_kept(s);
    expect_kept(reader);
    /* So does a writable handle's get, and an exclusive open. */
    crash_mid_put("rolled.h5");
    expect_kept(s);
    expect_bytes(path_in(dir, "rolled.h5"), before, len);
    assert_ok(stash_store_close(&s));
    crash_mid_put("rolled.h5");
    s = open_store("rolled.h5", STASH_STORE_EXCLUSIVE);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
    expect_bytes(path_in(dir, "rolled.h5"), before, len);
    assert_ok(stash_store_close(&reader));
    free(before);
}

static void test_a_recovery_killed_at_any_step_gives_the_same_file(void **state)
{
    (void)state;
    const char *path = path_in(dir, "rerun.h5");
    make_kept_store("rerun.h5");
    size_t len, crashed_len, journal_len;
    char *before = file_bytes(path, &len);
    crash_mid_put("rerun.h5");
    char *crashed = file_bytes(path, &crashed_len);
    char *journal = file_bytes(journal_of("rerun.h5"), &journal_len);
    bool rolled_back = false;
    unsigned long step = 1;
    for (;; step++) {
        write_file(path, crashed, crashed_len); /* the same inode, as crashed */
        write_file(journal_of("rerun.h5"), journal, journal_len);
        hdf5_journal_seams.stop_recovery_after = step;
        stash_status st = stash_store_recover(uri_of("rerun.h5"), &rolled_back);
        hdf5_journal_seams.stop_recovery_after = 0;
        if (st == STASH_OK)
            break; /* step is past the last one */
        assert_int_equal(st, -EINTR);
        assert_false(rolled_back);
        /* Killed there and run again (twice, killed once more in between): the same file. */
        hdf5_journal_seams.stop_recovery_after = step / 2 + 1;
        stash_store_recover(uri_of("rerun.h5"), &rolled_back);
        hdf5_journal_seams.stop_recovery_after = 0;
        assert_ok(stash_store_recover(uri_of("rerun.h5"), &rolled_back));
        assert_true(rolled_back);
        expect_bytes(path, before, len);
        assert_true(journal_is_cold("rerun.h5"));
    }
    assert_true(rolled_back);
    assert_true(step > 4); /* records, cut, sync, invalidation: each was a place to stop */
    expect_bytes(path, before, len);
    assert_ok(stash_store_recover(uri_of("rerun.h5"), &rolled_back));
    assert_false(rolled_back); /* nothing left to do */
    stash_store *s = open_store("rerun.h5", 0);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
    free(before);
    free(crashed);
    free(journal);
}

static void test_a_journal_of_another_file_is_refused(void **state)
{
    (void)state;
    make_kept_store("mine.h5");
    make_kept_store("other.h5");
    size_t len, journal_len;
    char *mine = file_bytes(path_in(dir, "mine.h5"), &len);
    crash_mid_put("other.h5");
    char *journal = file_bytes(journal_of("other.h5"), &journal_len);
    /* other.h5's journal beside mine.h5 (copied or moved there): never applied to it. */
    write_file(journal_of("mine.h5"), journal, journal_len);
    stash_store *s = NULL;
    assert_int_equal(stash_store_open(uri_of("mine.h5"), NULL, &s), STASH_E_CORRUPT);
    bool rolled_back = true;
    assert_int_equal(stash_store_recover(uri_of("mine.h5"), &rolled_back), STASH_E_CORRUPT);
    assert_false(rolled_back);
    expect_bytes(path_in(dir, "mine.h5"), mine, len);
    assert_false(journal_is_cold("mine.h5")); /* left for a person to look at */
    /* Removed by hand, mine.h5 opens as it was; other.h5 still rolls back with its own. */
    assert_int_equal(unlink(journal_of("mine.h5")), 0);
    s = open_store("mine.h5", 0);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
    s = open_store("other.h5", 0);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
    free(mine);
    free(journal);
}

/* Records of an earlier transaction under a new header fail their salted checksums. */
static void test_records_of_another_transaction_are_never_copied_back(void **state)
{
    (void)state;
    const char *path = path_in(dir, "salted.h5");
    make_kept_store("salted.h5");
    crash_mid_put("salted.h5");
    size_t old_len, new_len, len;
    char *old = file_bytes(journal_of("salted.h5"), &old_len);
    stash_store *s = open_store("salted.h5", 0); /* rolled back */
    assert_ok(stash_store_close(&s));
    char *before = file_bytes(path, &len);
    crash_mid_put("salted.h5"); /* the same pages, a new salt */
    char *now = file_bytes(journal_of("salted.h5"), &new_len);
    assert_int_equal(old_len, new_len);
    memcpy(old, now, HDF5_JOURNAL_HEADER_BYTES); /* the new header before the old records */
    write_file(journal_of("salted.h5"), old, old_len);
    bool rolled_back;
    assert_ok(stash_store_recover(uri_of("salted.h5"), &rolled_back));
    assert_true(rolled_back);
    char head[100];
    assert_int_equal(read_file(path, head, sizeof head), sizeof head);
    assert_int_equal(head[0], 'x'); /* the old records were not taken for this transaction's */
    assert_int_equal(file_size(path), (long)len); /* the cut to the start size is the header's */
    free(old);
    free(now);
    free(before);
}

/*
 * A header whose checksum holds (it is no MAC) but whose start size no
 * file can have: refused as corrupt, the file untouched, never cut or
 * written at offsets an off_t cannot hold.
 */
static void test_a_journal_start_size_past_an_off_t_is_corrupt(void **state)
{
    (void)state;
    const char *path = path_in(dir, "huge.h5");
    make_kept_store("huge.h5");
    crash_mid_put("huge.h5");
    stash_store *s = open_store("huge.h5", 0); /* rolled back */
    assert_ok(stash_store_close(&s));
    size_t len, journal_len;
    char *before = file_bytes(path, &len);
    crash_mid_put("huge.h5");
    write_file(path, before, len); /* the same inode, as it was: only the journal is wrong */
    unsigned char *journal = (unsigned char *)file_bytes(journal_of("huge.h5"), &journal_len);
    for (int i = 0; i < 8; i++) /* the start size (offset 16): 2^63 */
        journal[16 + i] = (unsigned char)(i == 7 ? 0x80 : 0);
    uint64_t sum = XXH3_64bits(journal, 56);
    for (int i = 0; i < 8; i++)
        journal[56 + i] = (unsigned char)(sum >> (8 * i));
    write_file(journal_of("huge.h5"), journal, journal_len);
    bool rolled_back = true;
    assert_int_equal(stash_store_recover(uri_of("huge.h5"), &rolled_back), STASH_E_CORRUPT);
    assert_false(rolled_back);
    assert_int_equal(stash_store_open(uri_of("huge.h5"), NULL, &s), STASH_E_CORRUPT);
    assert_null(s);
    expect_bytes(path, before, len);
    free(before);
    free(journal);
}

/* Recovering a file no stash writer ever had (h5py made it, say) creates nothing beside it. */
static void test_recovering_a_file_without_a_journal_creates_nothing(void **state)
{
    (void)state;
    make_kept_store("bare.h5");
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", path_in(dir, "bare.h5"));
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(unlink(journal_of("bare.h5")), 0);
    bool rolled_back = true;
    assert_ok(stash_store_recover(uri_of("bare.h5"), &rolled_back));
    assert_false(rolled_back);
    struct stat about;
    assert_int_equal(stat(journal_of("bare.h5"), &about), -1);
    assert_int_equal(stat(lock, &about), -1);
}

/*
 * The driver lets no write pass the journal by: creating a file over an
 * existing one through it (H5F_ACC_TRUNC, which the kernel would cut with
 * O_TRUNC before the journal saw a byte) is refused, the file untouched.
 */
static void test_the_journal_driver_refuses_to_truncate_at_open(void **state)
{
    (void)state;
    const char *path = path_in(dir, "trunc.h5");
    make_kept_store("trunc.h5");
    size_t len;
    char *before = file_bytes(path, &len);
    struct hdf5_journal j;
    assert_ok(hdf5_journal_open(path, true, false, &j));
    assert_ok(hdf5_journal_lock(&j));
    H5E_auto2_t saved_fn;
    void *saved_data;
    H5Eget_auto2(H5E_DEFAULT, &saved_fn, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = hdf5_driver_fapl(&j);
    assert_true(fapl >= 0);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file >= 0)
        H5Fclose(file);
    H5Pclose(fapl);
    H5Eset_auto2(H5E_DEFAULT, saved_fn, saved_data);
    assert_true(file < 0);
    assert_int_equal(j.file_fd, -1); /* nothing left attached */
    expect_bytes(path, before, len);
    assert_ok(hdf5_journal_close(&j));
    stash_store *s = open_store("trunc.h5", 0);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
    free(before);
}

/* The journal is stash's own file: a symlink or FIFO planted at its name is never written or waited on. */
static void test_a_planted_journal_link_or_fifo_is_refused(void **state)
{
    (void)state;
    make_kept_store("planted.h5");
    char victim[4200];
    snprintf(victim, sizeof victim, "%s", path_in(dir, "victim.txt"));
    write_file(victim, "victim", 6);
    assert_int_equal(unlink(journal_of("planted.h5")), 0); /* the real one, cold */
    assert_int_equal(symlink(victim, journal_of("planted.h5")), 0);
    stash_store *s = NULL;
    assert_int_equal(stash_store_open(uri_of("planted.h5"), NULL, &s), STASH_E_CORRUPT);
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open(uri_of("planted.h5"), &ro, &s), STASH_E_CORRUPT);
    char back[16];
    assert_int_equal(read_file(victim, back, sizeof back), 6);
    assert_memory_equal(back, "victim", 6);
    assert_int_equal(unlink(journal_of("planted.h5")), 0);
    assert_int_equal(mkfifo(journal_of("planted.h5"), 0600), 0);
    assert_int_equal(stash_store_open(uri_of("planted.h5"), NULL, &s), STASH_E_CORRUPT);
    assert_int_equal(unlink(journal_of("planted.h5")), 0);
    s = open_store("planted.h5", 0);
    expect_kept(s);
    assert_ok(stash_store_close(&s));
}

/* STASH_STORE_DURABLE takes the syncing paths (journal, file, commit): the same results. */
static void test_durable_puts_commit_and_roll_back_as_plain_ones(void **state)
{
    (void)state;
    make_kept_store("durable.h5");
    size_t len;
    char *before = file_bytes(path_in(dir, "durable.h5"), &len);
    unsigned modes[2] = {STASH_STORE_DURABLE, STASH_STORE_DURABLE | STASH_STORE_EXCLUSIVE};
    for (int m = 0; m < 2; m++) {
        crash_mid_put("durable.h5");
        stash_store *s = open_store("durable.h5", modes[m]);
        expect_kept(s);
        if (!(modes[m] & STASH_STORE_EXCLUSIVE)) /* (held open, the superblock says so) */
            expect_bytes(path_in(dir, "durable.h5"), before, len);
        char key[16];
        snprintf(key, sizeof key, "more%d", m);
        expect_round_trip(s, key, json("{\"durable\": true}"));
        assert_true(journal_is_cold("durable.h5"));
        assert_ok(stash_store_close(&s));
        free(before);
        before = file_bytes(path_in(dir, "durable.h5"), &len);
    }
    free(before);
}

/* statuses: a 1 MiB put that the file size limit stops half way, then a get of "k". */
static void put_past_a_file_size_limit(stash_status *statuses, unsigned flags)
{
    static double big[1 << 17];
    stash_store *s = NULL;
    stash_store_options options = {.flags = flags};
    if (stash_store_open(uri_of("limited.h5"), &options, &s) != STASH_OK)
        return;
    signal(SIGXFSZ, SIG_IGN);
    rlim_t at = (rlim_t)file_size(path_in(dir, "limited.h5")) + (256 << 10);
    struct rlimit limit = {at, at};
    setrlimit(RLIMIT_FSIZE, &limit);
    stash_value *v = array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                              (uint64_t[]){1 << 17}, big);
    statuses[0] = stash_store_put(s, "big", v);
    stash_value_free(&v);
    stash_value *got = NULL;
    statuses[1] = stash_store_get(s, "k", &got);
    stash_value_free(&got);
    statuses[2] = stash_store_close(&s);
}

static void put_past_a_limit_shared(stash_status *statuses)
{
    put_past_a_file_size_limit(statuses, 0);
}

static void put_past_a_limit_exclusive(stash_status *statuses)
{
    put_past_a_file_size_limit(statuses, STASH_STORE_EXCLUSIVE);
}

static void test_a_failed_put_is_rolled_back_to_the_same_bytes(void **state)
{
    (void)state;
    make_kept_store("limited.h5");
    size_t len;
    char *before = file_bytes(path_in(dir, "limited.h5"), &len);
    child_body bodies[2] = {put_past_a_limit_shared, put_past_a_limit_exclusive};
    for (int b = 0; b < 2; b++) {
        stash_status statuses[3];
        statuses_from_child(bodies[b], statuses, 3);
        assert_int_equal(statuses[0], -EFBIG);
        assert_ok(statuses[1]); /* the exclusive handle goes on, on the rolled back file */
        assert_ok(statuses[2]);
        expect_bytes(path_in(dir, "limited.h5"), before, len);
        assert_true(journal_is_cold("limited.h5"));
    }
    free(before);
}

/* ---- Processes ----------------------------------------------------------------------------- */

static void test_four_processes_share_an_hdf5_store(void **state)
{
    (void)state;
    run_concurrent_workers(uri_of("shared.h5"));
}

static void test_a_killed_writer_leaves_the_hdf5_store_readable(void **state)
{
    (void)state;
    for (unsigned delay = 2000; delay <= 62000; delay += 15000) {
        kill_writer_mid_put(uri_of("killed.h5"), delay);
        expect_whole_or_missing(uri_of("killed.h5"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashed_layout_round_trips_arrays_and_tuples),
        cmocka_unit_test(test_dicts_of_strings_and_missing_keys),
        cmocka_unit_test(test_tuples_stay_tuples_in_order),
        cmocka_unit_test(test_list_gives_every_key),
        cmocka_unit_test(test_list_gives_each_keys_stored_size),
        cmocka_unit_test(test_nested_keys_read_back_as_one_group),
        cmocka_unit_test(test_full_cycle_across_reopenings),
        cmocka_unit_test(test_every_kind_round_trips_and_puts_replace),
        cmocka_unit_test(test_a_failed_put_leaves_nothing),
        cmocka_unit_test(test_bad_files_and_options_are_refused),
        cmocka_unit_test(test_a_damaged_group_is_corrupt_not_missing),
        cmocka_unit_test(test_a_member_named_as_a_path_is_refused),
        cmocka_unit_test(test_a_compressed_dataset_with_unwritten_chunks_is_refused),
        cmocka_unit_test(test_an_exclusive_handle_keeps_the_file_open),
        cmocka_unit_test(test_a_directory_given_as_the_file_is_eisdir),
        cmocka_unit_test(test_out_of_descriptors_is_emfile_not_eio),
        cmocka_unit_test(test_a_write_past_the_file_size_limit_is_efbig_not_eio),
        cmocka_unit_test(test_a_put_leaves_a_cold_journal_and_the_earliest_format),
        cmocka_unit_test(test_a_killed_put_is_rolled_back_before_hdf5_reads_the_file),
        cmocka_unit_test(test_a_recovery_killed_at_any_step_gives_the_same_file),
        cmocka_unit_test(test_a_journal_of_another_file_is_refused),
        cmocka_unit_test(test_records_of_another_transaction_are_never_copied_back),
        cmocka_unit_test(test_a_failed_put_is_rolled_back_to_the_same_bytes),
        cmocka_unit_test(test_a_journal_start_size_past_an_off_t_is_corrupt),
        cmocka_unit_test(test_recovering_a_file_without_a_journal_creates_nothing),
        cmocka_unit_test(test_the_journal_driver_refuses_to_truncate_at_open),
        cmocka_unit_test(test_a_planted_journal_link_or_fifo_is_refused),
        cmocka_unit_test(test_durable_puts_commit_and_roll_back_as_plain_ones),
        cmocka_unit_test(test_four_processes_share_an_hdf5_store),
        cmocka_unit_test(test_a_killed_writer_leaves_the_hdf5_store_readable),
    };
    return cmocka_run_group_tests_name("store_hdf5", tests, make_dir, NULL);
}
