/*
 * NCO files: nengo's own tests (round trip, bad magic, bad version), the
 * byte layout, chains and their index, and every way a file can lie.
 * nengo's Subfile tests live with the range streams in test_stream.c;
 * tests/interop/nco_interop.py exchanges files with a nengo-style script.
 */
#include "test_util.h"

#include <stash/bytes.h>
#include <stash/nco.h>
#include <stash/npy.h>

#include <errno.h>
#include <fcntl.h>

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = scratch_dir();
    return 0;
}

static const int64_t nengo_array[4] = {4, 3, 2, 1};

static stash_array_desc nengo_desc(void)
{
    stash_array_desc d;
    uint64_t shape[2] = {2, 2};
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_INT64, 2, shape));
    return d;
}

static stash_value *json(const char *text)
{
    stash_value *v;
    assert_ok(stash_value_from_json(text, strlen(text), &v, NULL));
    return v;
}

/* One object in memory, as stash_nco_write lays it out; *len its size. */
static unsigned char *object_bytes(const char *meta_json, size_t *len)
{
    stash_value *meta = json(meta_json);
    stash_array_desc d = nengo_desc();
    stash_stream *s;
    const void *data;
    assert_ok(stash_stream_open_growable(512, &s));
    assert_ok(stash_nco_write(s, meta, &d, nengo_array, NULL));
    assert_ok(stash_stream_memory_contents(s, &data, len));
    unsigned char *copy = malloc(*len);
    memcpy(copy, data, *len);
    stash_stream_close(&s);
    stash_value_free(&meta);
    return copy;
}

static stash_status open_bytes(const char *name, const void *bytes, size_t len, stash_nco **nco)
{
    const char *path = path_in(dir, name);
    write_file(path, bytes, len);
    return stash_nco_open(path, STASH_NCO_NO_INDEX, nco);
}

static void test_nengo_round_trip(void **state)
{
    (void)state;
    const char *path = path_in(dir, "roundtrip.nco");
    stash_value *meta = json("{\"0\": 237, \"str\": \"foobar\"}");
    stash_array_desc d = nengo_desc();
    assert_ok(stash_nco_pack(path, meta, &d, nengo_array, STASH_NCO_DURABLE));
    stash_nco *nco;
    assert_ok(stash_nco_open(path, 0, &nco));
    stash_value *back;
    assert_ok(stash_nco_meta(nco, 0, &back, NULL));
    assert_true(stash_value_equal(meta, back));
    stash_array_desc got;
    const void *data;
    assert_ok(stash_nco_array(nco, 0, &got, &data));
    assert_int_equal(got.ndim, 2);
    assert_memory_equal(data, nengo_array, sizeof nengo_array);
    assert_int_equal((uintptr_t)data % STASH_NCO_ARRAY_ALIGN, 0);
    stash_value_free(&back);
    stash_value_free(&meta);
    stash_nco_close(&nco);
    assert_null(nco);
}

static void test_bad_magic_and_version_are_refused(void **state)
{
    (void)state;
    size_t len;
    unsigned char *bytes = object_bytes("null", &len);
    stash_nco *nco = NULL;
    memcpy(bytes, "BAD", 3);
    assert_int_equal(open_bytes("magic.nco", bytes, len, &nco), STASH_E_CORRUPT);
    memcpy(bytes, "NCO", 3);
    bytes[3] = 255;
    assert_int_equal(open_bytes("version.nco", bytes, len, &nco), STASH_E_VERSION);
    assert_null(nco);
    free(bytes);
}

static void test_layout_is_nengos_with_zero_padding(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = object_bytes("{\"0\": 237, \"str\": \"foobar\"}", &len);
    assert_memory_equal(b, "NCO\0\0\0\0\0", 8);
    uint64_t meta_start = stash_bytes_load_u64le(b + 8), meta_end = stash_bytes_load_u64le(b + 16);
    uint64_t array_start = stash_bytes_load_u64le(b + 24), array_end = stash_bytes_load_u64le(b + 32);
    assert_int_equal(meta_start, 48); /* 40 rounded up to 16 */
    assert_int_equal(array_start % 64, 0);
    assert_int_equal(array_end, len);
    for (uint64_t i = 40; i < meta_start; i++)
        assert_int_equal(b[i], 0);
    for (uint64_t i = meta_end; i < array_start; i++)
        assert_int_equal(b[i], 0);
    assert_memory_equal(b + array_start, "\x93NUMPY\x01\x00", 8);
    free(b);
}

static void append_objects(const char *path, int count)
{
    stash_array_desc d;
    for (int i = 0; i < count; i++) {
        uint64_t shape[1] = {(uint64_t)i % 5};
        double values[5] = {i, i + 1, i + 2, i + 3, i + 4};
        stash_value *meta;
        assert_ok(stash_value_new_int(i, &meta));
        assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, shape));
        assert_ok(stash_nco_append(path, meta, &d, values, 0));
        stash_value_free(&meta);
    }
}

static void check_object(const stash_nco *nco, size_t i)
{
    stash_value *meta;
    int64_t n;
    stash_array_desc d;
    const void *data;
    assert_ok(stash_nco_meta(nco, i, &meta, NULL));
    assert_ok(stash_value_get_int(meta, &n));
    assert_int_equal(n, i);
    assert_ok(stash_nco_array(nco, i, &d, &data));
    assert_int_equal(d.shape[0], i % 5);
    if (d.shape[0])
        assert_true(((const double *)data)[0] == (double)i);
    stash_value_free(&meta);
}

static void test_chains_are_found_by_index_and_by_walking(void **state)
{
    (void)state;
    const char *path = path_in(dir, "chain.nco");
    append_objects(path, 100);
    stash_nco *indexed, *walked;
    stash_nco_info a, b;
    assert_ok(stash_nco_open(path, 0, &indexed));
    assert_ok(stash_nco_open(path, STASH_NCO_NO_INDEX, &walked));
    assert_ok(stash_nco_info_get(indexed, &a));
    assert_ok(stash_nco_info_get(walked, &b));
    assert_int_equal(a.index, STASH_NCO_INDEX_USED);
    assert_int_equal(b.index, STASH_NCO_INDEX_WALKED);
    assert_int_equal(a.count, 100);
    assert_int_equal(b.count, 100);
    assert_int_equal(a.chain_end, a.file_bytes);
    for (size_t i = 0; i < 100; i++) {
        stash_nco_object x, y;
        assert_ok(stash_nco_object_at(indexed, i, &x));
        assert_ok(stash_nco_object_at(walked, i, &y));
        assert_memory_equal(&x, &y, sizeof x);
        if (i)
            check_object(indexed, i);
    }
    stash_nco_object none;
    assert_int_equal(stash_nco_object_at(indexed, 100, &none), STASH_E_NOT_FOUND);
    stash_nco_close(&indexed);
    stash_nco_close(&walked);
}

static stash_nco_index_state index_state_of(const char *path, size_t *count)
{
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    stash_nco_close(&nco);
    *count = info.count;
    return info.index;
}

/* Object number n written at the file's end as nengo would, leaving the index alone. */
static void write_at_the_end(const char *path, int64_t n)
{
    stash_stream *s;
    stash_value *meta;
    stash_array_desc d = nengo_desc();
    assert_ok(stash_value_new_int(n, &meta));
    assert_ok(stash_stream_open_file(path, "r+", &s));
    assert_ok(stash_stream_seek(s, 0, STASH_SEEK_END, NULL));
    assert_ok(stash_nco_write(s, meta, &d, nengo_array, NULL));
    assert_ok(stash_stream_close(&s));
    stash_value_free(&meta);
}

static void test_stale_or_damaged_indexes_are_rebuilt(void **state)
{
    (void)state;
    const char *path = path_in(dir, "stale.nco");
    char index[4200];
    snprintf(index, sizeof index, "%s.stashidx", path);
    append_objects(path, 3);
    size_t count;
    /* Another writer appends without touching the index (as nengo's would). */
    write_at_the_end(path, 3);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_REBUILT);
    assert_int_equal(count, 4);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_USED);
    /* A flipped byte fails the checksum. */
    unsigned char buf[256];
    size_t n = read_file(index, buf, sizeof buf);
    buf[n - 1] ^= 1;
    write_file(index, buf, n);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_REBUILT);
    assert_int_equal(count, 4);
    unlink(index);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_REBUILT);
}

/*
 * A reader that walks while an append is in flight indexes the objects it
 * saw; if its index lands after the append's header, and the file's size
 * and modification time did not move in between (the header does not
 * change the size, and a kernel's coarse clock may give both writes one
 * timestamp), the index describes this very file but lacks its last
 * object. That object must still be found, and never be cut off as a tail
 * by the next append.
 */
static void test_an_index_made_before_the_last_commit_hides_nothing(void **state)
{
    (void)state;
    const char *path = path_in(dir, "raced.nco");
    append_objects(path, 2);
    /* Object 2, written whole, then its header zeroed: an append before its commit. */
    long start = file_size(path);
    write_at_the_end(path, 2);
    unsigned char header[STASH_NCO_HEADER_BYTES];
    static const unsigned char zeros[STASH_NCO_HEADER_BYTES];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, header, sizeof header, start), (ssize_t)sizeof header);
    assert_int_equal(pwrite(fd, zeros, sizeof zeros, start), (ssize_t)sizeof zeros);
    /* The reader walks and indexes two objects. */
    size_t count;
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_REBUILT);
    assert_int_equal(count, 2);
    /* The append commits within the same clock tick: same size, same mtime. */
    struct stat before;
    assert_int_equal(fstat(fd, &before), 0);
    assert_int_equal(pwrite(fd, header, sizeof header, start), (ssize_t)sizeof header);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(futimens(fd, times), 0);
    close(fd);
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 3);
    assert_int_equal(info.tail_bytes, 0);
    stash_nco_close(&nco);
    /* The index is whole again, and the next append lands after object 2. */
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 3);
    append_objects(path, 1);
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 4);
    stash_value *back = NULL;
    assert_ok(stash_nco_meta(nco, 2, &back, NULL));
    int64_t i = -1;
    assert_ok(stash_value_get_int(back, &i));
    assert_int_equal(i, 2);
    stash_value_free(&back);
    stash_nco_close(&nco);
}

static void test_lying_offsets_get_clear_statuses(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = object_bytes("[1]", &len);
    unsigned char *b = malloc(len);
    stash_nco *nco = NULL;
    static const struct {
        int field; /* byte offset of the u64 to change */
        uint64_t value;
        stash_status want;
    } lies[] = {
        {32, 1u << 20, STASH_E_TRUNCATED},  /* array end past the file */
        {8, 8, STASH_E_RANGE},              /* metadata inside the header */
        {24, 40, STASH_E_RANGE},            /* array starts before the metadata ends */
        {16, 8, STASH_E_RANGE},             /* metadata ends before it starts */
        {8, UINT64_MAX - 7, STASH_E_RANGE}, /* offsets that would wrap */
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(b, good, len);
        stash_bytes_store_u64le(b + lies[i].field, lies[i].value);
        stash_status st = open_bytes("lie.nco", b, len, &nco);
        if (st != lies[i].want)
            fail_msg("lie %zu: got %d, want %d", i, st, lies[i].want);
        assert_null(nco);
    }
    assert_int_equal(open_bytes("short.nco", good, len - 1, &nco), STASH_E_TRUNCATED);
    assert_int_equal(open_bytes("header.nco", good, 20, &nco), STASH_E_TRUNCATED);
    free(b);
    free(good);
}

/* The object's NPY header with its shape text replaced (the spare spaces make room). */
static stash_status array_with_shape(const char *shape_text)
{
    size_t len;
    unsigned char *b = object_bytes("null", &len);
    char *shape = memmem(b, len, "(2, 2), }", 9);
    assert_non_null(shape);
    assert_true(memchr(shape, '\n', strlen(shape_text)) == NULL);
    memcpy(shape, shape_text, strlen(shape_text));
    stash_nco *nco;
    assert_ok(open_bytes("claim.nco", b, len, &nco));
    stash_array_desc d;
    const void *data;
    stash_status st = stash_nco_array(nco, 0, &d, &data);
    stash_nco_close(&nco);
    free(b);
    return st;
}

static void test_npy_inside_is_checked_too(void **state)
{
    (void)state;
    /* 2^62 elements of 8 bytes cannot even be sized; 2^40 are not there. */
    assert_int_equal(array_with_shape("(4611686018427387904,), }"), STASH_E_RANGE);
    assert_int_equal(array_with_shape("(1099511627776,), }"), STASH_E_TRUNCATED);
    assert_int_equal(array_with_shape("(2, 2),}  "), STASH_OK);
}

static void test_uncommitted_tails_are_ignored_then_dropped(void **state)
{
    (void)state;
    const char *path = path_in(dir, "tail.nco");
    append_objects(path, 2);
    long size = file_size(path);
    FILE *f = fopen(path, "ab");
    static const unsigned char zeros[100];
    fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 2);
    assert_int_equal(info.tail_bytes, 100);
    assert_int_equal(info.tail_status, STASH_OK);
    stash_nco_close(&nco);
    /* Garbage, not zeros, is reported as damage but still costs nothing else. */
    f = fopen(path, "r+b");
    fseek(f, size, SEEK_SET);
    fwrite("NCX", 1, 3, f);
    fclose(f);
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 2);
    assert_int_equal(info.tail_status, STASH_E_CORRUPT);
    stash_nco_close(&nco);
    /* The next append writes over the tail. */
    append_objects(path, 1);
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 3);
    assert_int_equal(info.tail_bytes, 0);
    stash_nco_close(&nco);
}

static void test_unsafe_metadata_leaves_the_array_usable(void **state)
{
    (void)state;
    /* An object whose pickle is os.system (protocol 0), built by hand. */
    static const char pickle[] = "cos\nsystem\n.";
    size_t len;
    unsigned char *b = object_bytes("null", &len);
    size_t meta_len = sizeof pickle - 1; /* fits before the array at 64 */
    memcpy(b + 48, pickle, meta_len);
    stash_bytes_store_u64le(b + 16, 48 + meta_len);
    stash_nco *nco;
    assert_ok(open_bytes("unsafe.nco", b, len, &nco));
    stash_value *meta = NULL;
    stash_pickle_error err;
    assert_int_equal(stash_nco_meta(nco, 0, &meta, &err), STASH_E_UNSAFE);
    assert_null(meta);
    assert_string_equal(err.opcode_name, "GLOBAL");
    const void *bytes;
    size_t n;
    assert_ok(stash_nco_meta_bytes(nco, 0, &bytes, &n));
    assert_int_equal(n, meta_len);
    assert_memory_equal(bytes, pickle, meta_len);
    stash_array_desc d;
    const void *data;
    assert_ok(stash_nco_array(nco, 0, &d, &data));
    assert_memory_equal(data, nengo_array, sizeof nengo_array);
    stash_nco_close(&nco);
    free(b);
}

static void test_failed_appends_change_nothing(void **state)
{
    (void)state;
    const char *path = path_in(dir, "refused.nco");
    append_objects(path, 1);
    long before = file_size(path);
    stash_array_desc d = nengo_desc();
    stash_value *meta;
    stash_value *array;
    assert_ok(stash_value_new_list(&meta));
    assert_ok(stash_value_new_array(&d, nengo_array, &array));
    assert_ok(stash_value_append(meta, array));
    assert_int_equal(stash_nco_append(path, meta, &d, nengo_array, 0), STASH_E_UNSUPPORTED);
    assert_int_equal(stash_nco_append(path, NULL, NULL, nengo_array, 0), STASH_E_INVALID);
    assert_int_equal(file_size(path), before);
    stash_stream *s;
    assert_ok(stash_stream_open_growable(64, &s));
    assert_int_equal(stash_nco_write(s, NULL, NULL, nengo_array, NULL), STASH_E_INVALID);
    assert_int_equal(stash_nco_write(s, meta, &d, nengo_array, NULL), STASH_E_UNSUPPORTED);
    assert_int_equal(stash_stream_bytes_written(s), 0);
    stash_stream_close(&s);
    stash_value_free(&meta);
    /* An empty file is an empty chain; a missing one is an errno. */
    stash_nco *nco;
    write_file(path_in(dir, "empty.nco"), "", 0);
    assert_ok(stash_nco_open(path_in(dir, "empty.nco"), 0, &nco));
    stash_nco_close(&nco);
    assert_int_equal(stash_nco_open(path_in(dir, "missing.nco"), 0, &nco), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nengo_round_trip),
        cmocka_unit_test(test_bad_magic_and_version_are_refused),
        cmocka_unit_test(test_layout_is_nengos_with_zero_padding),
        cmocka_unit_test(test_chains_are_found_by_index_and_by_walking),
        cmocka_unit_test(test_stale_or_damaged_indexes_are_rebuilt),
        cmocka_unit_test(test_an_index_made_before_the_last_commit_hides_nothing),
        cmocka_unit_test(test_lying_offsets_get_clear_statuses),
        cmocka_unit_test(test_npy_inside_is_checked_too),
        cmocka_unit_test(test_uncommitted_tails_are_ignored_then_dropped),
        cmocka_unit_test(test_unsafe_metadata_leaves_the_array_usable),
        cmocka_unit_test(test_failed_appends_change_nothing),
    };
    return cmocka_run_group_tests_name("nco", tests, make_dir, NULL);
}
