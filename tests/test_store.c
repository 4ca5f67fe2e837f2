/*
 * The result store: content keys (pinned vectors from the specification),
 * key rules, the dir: and none: backends, memoise, eviction, sweeping,
 * damaged entries, and many processes at once (tests/store_common.h runs
 * the same behaviours on every backend).
 */
#include <stash/hash.h>
#include <stash/nco.h>
#include <stash/store.h>

#include "test_util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_common.h"

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = strdup(scratch_dir());
    return 0;
}

/* dir/sub/name in a static buffer. */
static const char *file_in(const char *sub, const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    return path;
}

/* ---- Content keys ------------------------------------------------------------------- */

static void expect_key(stash_value *v, const char *want)
{
    stash_key key;
    assert_ok(stash_hash_value(v, &key));
    assert_string_equal(key.text, want);
    stash_value_free(&v);
}

/* Computed by tests/interop/store_keys.py from docs/store.md with Python's xxhash. */
static void test_key_vectors_match_the_specification(void **state)
{
    (void)state;
    stash_value *v;
    assert_ok(stash_value_new_null(&v));
    expect_key(v, "xxh3-128:b45587f90d352b37f0f028c119ca594e");
    assert_ok(stash_value_new_bool(true, &v));
    expect_key(v, "xxh3-128:f489bbe3464307a57b98895301ec585e");
    assert_ok(stash_value_new_int(0, &v));
    expect_key(v, "xxh3-128:31903d54fe427a32c2339724064ae415");
    assert_ok(stash_value_new_int(-1, &v));
    expect_key(v, "xxh3-128:a7d1ffda1f13ce9af7eebc3a22f1b4d0");
    assert_ok(stash_value_new_int(INT64_MAX, &v));
    expect_key(v, "xxh3-128:9e288e504c26a983b375a255bc26e2b3");
    assert_ok(stash_value_new_float(1.5, &v));
    expect_key(v, "xxh3-128:5d75f32022ed1683469ada2b075d66eb");
    assert_ok(stash_value_new_float(NAN, &v));
    expect_key(v, "xxh3-128:50c024415225484232bbada02c4ea851");
    assert_ok(stash_value_new_float(-0.0, &v));
    expect_key(v, "xxh3-128:849b851d4e0658aeee3ae3a111bcac53");
    assert_ok(stash_value_new_string("", 0, &v));
    expect_key(v, "xxh3-128:7dad8b3d62661ebbf081c30f20e558ea");
    assert_ok(stash_value_new_string("h\xc3\xa9llo", 6, &v));
    expect_key(v, "xxh3-128:f91a495371408e10e81c5831c9f24d8a");
    assert_ok(stash_value_new_bytes("\x00\xff", 2, &v));
    expect_key(v, "xxh3-128:ecbe253bfddacd093832e8534efa4166");
    assert_ok(stash_value_new_list(&v));
    expect_key(v, "xxh3-128:3680e43d4054af78e81e18f1cee39650");
    assert_ok(stash_value_new_tuple(&v));
    expect_key(v, "xxh3-128:a248d5d876773355dc0962d26d59b940");
    assert_ok(stash_value_new_dict(&v));
    expect_key(v, "xxh3-128:eced20b762d00c125c9fb7ddd019ff20");
    expect_key(json("[1, [2, [3]]]"), "xxh3-128:a529f085c8b9d59f72b5c2ab3a756c44");
    expect_key(json("{\"b\": 1, \"a\": 2}"), "xxh3-128:c11cac1592bbcb145f10adc691f381a1");
    int32_t three[] = {0, 1, 2};
    expect_key(array_of(STASH_DTYPE_INT32, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                        (uint64_t[]){3}, three),
               "xxh3-128:f550df2973e5456de8d5cadcbd2584f5");
}

static void test_keys_ignore_layout_and_dict_order(void **state)
{
    (void)state;
    /* {"name": "run", "w": big-endian float32 [0 1 2 3], "t": (1, 2.5)}, keys in another order. */
    stash_value *v = json("{\"t\": null, \"name\": \"run\"}"), *t;
    assert_ok(stash_value_new_tuple(&t));
    assert_ok(stash_value_append(t, json("1")));
    assert_ok(stash_value_append(t, json("2.5")));
    stash_value *fresh = json("{\"name\": \"run\"}");
    stash_value_free(&fresh);
    stash_value *d = json("{}");
    set(d, "w", array_of(STASH_DTYPE_FLOAT32, STASH_BIG_ENDIAN, STASH_ORDER_C, 1,
                         (uint64_t[]){4},
                         (uint8_t[]){0, 0, 0, 0, 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0}));
    set(d, "t", t);
    set(d, "name", json("\"run\""));
    stash_value_free(&v);
    expect_key(d, "xxh3-128:cd2234aea8cad05c7a3109238d5db6df");

    /* The same values in C order, Fortran order and big-endian: one key. */
    double grid[6] = {0, 1, 2, 3, 4, 5}, transposed[6] = {0, 3, 1, 4, 2, 5};
    uint64_t shape[2] = {2, 3};
    stash_array_desc c, f;
    stash_key kc, kf, kb;
    assert_ok(stash_array_desc_init(&c, STASH_DTYPE_FLOAT64, 2, shape));
    f = c;
    f.order = STASH_ORDER_F;
    assert_ok(stash_hash_array(&c, grid, &kc));
    assert_ok(stash_hash_array(&f, transposed, &kf));
    stash_array_desc b = c;
    b.byte_order = STASH_BIG_ENDIAN;
    unsigned char swapped[48];
    for (int i = 0; i < 48; i++)
        swapped[i] = ((unsigned char *)grid)[i / 8 * 8 + 7 - i % 8];
    assert_ok(stash_hash_array(&b, swapped, &kb));
    assert_string_equal(kc.text, kf.text);
    assert_string_equal(kc.text, kb.text);
    /* ... but another dtype, shape or kind is another key. */
    stash_array_desc other = c;
    other.shape[0] = 3, other.shape[1] = 2;
    assert_ok(stash_hash_array(&other, grid, &kf));
    assert_string_not_equal(kc.text, kf.text);
    stash_key list_key, tuple_key;
    stash_value *l = json("[1]"), *tu;
    assert_ok(stash_value_new_tuple(&tu));
    assert_ok(stash_value_append(tu, json("1")));
    assert_ok(stash_hash_value(l, &list_key));
    assert_ok(stash_hash_value(tu, &tuple_key));
    assert_string_not_equal(list_key.text, tuple_key.text);
    assert_true(stash_key_is_content(list_key.text));
    assert_false(stash_key_is_content("xxh3-128:CC17656C80C321528457D64C044E9C85"));
    assert_false(stash_key_is_content("xxh3-128:cc17656c80c321528457d64c044e9c8"));
    stash_value_free(&l);
    stash_value_free(&tu);
}

/* ---- Keys and URIs ------------------------------------------------------------------- */

static void test_bad_keys_and_uris_are_refused_before_anything_is_touched(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "keys"), NULL, &s));
    stash_value *v = json("1");
    const char *bad[] = {"", "/a", "a/", "a//b", "..", "../x", "a/../b", "a/./b", ".",
                         "tab\there", "\xff\xfe", "nul\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stash_store_put(s, bad[i], v), STASH_E_INVALID);
    char huge[STASH_STORE_KEY_MAX + 2];
    memset(huge, 'k', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(stash_store_put(s, huge, v), STASH_E_LIMIT);
    /* Too long is LIMIT only when it is the one fault: a long climb is still INVALID. */
    for (size_t i = 0; i + 3 < sizeof huge; i += 3)
        memcpy(huge + i, "../", 3);
    assert_int_equal(stash_store_put(s, huge, v), STASH_E_INVALID);
    memset(huge, 'k', sizeof huge - 1);
    /* Legal but longer than a file name can hold in dir:. */
    huge[300] = '\0';
    assert_int_equal(stash_store_put(s, huge, v), STASH_E_LIMIT);
    assert_int_equal(stash_store_get(s, huge, &v), STASH_E_NOT_FOUND);
    assert_ok(stash_store_put(s, ".hidden/..x/%41 \xc3\xa9", v));
    assert_ok(stash_store_has(s, ".hidden/..x/%41 \xc3\xa9"));
    assert_int_equal(stash_store_has(s, "%41"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_put(s, NULL, v), STASH_E_INVALID);
    assert_int_equal(stash_store_put(s, "k", NULL), STASH_E_INVALID);
    stash_value_free(&v);
    stash_store_close(&s);
    /* Nothing but the entry and the store's own files were created. */
    DIR *d = opendir(path_in(dir, "keys"));
    int files = 0;
    for (struct dirent *e; (e = readdir(d));)
        files += e->d_name[0] != '.' || strncmp(e->d_name, ".stash", 6) == 0 ? 1 : 0;
    closedir(d);
    assert_int_equal(files, 4); /* the entry, marker, lock, log */

    stash_store_options bad_flags = {.flags = 1u << 7};
    assert_int_equal(stash_store_open("none:", &bad_flags, &s), STASH_E_INVALID);
    assert_int_equal(stash_store_open("none:x", NULL, &s), STASH_E_INVALID);
    assert_int_equal(stash_store_open("dir:", NULL, &s), STASH_E_INVALID);
    stash_store_options read_only = {.flags = STASH_STORE_READ_ONLY};
    assert_int_equal(stash_store_open(path_in(dir, "never-made"), &read_only, &s), -ENOENT);
    write_file(path_in(dir, "plain-file"), "x", 1);
    assert_int_equal(stash_store_open(path_in(dir, "plain-file"), NULL, &s), -ENOTDIR);
    /* A directory marked by another version of the layout is not read. */
    assert_int_equal(mkdir(path_in(dir, "future"), 0777), 0);
    write_file(file_in("future", ".stash-store"), "stash dir store 2\n", 18);
    assert_int_equal(stash_store_open(path_in(dir, "future"), NULL, &s), STASH_E_VERSION);
}

static int entries_in(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_mistyped_schemes_are_refused_and_create_nothing(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(mkdir(path_in(dir, "schemes"), 0777), 0);
    assert_int_equal(chdir(path_in(dir, "schemes")), 0);
    const char *typos[] = {"hdf:x.h5", "h5:x.h5", "DIR:x", "Dir:x", "file:x", " dir:x",
                           "HDF5:x.h5", "hdf5 :x", "none :", "s3:bucket", "a:b", ":x"};
    stash_store *s = NULL;
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++)
        assert_int_equal(stash_store_open(typos[i], NULL, &s), STASH_E_INVALID);
    assert_null(s);
    assert_int_equal(entries_in("."), 0);
    /* A bare path with a colon is a path once dir: or a '/' comes first. */
    assert_ok(stash_store_open("./a:b", NULL, &s));
    assert_ok(stash_store_close(&s));
    assert_ok(stash_store_open("dir:c:d", NULL, &s));
    assert_ok(stash_store_close(&s));
    assert_int_equal(entries_in("."), 2);
    assert_int_equal(chdir(cwd), 0);
    /* The list for messages. */
    assert_string_equal(stash_store_scheme(0), "none:");
    assert_string_equal(stash_store_scheme(1), "dir:");
    assert_string_equal(stash_store_scheme(2), "hdf5:");
    assert_string_equal(stash_store_scheme(3), "pickle:");
    assert_string_equal(stash_store_scheme(4), "redis://");
    assert_string_equal(stash_store_scheme(5), "redis+unix://");
    assert_null(stash_store_scheme(6));
}

static void test_a_refused_key_names_the_rule_it_breaks(void **state)
{
    (void)state;
    assert_null(stash_store_key_rule("run-3/features"));
    assert_non_null(strstr(stash_store_key_rule(""), "not empty"));
    assert_non_null(strstr(stash_store_key_rule("a//b"), "not empty"));
    assert_non_null(strstr(stash_store_key_rule("a/../b"), "'..'"));
    assert_non_null(strstr(stash_store_key_rule("tab\there"), "control"));
    assert_non_null(strstr(stash_store_key_rule("\xff"), "UTF-8"));
    char huge[STASH_STORE_KEY_MAX + 2];
    memset(huge, 'k', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_non_null(strstr(stash_store_key_rule(huge), "at most 1024 bytes"));
}

/* ---- dir: ----------------------------------------------------------------------------- */

static void test_dir_round_trips_every_kind(void **state)
{
    (void)state;
    char uri[4200];
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "kinds"));
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    assert_true(stash_store_is_active(s));
    assert_string_equal(stash_store_backend(s), "dir");
    stash_value *v = every_kind(), *back = NULL;
    assert_ok(stash_store_put(s, "all/kinds", v));
    assert_ok(stash_store_get(s, "all/kinds", &back));
    assert_true(stash_value_equal(v, back));
    /* The tree that comes back is the caller's: it can grow. */
    assert_ok(stash_value_dict_set(back, "added", json("1")));
    stash_value_free(&back);
    /* A bare array, large enough to be mapped; its view outlives the entry and the store. */
    size_t count = 1u << 16;
    double *big = malloc(count * sizeof *big);
    for (size_t i = 0; i < count; i++)
        big[i] = (double)i / 3;
    stash_value *arr = array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                                (uint64_t[]){count}, big);
    assert_ok(stash_store_put(s, "big", arr));
    assert_ok(stash_store_get(s, "big", &back));
    assert_ok(stash_store_delete(s, "big"));
    stash_store_close(&s);
    assert_true(stash_value_equal(arr, back));
    const stash_array_desc *d;
    const void *data;
    assert_ok(stash_value_get_array(back, &d, &data));
    assert_true(memcmp(data, big, count * sizeof *big) == 0);
    stash_value_free(&back);
    stash_value_free(&arr);
    stash_value_free(&v);
    free(big);
}

static void test_put_replaces_and_delete_removes(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "replace"), NULL, &s));
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
    stash_store_close(&s);
    /* A read-only handle reads but refuses to change anything. */
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    assert_ok(stash_store_open(path_in(dir, "replace"), NULL, &s));
    assert_ok(stash_store_put(s, "kept", one));
    stash_store_close(&s);
    assert_ok(stash_store_open(path_in(dir, "replace"), &ro, &s));
    assert_int_equal(stash_store_put(s, "k", one), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_store_delete(s, "kept"), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_store_gc(s, 0, NULL), STASH_E_NOT_WRITABLE);
    assert_ok(stash_store_get(s, "kept", &back));
    stash_value_free(&back);
    stash_store_close(&s);
    stash_value_free(&one);
    stash_value_free(&two);
}

/* The small-entry cache never hides another handle's (or process's) change. */
static void test_a_handle_sees_other_handles_changes_at_once(void **state)
{
    (void)state;
    stash_store *reader, *writer;
    assert_ok(stash_store_open(path_in(dir, "fresh"), NULL, &reader));
    assert_ok(stash_store_open(path_in(dir, "fresh"), NULL, &writer));
    for (int round = 0; round < 20; round++) {
        char text[32];
        snprintf(text, sizeof text, "{\"round\": %d}", round);
        stash_value *v = json(text), *back = NULL;
        assert_ok(stash_store_put(writer, "k", v));
        assert_ok(stash_store_get(reader, "k", &back));
        assert_true(stash_value_equal(v, back));
        stash_value_free(&back);
        assert_ok(stash_store_get(reader, "k", &back)); /* now from the cache */
        assert_true(stash_value_equal(v, back));
        stash_value_free(&back);
        stash_value_free(&v);
    }
    assert_ok(stash_store_delete(writer, "k"));
    stash_value *gone = NULL;
    assert_int_equal(stash_store_get(reader, "k", &gone), STASH_E_NOT_FOUND);
    stash_store_close(&writer);
    stash_store_close(&reader);
}

/* corelay's PickleStorage keys test: five writes, five keys, "/" kept in the name. */
static void test_list_gives_every_key(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "list"), NULL, &s));
    const char *keys[] = {"data", "new_data", "test/foo", "test/bar", "other"};
    stash_value *v = json("\"value\"");
    for (int i = 0; i < 5; i++)
        assert_ok(stash_store_put(s, keys[i], v));
    stash_value_free(&v);
    write_file(file_in("list", "stray.txt"), "x", 1);
    struct seen seen = {0};
    assert_ok(stash_store_list(s, count_entry, &seen));
    assert_int_equal(seen.count, 5);
    assert_true(seen.saw_nested);
    assert_true(seen.bytes > 0);
    assert_int_equal(stash_store_list(s, stop_at_first, NULL), STASH_E_BUSY);
    stash_store_close(&s);
}

/* ---- none: ----------------------------------------------------------------------------- */

static int computed;

static stash_status double_it(void *ctx, const stash_value *inputs, const stash_value *meta,
                              stash_value **result)
{
    (void)ctx, (void)meta;
    computed++;
    int64_t x = 0;
    stash_value_get_int(inputs, &x);
    return stash_value_new_int(2 * x, result);
}

static stash_status refuse(void *ctx, const stash_value *inputs, const stash_value *meta,
                           stash_value **result)
{
    (void)ctx, (void)inputs, (void)meta, (void)result;
    return STASH_E_BUSY;
}

/* corelay's NoStorage test: reads are NoDataSource, writes NoDataTarget, and it is falsy. */
static void test_none_holds_nothing_and_is_falsy(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open("none:", NULL, &s));
    assert_false(stash_store_is_active(s));
    assert_string_equal(stash_store_backend(s), "none");
    stash_value *v = json("1"), *back = NULL;
    assert_int_equal(stash_store_get(s, "k", &back), STASH_E_NO_SOURCE);
    assert_int_equal(stash_store_has(s, "k"), STASH_E_NO_SOURCE);
    assert_int_equal(stash_store_list(s, count_entry, NULL), STASH_E_NO_SOURCE);
    assert_int_equal(stash_store_put(s, "k", v), STASH_E_NO_TARGET);
    assert_int_equal(stash_store_delete(s, "k"), STASH_E_NO_TARGET);
    assert_int_equal(stash_store_gc(s, 0, NULL), STASH_E_NO_TARGET);
    /* Memoise through none: computes every time and stores nothing. */
    stash_store_memo memo;
    computed = 0;
    for (int i = 0; i < 2; i++) {
        assert_ok(stash_store_memoise(s, v, NULL, double_it, NULL, &back, &memo));
        assert_false(memo.hit);
        assert_false(memo.stored);
        stash_value_free(&back);
    }
    assert_int_equal(computed, 2);
    assert_false(stash_store_is_active(NULL));
    stash_value_free(&v);
    stash_store_close(&s);
    stash_store_close(&s); /* closing twice is harmless */
}

/* ---- memoise ---------------------------------------------------------------------------- */

static void test_memoise_computes_once_per_inputs_and_meta(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "memo"), NULL, &s));
    stash_value *in = json("21"), *meta = json("{\"unit\": \"mV\"}"), *out = NULL;
    stash_store_memo memo;
    computed = 0;
    assert_ok(stash_store_memoise(s, in, meta, double_it, NULL, &out, &memo));
    assert_false(memo.hit);
    assert_true(memo.stored);
    stash_key want;
    assert_ok(stash_hash_inputs(in, meta, &want));
    assert_string_equal(memo.key.text, want.text);
    stash_value_free(&out);
    assert_ok(stash_store_memoise(s, in, meta, double_it, NULL, &out, &memo));
    assert_true(memo.hit);
    int64_t x;
    assert_ok(stash_value_get_int(out, &x));
    assert_int_equal(x, 42);
    stash_value_free(&out);
    assert_int_equal(computed, 1);
    /* Other metadata is another key. */
    assert_ok(stash_store_memoise(s, in, NULL, double_it, NULL, &out, &memo));
    assert_false(memo.hit);
    assert_int_equal(computed, 2);
    stash_value_free(&out);
    /* The entry is an ordinary entry under its content key. */
    assert_ok(stash_store_has(s, want.text));
    /* A failing computation fails the call and stores nothing. */
    stash_value *other = json("22");
    assert_int_equal(stash_store_memoise(s, other, NULL, refuse, NULL, &out, NULL), STASH_E_BUSY);
    assert_ok(stash_hash_inputs(other, NULL, &want));
    assert_int_equal(stash_store_has(s, want.text), STASH_E_NOT_FOUND);
    stash_value_free(&other);
    stash_value_free(&in);
    stash_value_free(&meta);
    stash_store_close(&s);
}

static stash_status sum_window(void *ctx, const stash_value *inputs, const stash_value *meta,
                               stash_value **result)
{
    (void)ctx, (void)meta;
    const stash_array_desc *desc;
    const void *data;
    stash_status st = stash_value_get_array(inputs, &desc, &data);
    double sum = 0;
    for (uint64_t i = 0; st == STASH_OK && i < desc->shape[0]; i++)
        sum += ((const double *)data)[i];
    computed++;
    return st == STASH_OK ? stash_value_new_float(sum, result) : st;
}

/* A window borrowed in place (a ring's, say) memoises as its copy would. */
static void test_memoise_takes_a_borrowed_window(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "borrowed"), NULL, &s));
    double window[4] = {1, 2, 3, 4};
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, (uint64_t[]){4}));
    stash_value *borrowed = NULL, *copy = NULL, *out = NULL;
    assert_ok(stash_value_new_array_borrowed(&d, window, &borrowed));
    assert_ok(stash_value_new_array(&d, window, &copy));
    stash_store_memo memo;
    computed = 0;
    assert_ok(stash_store_memoise(s, borrowed, NULL, sum_window, NULL, &out, &memo));
    assert_true(memo.stored);
    stash_value_free(&out);
    assert_ok(stash_store_memoise(s, copy, NULL, sum_window, NULL, &out, &memo));
    assert_true(memo.hit);
    double sum = 0;
    assert_ok(stash_value_get_float(out, &sum));
    assert_true(sum == 10);
    assert_int_equal(computed, 1);
    stash_value_free(&out);
    stash_value_free(&borrowed);
    stash_value_free(&copy);
    stash_store_close(&s);
}

/* A damaged entry is recomputed and replaced once, and memo says so. */
static void test_memoise_replaces_a_damaged_entry(void **state)
{
    (void)state;
    const char *root = path_in(dir, "memo-damage");
    stash_store *s;
    assert_ok(stash_store_open(root, NULL, &s));
    stash_value *in = json("5"), *out = NULL;
    stash_store_memo memo;
    computed = 0;
    assert_ok(stash_store_memoise(s, in, NULL, double_it, NULL, &out, &memo));
    stash_value_free(&out);
    stash_store_close(&s);
    char entry[4200];
    snprintf(entry, sizeof entry, "%s/%s.nco", root, memo.key.text);
    write_file(entry, "NCO garbage, not an entry", 25);
    assert_ok(stash_store_open(root, NULL, &s));
    assert_ok(stash_store_memoise(s, in, NULL, double_it, NULL, &out, &memo));
    assert_true(memo.damaged < 0);
    assert_false(memo.hit);
    assert_true(memo.stored);
    assert_int_equal(computed, 2);
    stash_value_free(&out);
    stash_store_close(&s);
    assert_ok(stash_store_open(root, NULL, &s));
    assert_ok(stash_store_memoise(s, in, NULL, double_it, NULL, &out, &memo));
    assert_true(memo.hit);
    assert_int_equal(memo.damaged, STASH_OK);
    assert_int_equal(computed, 2);
    stash_value_free(&out);
    stash_value_free(&in);
    stash_store_close(&s);
}

/* ---- Eviction and sweeping -------------------------------------------------------------- */

static stash_value *sized_value(size_t doubles)
{
    double *d = calloc(doubles, sizeof *d);
    stash_value *v = array_of(STASH_DTYPE_FLOAT64, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 1,
                              (uint64_t[]){doubles}, d);
    free(d);
    return v;
}

static void test_gc_evicts_least_recently_used(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "lru"), NULL, &s));
    stash_value *v = sized_value(1000), *back = NULL;
    const char *keys[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        assert_ok(stash_store_put(s, keys[i], v));
    assert_ok(stash_store_get(s, "a", &back)); /* a is now the most recent */
    stash_value_free(&back);
    stash_store_gc_stats stats;
    long entry = file_size(file_in("lru", "a.nco"));
    assert_ok(stash_store_gc(s, (uint64_t)entry * 2, &stats));
    assert_int_equal(stats.entries, 4);
    assert_int_equal(stats.evicted_entries, 2);
    assert_int_equal(stats.evicted_bytes, (uint64_t)entry * 2);
    assert_int_equal(stash_store_has(s, "b"), STASH_E_NOT_FOUND);
    assert_int_equal(stash_store_has(s, "c"), STASH_E_NOT_FOUND);
    assert_ok(stash_store_has(s, "a"));
    assert_ok(stash_store_has(s, "d"));
    stash_store_close(&s);

    /* With a size limit, puts evict on their own (down to 90% of the limit). */
    stash_store_options limited = {.max_bytes = (uint64_t)entry * 3};
    assert_ok(stash_store_open(path_in(dir, "lru"), &limited, &s));
    const char *more[] = {"e", "f", "g", "h", "i"};
    for (int i = 0; i < 5; i++)
        assert_ok(stash_store_put(s, more[i], v));
    stash_store_close(&s);
    assert_ok(stash_store_open(path_in(dir, "lru"), NULL, &s));
    struct seen seen = {0};
    assert_ok(stash_store_list(s, count_entry, &seen));
    assert_true(seen.bytes <= limited.max_bytes);
    assert_ok(stash_store_has(s, "i")); /* the newest stays */
    stash_store_close(&s);
    stash_value_free(&v);
}

/* Sets path's modification time seconds_ago into the past. */
static void age_file(const char *path, int seconds_ago)
{
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) - seconds_ago}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/*
 * Liveness is a lock the writer holds, not its PID: a temporary whose name
 * carries a PID that no longer exists here (as a writer in another PID
 * namespace would) is kept while a live process holds its lock; an unlocked
 * one is swept once it is a few seconds old, and a fresh unlocked one is
 * left alone (its writer may be between creating it and locking it).
 */
static bool exists_in(const char *sub, const char *name)
{
    return access(file_in(sub, name), F_OK) == 0;
}

/* Older versions indexed entries when reading them; the index goes with its entry. */
static void test_an_entrys_old_index_goes_with_it(void **state)
{
    (void)state;
    stash_store *s;
    assert_ok(stash_store_open(path_in(dir, "indexed"), NULL, &s));
    stash_value *v = json("[1, 2, 3]");
    assert_ok(stash_store_put(s, "deleted", v));
    assert_ok(stash_store_put(s, "evicted", v));
    assert_ok(stash_store_put(s, "kept", v));
    const char *planted[] = {"deleted.nco.stashidx", "evicted.nco.stashidx", "kept.nco.stashidx",
                             "gone.nco.stashidx"};
    for (size_t i = 0; i < 4; i++)
        write_file(file_in("indexed", planted[i]), "STASHIDX", 8);
    write_file(file_in("indexed", "notes.stashidx"), "x", 1); /* no entry's: not ours */
    assert_ok(stash_store_delete(s, "deleted"));
    assert_false(exists_in("indexed", "deleted.nco.stashidx"));
    assert_true(exists_in("indexed", "evicted.nco.stashidx"));
    /* gc evicts "evicted" (least recently used) and sweeps the orphan. */
    stash_value *got = NULL;
    assert_ok(stash_store_get(s, "kept", &got));
    stash_value_free(&got);
    struct stat kept;
    assert_int_equal(stat(file_in("indexed", "kept.nco"), &kept), 0);
    stash_store_gc_stats stats;
    assert_ok(stash_store_gc(s, (uint64_t)kept.st_size, &stats));
    assert_int_equal(stats.evicted_entries, 1);
    assert_false(exists_in("indexed", "evicted.nco"));
    assert_false(exists_in("indexed", "evicted.nco.stashidx"));
    assert_false(exists_in("indexed", "gone.nco.stashidx"));
    assert_true(exists_in("indexed", "kept.nco.stashidx"));
    assert_true(exists_in("indexed", "notes.stashidx"));
    stash_value_free(&v);
    stash_store_close(&s);
}

static void test_files_of_crashed_writers_are_swept(void **state)
{
    (void)state;
    const char *root = path_in(dir, "sweep");
    stash_store *s;
    assert_ok(stash_store_open(root, NULL, &s));
    stash_store_close(&s);
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    char dead[4200], live[4200], fresh[4200];
    snprintf(dead, sizeof dead, "%s/k.nco.tmp-%d-00000000000000a1", root, (int)gone);
    snprintf(live, sizeof live, "%s/l.nco.tmp-%d-00000000000000b2", root, (int)gone);
    snprintf(fresh, sizeof fresh, "%s/m.nco.tmp-%d-00000000000000c3", root, (int)gone);
    write_file(dead, "partial", 7);
    write_file(live, "in flight", 9);
    write_file(fresh, "just made", 9);
    age_file(dead, 60);
    age_file(live, 60);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t writer = fork();
    if (writer == 0) { /* holds the lock as a live writer would, until killed */
        int fd = open(live, O_RDONLY);
        flock(fd, LOCK_EX);
        assert_int_equal(write(ready[1], "x", 1), 1);
        pause();
        _exit(0);
    }
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);

    assert_ok(stash_store_open(root, NULL, &s)); /* open sweeps */
    assert_int_equal(file_size(dead), -1);
    assert_int_equal(file_size(live), 9);
    assert_int_equal(file_size(fresh), 9);
    write_file(dead, "partial", 7);
    age_file(dead, 60);
    stash_store_gc_stats stats;
    assert_ok(stash_store_gc(s, UINT64_MAX, &stats));
    assert_int_equal(stats.swept_temps, 1);
    assert_int_equal(stats.evicted_entries, 0);

    kill(writer, SIGKILL); /* the writer dies: its lock goes with it */
    waitpid(writer, NULL, 0);
    assert_ok(stash_store_gc(s, UINT64_MAX, &stats));
    assert_int_equal(stats.swept_temps, 1);
    assert_int_equal(file_size(live), -1);
    assert_int_equal(file_size(fresh), 9);
    stash_store_close(&s);
    close(ready[0]);
    close(ready[1]);
    unlink(fresh);
}

/* A get through a new handle: the files below are changed behind stash's back,
 * which a handle's cache of small entries may not see for up to a second. */
static stash_status get_fresh(const char *root, const char *key, stash_value **out)
{
    stash_store *s;
    assert_ok(stash_store_open(root, NULL, &s));
    stash_status st = stash_store_get(s, key, out);
    stash_store_close(&s);
    return st;
}

/* ---- Damage ---------------------------------------------------------------------------- */

static void test_damaged_entries_are_reported_never_returned(void **state)
{
    (void)state;
    const char *root = path_in(dir, "damage");
    stash_store *s;
    assert_ok(stash_store_open(root, NULL, &s));
    stash_value *v = every_kind(), *back = NULL;
    assert_ok(stash_store_put(s, "good", v));
    char good[4200];
    snprintf(good, sizeof good, "%s/good.nco", root);
    static unsigned char bytes[1 << 16];
    size_t len = read_file(good, bytes, sizeof bytes);
    char victim[4200];
    snprintf(victim, sizeof victim, "%s/bad.nco", root);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut += 7) {
        write_file(victim, bytes, cut);
        stash_status st = get_fresh(root, "bad", &back);
        assert_true(st < 0);
        assert_null(back);
    }
    /* Every flipped byte is refused or read as a whole value; never a crash. */
    for (size_t at = 0; at < len; at++) {
        bytes[at] ^= 0x5a;
        write_file(victim, bytes, len);
        if (get_fresh(root, "bad", &back) == STASH_OK)
            stash_value_free(&back);
        bytes[at] ^= 0x5a;
    }
    /* An NCO file that is not an entry. */
    int64_t one = 1;
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_INT64, 0, NULL));
    stash_value *meta = json("{\"format\": \"something else\"}");
    assert_ok(stash_nco_pack(victim, meta, &d, &one, 0));
    assert_int_equal(get_fresh(root, "bad", &back), STASH_E_CORRUPT);
    stash_value_free(&meta);
    stash_value_free(&v);
    stash_store_close(&s);
}

/* ---- Hostile files in a store -------------------------------------------------------- */

/* A fresh store "sub" with one entry "a" = {"x": 1}; its root path. */
static const char *store_with_one_entry(const char *sub)
{
    const char *root = strdup(path_in(dir, sub));
    stash_store *s;
    stash_value *v = json("{\"x\": 1}");
    assert_ok(stash_store_open(root, NULL, &s));
    assert_ok(stash_store_put(s, "a", v));
    stash_store_close(&s);
    stash_value_free(&v);
    return root;
}

static void replace_with_symlink(const char *path, const char *target)
{
    assert_int_equal(unlink(path) == 0 || errno == ENOENT, 1);
    assert_int_equal(symlink(target, path), 0);
}

static void replace_with_fifo(const char *path)
{
    assert_int_equal(unlink(path) == 0 || errno == ENOENT, 1);
    assert_int_equal(mkfifo(path, 0600), 0);
}

static void test_an_entry_copied_under_another_name_is_not_that_keys_value(void **state)
{
    (void)state;
    const char *root = store_with_one_entry("copied");
    char a[4200], b[4200], text[4096];
    snprintf(a, sizeof a, "%s/a.nco", root);
    snprintf(b, sizeof b, "%s/b.nco", root);
    size_t len = read_file(a, text, sizeof text);
    write_file(b, text, len); /* cp a.nco b.nco */
    stash_store *s;
    stash_value *got = NULL;
    assert_ok(stash_store_open(root, NULL, &s));
    assert_int_equal(stash_store_get(s, "b", &got), STASH_E_CORRUPT);
    assert_null(got);
    assert_ok(stash_store_get(s, "a", &got));
    stash_value_free(&got);
    stash_store_close(&s);
    free((void *)root);
}

/* Links planted in place of a store's files are never followed: the files they name stay as they were. */
static void test_symlinks_planted_in_a_store_are_refused_not_followed(void **state)
{
    (void)state;
    const char *names[] = {".stash-lock", ".stash-lru", ".stash-store", "a.nco"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *root = store_with_one_entry("linked");
        char victim[4200], planted[4200];
        snprintf(victim, sizeof victim, "%s-victim-%zu", root, i);
        write_file(victim, "precious", 8);
        snprintf(planted, sizeof planted, "%s/%s", root, names[i]);
        replace_with_symlink(planted, victim);

        stash_store *s = NULL;
        stash_value *v = json("{\"y\": 2}"), *got = NULL;
        stash_status st = stash_store_open(root, NULL, &s);
        if (i < 3 && i != 1) { /* the marker and the lock are checked at open */
            assert_int_equal(st, STASH_E_CORRUPT);
        } else {
            assert_ok(st);
            assert_int_equal(stash_store_get(s, "a", &got), i == 3 ? STASH_E_CORRUPT : STASH_OK);
            stash_value_free(&got);
            assert_ok(stash_store_put(s, "c", v)); /* the recency log's batch goes nowhere */
            for (int hit = 0; hit < 1000; hit++) {
                assert_ok(stash_store_get(s, "c", &got));
                stash_value_free(&got);
            }
            stash_store_close(&s);
        }
        char text[16] = {0};
        assert_int_equal(read_file(victim, text, sizeof text), 8);
        assert_string_equal(text, "precious");
        unlink(victim);
        char cmd[8500];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        stash_value_free(&v);
        free((void *)root);
    }
}

/* A FIFO in place of a store's file makes no call hang. */
static void test_fifos_planted_in_a_store_hang_nothing(void **state)
{
    (void)state;
    const char *names[] = {".stash-lock", ".stash-lru", ".stash-store", "a.nco"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *root = store_with_one_entry("fifo");
        char planted[4200];
        snprintf(planted, sizeof planted, "%s/%s", root, names[i]);
        replace_with_fifo(planted);
        alarm(30); /* a hang fails the test instead of the run */
        stash_store *s = NULL;
        stash_value *got = NULL, *v = json("[1]");
        stash_status st = stash_store_open(root, NULL, &s);
        if (st == STASH_OK) {
            st = stash_store_get(s, "a", &got);
            assert_int_equal(st, i == 3 ? STASH_E_CORRUPT : STASH_OK);
            assert_ok(stash_store_put(s, "b", v));
            stash_value_free(&got);
            stash_store_close(&s);
        } else {
            assert_int_equal(st, STASH_E_CORRUPT);
        }
        alarm(0);
        stash_value_free(&v);
        char cmd[8500];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        free((void *)root);
    }
}

/* The store maps none of its own files: a truncated lock file harms no handle. */
static void test_a_truncated_lock_file_harms_no_handle(void **state)
{
    (void)state;
    const char *root = store_with_one_entry("truncated-lock");
    stash_store *s;
    stash_value *got = NULL, *v = json("{\"z\": 3}");
    assert_ok(stash_store_open(root, NULL, &s));
    assert_ok(stash_store_get(s, "a", &got));
    stash_value_free(&got);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/.stash-lock", root);
    assert_int_equal(truncate(lock, 0), 0);
    assert_ok(stash_store_get(s, "a", &got));
    stash_value_free(&got);
    assert_ok(stash_store_put(s, "a", v));
    assert_ok(stash_store_get(s, "a", &got));
    assert_true(stash_value_equal(got, v));
    stash_value_free(&got);
    stash_store_close(&s);
    stash_value_free(&v);
    free((void *)root);
}

/*
 * With STASH_STORE_COPY a get never maps: a foreign writer cutting the entry's
 * file in place (cp over it) leaves the arrays already got whole. (Without it,
 * touching them past the new end would be SIGBUS, as store.h says.)
 */
static void test_copying_gets_survive_an_entry_cut_in_place(void **state)
{
    (void)state;
    const char *root = path_in(dir, "copying");
    stash_store_options copying = {.flags = STASH_STORE_COPY};
    stash_store *s;
    stash_value *v = sized_value(100000), *got = NULL;
    assert_ok(stash_store_open(root, &copying, &s));
    assert_ok(stash_store_put(s, "big", v));
    assert_ok(stash_store_get(s, "big", &got));
    char entry[4200];
    snprintf(entry, sizeof entry, "%s/big.nco", root);
    assert_int_equal(truncate(entry, 100), 0); /* what cp does first */
    assert_true(stash_value_equal(got, v));   /* every byte read: no SIGBUS */
    stash_value_free(&got);
    assert_int_not_equal(stash_store_get(s, "big", &got), STASH_OK);
    assert_null(got);
    stash_store_close(&s);
    stash_value_free(&v);
}

/* Hits alone never grow the recency log past a small multiple of one line per entry. */
static void test_the_recency_log_stays_bounded_under_hits(void **state)
{
    (void)state;
    const char *root = store_with_one_entry("log");
    stash_store *s;
    stash_value *got = NULL;
    assert_ok(stash_store_open(root, NULL, &s));
    for (int hit = 0; hit < 200000; hit++) { /* 1.2 MB of records */
        assert_ok(stash_store_get(s, "a", &got));
        stash_value_free(&got);
    }
    stash_store_close(&s);
    char log[4200];
    snprintf(log, sizeof log, "%s/.stash-lru", root);
    assert_true(file_size(log) < (256 + 8) * 1024);
    free((void *)root);
}

/* ---- Processes ------------------------------------------------------------------------- */

static void test_four_processes_share_a_dir_store(void **state)
{
    (void)state;
    char uri[4200];
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "shared"));
    run_concurrent_workers(uri);
}

static void test_a_killed_writer_leaves_the_dir_store_readable(void **state)
{
    (void)state;
    char uri[4200];
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "killed"));
    for (unsigned delay = 2000; delay <= 62000; delay += 15000) {
        kill_writer_mid_put(uri, delay);
        expect_whole_or_missing(uri);
    }
    /* Reopening sweeps what the killed writers left, once it is old enough to be
     * no live writer's (docs/store.md, "Sweeping"): age it, then reopen. */
    DIR *d = opendir(path_in(dir, "killed"));
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp-"))
            age_file(file_in("killed", e->d_name), 60);
    closedir(d);
    stash_store *s;
    assert_ok(stash_store_open(uri + 4, NULL, &s));
    stash_store_close(&s);
    d = opendir(path_in(dir, "killed"));
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp-"));
    closedir(d);
}

static void test_recovering_a_store_that_is_not_there_creates_nothing(void **state)
{
    (void)state;
    char uri[4200];
    struct stat about;
    bool rolled_back = true;
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "never-made"));
    assert_int_equal(stash_store_recover(uri, &rolled_back), STASH_E_NOT_FOUND);
    assert_false(rolled_back);
    assert_int_equal(lstat(uri + 4, &about), -1);
    snprintf(uri, sizeof uri, "pickle:%s", path_in(dir, "never-made.pkl"));
    assert_int_equal(stash_store_recover(uri, NULL), STASH_E_NOT_FOUND);
    assert_int_equal(lstat(uri + 7, &about), -1);
    /* An existing store is opened to write and swept, as before. */
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "made"));
    stash_store *s;
    assert_ok(stash_store_open(uri, NULL, &s));
    assert_ok(stash_store_close(&s));
    assert_ok(stash_store_recover(uri, &rolled_back));
    assert_false(rolled_back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_vectors_match_the_specification),
        cmocka_unit_test(test_keys_ignore_layout_and_dict_order),
        cmocka_unit_test(test_bad_keys_and_uris_are_refused_before_anything_is_touched),
        cmocka_unit_test(test_mistyped_schemes_are_refused_and_create_nothing),
        cmocka_unit_test(test_a_refused_key_names_the_rule_it_breaks),
        cmocka_unit_test(test_dir_round_trips_every_kind),
        cmocka_unit_test(test_put_replaces_and_delete_removes),
        cmocka_unit_test(test_a_handle_sees_other_handles_changes_at_once),
        cmocka_unit_test(test_list_gives_every_key),
        cmocka_unit_test(test_none_holds_nothing_and_is_falsy),
        cmocka_unit_test(test_memoise_computes_once_per_inputs_and_meta),
        cmocka_unit_test(test_memoise_takes_a_borrowed_window),
        cmocka_unit_test(test_memoise_replaces_a_damaged_entry),
        cmocka_unit_test(test_gc_evicts_least_recently_used),
        cmocka_unit_test(test_files_of_crashed_writers_are_swept),
        cmocka_unit_test(test_an_entrys_old_index_goes_with_it),
        cmocka_unit_test(test_damaged_entries_are_reported_never_returned),
        cmocka_unit_test(test_an_entry_copied_under_another_name_is_not_that_keys_value),
        cmocka_unit_test(test_symlinks_planted_in_a_store_are_refused_not_followed),
        cmocka_unit_test(test_fifos_planted_in_a_store_hang_nothing),
        cmocka_unit_test(test_a_truncated_lock_file_harms_no_handle),
        cmocka_unit_test(test_copying_gets_survive_an_entry_cut_in_place),
        cmocka_unit_test(test_the_recency_log_stays_bounded_under_hits),
        cmocka_unit_test(test_four_processes_share_a_dir_store),
        cmocka_unit_test(test_a_killed_writer_leaves_the_dir_store_readable),
        cmocka_unit_test(test_recovering_a_store_that_is_not_there_creates_nothing),
    };
    return cmocka_run_group_tests_name("store", tests, make_dir, NULL);
}
