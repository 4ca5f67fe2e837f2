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
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <xxhash.h>

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
    void *data = NULL;
    assert_ok(stash_nco_meta(nco, i, &meta, NULL));
    assert_ok(stash_value_get_int(meta, &n));
    assert_int_equal(n, i);
    assert_ok(stash_nco_array_read(nco, i, &d, &data));
    assert_int_equal(d.shape[0], i % 5);
    if (d.shape[0])
        assert_true(((const double *)data)[0] == (double)i);
    free(data);
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

static void test_stale_or_damaged_indexes_are_walked_past_until_the_next_append(void **state)
{
    (void)state;
    const char *path = path_in(dir, "stale.nco");
    char index[4200];
    snprintf(index, sizeof index, "%s.stashidx", path);
    append_objects(path, 3);
    size_t count;
    /* Another writer appends without touching the index (as nengo's would). */
    write_at_the_end(path, 3);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_WALKED);
    assert_int_equal(count, 4);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_WALKED); /* not rewritten */
    append_objects(path, 1);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 5);
    /* A flipped byte fails the checksum. */
    unsigned char buf[256];
    size_t n = read_file(index, buf, sizeof buf);
    buf[n - 1] ^= 1;
    write_file(index, buf, n);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_WALKED);
    assert_int_equal(count, 5);
    unlink(index);
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_WALKED);
    assert_int_equal(count, 5);
}

/*
 * An index of path's current version (identity and checksum right) listing
 * the n starts given, as anyone able to write the directory could forge it.
 */
static void forge_index(const char *path, const uint64_t *starts, size_t n)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    size_t bytes = 64 + 8 * n;
    unsigned char *buf = calloc(1, bytes);
    assert_non_null(buf);
    memcpy(buf, "STASHIDX", 8);
    stash_bytes_store_u32le(buf + 8, 1);
    stash_bytes_store_u64le(buf + 16, (uint64_t)st.st_size);
    stash_bytes_store_u64le(buf + 24, (uint64_t)st.st_ino);
    stash_bytes_store_u64le(buf + 32, (uint64_t)st.st_mtim.tv_sec);
    stash_bytes_store_u64le(buf + 40, (uint64_t)st.st_mtim.tv_nsec);
    stash_bytes_store_u64le(buf + 48, n);
    for (size_t i = 0; i < n; i++)
        stash_bytes_store_u64le(buf + 64 + 8 * i, starts[i]);
    stash_bytes_store_u64le(buf + 56, XXH3_64bits_withSeed(buf + 64, 8 * n, XXH3_64bits(buf, 56)));
    char index[4200];
    snprintf(index, sizeof index, "%s.stashidx", path);
    write_file(index, buf, bytes);
    free(buf);
}

/* The starts of path's objects, found by walking; returns how many. */
static size_t chain_starts(const char *path, uint64_t *starts, size_t cap)
{
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, STASH_NCO_NO_INDEX, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_true(info.count <= cap);
    for (size_t i = 0; i < info.count; i++) {
        stash_nco_object o;
        assert_ok(stash_nco_object_at(nco, i, &o));
        starts[i] = o.start;
    }
    stash_nco_close(&nco);
    return info.count;
}

/*
 * Forged indexes, each with a valid checksum and the file's identity, as a
 * fuzzer's corpus would hold them: every one that is not the chain itself is
 * walked past, so object i is always the i-th object of the chain - never a
 * skipped one's successor, never an object found inside another's bytes.
 */
static void test_a_forged_index_cannot_misattribute_an_object(void **state)
{
    (void)state;
    const char *path = path_in(dir, "forged.nco");
    append_objects(path, 5);
    uint64_t s[5];
    assert_int_equal(chain_starts(path, s, 5), 5);
    uint64_t inside = s[2] + 48; /* the pickle of object 2: no header there */
    const struct {
        const char *what;
        uint64_t starts[5];
        size_t n;
    } forgeries[] = {
        {"skips object 1", {s[0], s[2], s[3], s[4]}, 4},
        {"skips object 3", {s[0], s[1], s[2], s[4]}, 4},
        {"starts at object 1", {s[1], s[2], s[3], s[4]}, 4},
        {"lists one byte into object 0", {s[0], s[0] + 1, s[1], s[2], s[3]}, 5},
        {"lists an offset inside object 2", {s[0], s[1], inside, s[3], s[4]}, 5},
        {"swaps objects 1 and 2", {s[0], s[2], s[1], s[3], s[4]}, 5},
        {"lists none", {0}, 0},
    };
    for (size_t f = 0; f < sizeof forgeries / sizeof forgeries[0]; f++) {
        forge_index(path, forgeries[f].starts, forgeries[f].n);
        stash_nco *nco;
        stash_nco_info info;
        assert_ok(stash_nco_open(path, 0, &nco));
        assert_ok(stash_nco_info_get(nco, &info));
        if (info.count != 5 || info.index != STASH_NCO_INDEX_WALKED)
            fail_msg("an index that %s: %zu objects, index state %d", forgeries[f].what,
                     info.count, (int)info.index);
        for (size_t i = 0; i < 5; i++)
            check_object(nco, i);
        stash_nco_close(&nco);
    }
    /* The chain itself is used. */
    forge_index(path, s, 5);
    size_t count;
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 5);
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
    /* A process walks and indexes two objects (no stash reader writes an
     * index now, but nengo-era tools or an older stash may). */
    uint64_t starts[2];
    assert_int_equal(chain_starts(path, starts, 2), 2);
    /* The append commits within the same clock tick: same size, same mtime. */
    struct stat before;
    assert_int_equal(fstat(fd, &before), 0);
    assert_int_equal(pwrite(fd, header, sizeof header, start), (ssize_t)sizeof header);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(futimens(fd, times), 0);
    close(fd);
    forge_index(path, starts, 2); /* ...and its index lands only now */
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 3);
    assert_int_equal(info.tail_bytes, 0);
    assert_int_equal(info.index, STASH_NCO_INDEX_WALKED);
    stash_nco_close(&nco);
    /* The next append lands after object 2, and indexes all four. */
    append_objects(path, 1);
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 4);
    assert_int_equal(info.index, STASH_NCO_INDEX_USED);
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
    d.dtype = STASH_DTYPE_COUNT; /* no such type: refused before a byte is written */
    stash_value *meta;
    assert_ok(stash_value_new_list(&meta));
    assert_int_equal(stash_nco_append(path, meta, &d, nengo_array, 0), STASH_E_INVALID);
    assert_int_equal(stash_nco_append(path, NULL, NULL, nengo_array, 0), STASH_E_INVALID);
    assert_int_equal(file_size(path), before);
    stash_stream *s;
    assert_ok(stash_stream_open_growable(64, &s));
    assert_int_equal(stash_nco_write(s, NULL, NULL, nengo_array, NULL), STASH_E_INVALID);
    assert_int_equal(stash_nco_write(s, meta, &d, nengo_array, NULL), STASH_E_INVALID);
    assert_int_equal(stash_stream_bytes_written(s), 0);
    stash_stream_close(&s);
    stash_value_free(&meta);
}

/* In a child whose files may not grow past limit bytes (SIGXFSZ ignored, so
 * writes fail with EFBIG as they would with ENOSPC): the status of appending
 * a 64 KiB array to path. */
static stash_status append_beyond_limit(const char *path, rlim_t limit)
{
    int results[2];
    assert_int_equal(pipe(results), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit cap = {limit, limit};
        setrlimit(RLIMIT_FSIZE, &cap);
        static double big[8192];
        stash_array_desc d;
        stash_status status = stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1,
                                                    (uint64_t[]){8192});
        if (status == STASH_OK)
            status = stash_nco_append(path, NULL, &d, big, 0);
        _exit(write(results[1], &status, sizeof status) == sizeof status ? 0 : 2);
    }
    close(results[1]);
    stash_status status = 1;
    assert_int_equal(read(results[0], &status, sizeof status), (ssize_t)sizeof status);
    close(results[0]);
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    return status;
}

/* A full disk mid-append gives the space back and leaves no tail for nengo to trip on. */
static void test_an_append_that_fails_midway_leaves_no_tail(void **state)
{
    (void)state;
    const char *path = path_in(dir, "full.nco");
    append_objects(path, 2);
    long before = file_size(path);
    assert_int_equal(append_beyond_limit(path, (rlim_t)before + 4096), -EFBIG);
    assert_int_equal(file_size(path), before);
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    stash_nco_info_get(nco, &info);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.tail_bytes, 0);
    stash_nco_close(&nco);
}

/* Object i of a batch: i as metadata, [i, i + 1] as the array. */
static stash_status add_numbered(stash_nco_batch *b, int64_t i)
{
    int64_t values[2] = {i, i + 1};
    stash_array_desc d;
    stash_value *meta;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_INT64, 1, (uint64_t[]){2}));
    assert_ok(stash_value_new_int(i, &meta));
    stash_status status = stash_nco_batch_add(b, meta, &d, values);
    stash_value_free(&meta);
    return status;
}

static void expect_numbered(const char *path, size_t count, stash_nco_index_state index)
{
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    stash_nco_info_get(nco, &info);
    assert_int_equal(info.count, count);
    assert_int_equal(info.tail_bytes, 0);
    assert_int_equal(info.index, index);
    for (size_t i = 0; i < count; i++) {
        stash_value *meta;
        int64_t n;
        assert_ok(stash_nco_meta(nco, i, &meta, NULL));
        assert_ok(stash_value_get_int(meta, &n));
        assert_int_equal(n, (int64_t)i);
        stash_value_free(&meta);
        stash_array_desc d;
        int64_t *data = NULL;
        assert_ok(stash_nco_array_read(nco, i, &d, (void **)&data));
        assert_int_equal(data[1], (int64_t)i + 1);
        free(data);
    }
    stash_nco_close(&nco);
}

/* A batch creates the file with its first object, commits each add at once
 * (a reader walks to them), and writes the index once, at close. */
static void test_a_batch_appends_under_one_lock_and_indexes_at_close(void **state)
{
    (void)state;
    const char *path = path_in(dir, "batch.nco");
    stash_nco_batch *b = NULL;
    assert_ok(stash_nco_batch_open(path, 0, &b));
    assert_int_equal(access(path, F_OK), -1); /* nothing until the first add */
    for (int64_t i = 0; i < 50; i++)
        assert_ok(add_numbered(b, i));
    expect_numbered(path, 50, STASH_NCO_INDEX_WALKED);
    /* A refused add changes nothing and leaves the batch usable. */
    stash_value *bad;
    stash_array_desc d = nengo_desc();
    assert_ok(stash_value_new_list(&bad));
    d.dtype = STASH_DTYPE_COUNT;
    assert_int_equal(stash_nco_batch_add(b, bad, &d, nengo_array), STASH_E_INVALID);
    stash_value_free(&bad);
    for (int64_t i = 50; i < 100; i++)
        assert_ok(add_numbered(b, i));
    assert_ok(stash_nco_batch_close(&b));
    assert_null(b);
    expect_numbered(path, 100, STASH_NCO_INDEX_USED);
    /* A second batch goes on from the end, past a torn tail. */
    FILE *f = fopen(path, "ab");
    fwrite("NCX torn", 1, 8, f);
    fclose(f);
    assert_ok(stash_nco_batch_open(path, STASH_NCO_DURABLE, &b));
    assert_ok(add_numbered(b, 100));
    assert_ok(stash_nco_batch_close(&b));
    expect_numbered(path, 101, STASH_NCO_INDEX_USED);
    assert_ok(stash_nco_batch_close(&b)); /* NULL: a no-op */
    assert_int_equal(stash_nco_batch_add(NULL, NULL, &d, nengo_array), STASH_E_CLOSED);
    assert_int_equal(stash_nco_batch_open(path, 1u << 9, &b), STASH_E_INVALID);
}

static void test_files_without_a_committed_object_are_not_nco_files(void **state)
{
    (void)state;
    static const unsigned char zeros[100];
    stash_nco *nco = NULL;
    assert_int_equal(open_bytes("empty.nco", "", 0, &nco), STASH_E_CORRUPT);
    assert_int_equal(open_bytes("zeros.nco", zeros, sizeof zeros, &nco), STASH_E_CORRUPT);
    assert_int_equal(open_bytes("text.nco", "hello, world\n", 13, &nco), STASH_E_CORRUPT);
    assert_null(nco);
    const char *empty = path_in(dir, "empty.nco");
    assert_int_equal(stash_nco_open(empty, 0, &nco), STASH_E_CORRUPT);
    assert_int_equal(stash_nco_open(empty, STASH_NCO_NO_MAP, &nco), STASH_E_CORRUPT);
    assert_int_equal(stash_nco_open(path_in(dir, "missing.nco"), 0, &nco), -ENOENT);
    /* An appender takes an empty file, or a first append that never committed, as an empty chain. */
    append_objects(empty, 1);
    const char *blank = path_in(dir, "zeros.nco");
    append_objects(blank, 1);
    size_t count;
    assert_int_equal(index_state_of(empty, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 1);
    assert_int_equal(index_state_of(blank, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 1);
}

/* An index of no objects beside a damaged file changes nothing: the open says what is wrong. */
static void test_an_empty_index_does_not_hide_why_a_file_is_bad(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = object_bytes("null", &len);
    stash_bytes_store_u64le(b + 16, 8); /* metadata ends before it starts */
    stash_nco *nco = NULL;
    assert_int_equal(open_bytes("empty-index.nco", b, len, &nco), STASH_E_RANGE);
    const char *path = path_in(dir, "empty-index.nco");
    forge_index(path, NULL, 0);
    assert_int_equal(stash_nco_open(path, 0, &nco), STASH_E_RANGE);
    assert_null(nco);
    free(b);
}

/* Opening, in every way, and reading every part of every object, leaves the directory as it was. */
static void test_reading_never_writes_an_index(void **state)
{
    (void)state;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s", path_in(dir, "read-only-use"));
    assert_int_equal(mkdir(sub, 0777), 0);
    char path[4200], index[4300];
    snprintf(path, sizeof path, "%s/chain.nco", sub);
    snprintf(index, sizeof index, "%s.stashidx", path);
    append_objects(path, 3);
    write_at_the_end(path, 3); /* the index is stale now */
    unlink(index);
    const unsigned ways[] = {0, STASH_NCO_NO_INDEX, STASH_NCO_NO_MAP};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        stash_nco *nco;
        assert_ok(stash_nco_open(path, ways[w], &nco));
        for (size_t i = 0; i < 4; i++) {
            stash_value *meta = NULL;
            stash_array_desc d;
            void *data = NULL;
            assert_ok(stash_nco_meta(nco, i, &meta, NULL));
            assert_ok(stash_nco_array_read(nco, i, &d, &data));
            stash_value_free(&meta);
            free(data);
        }
        stash_nco_close(&nco);
    }
    assert_int_equal(dir_entry_count(sub), 1);
    assert_int_equal(access(index, F_OK), -1);
}

/* The first append to a missing file links in a whole object: the file never exists without one. */
static void test_a_first_append_creates_the_file_whole(void **state)
{
    (void)state;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s", path_in(dir, "first-append"));
    assert_int_equal(mkdir(sub, 0777), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/new.nco", sub);
    append_objects(path, 1);
    assert_int_equal(dir_entry_count(sub), 2); /* the file and its index, no temporary */
    size_t count;
    assert_int_equal(index_state_of(path, &count), STASH_NCO_INDEX_USED);
    assert_int_equal(count, 1);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/no-such-dir/new.nco", sub);
    stash_array_desc d = nengo_desc();
    assert_int_equal(stash_nco_append(missing, NULL, &d, nengo_array, 0), -ENOENT);
}

/*
 * Appenders in several processes, starting together on a missing file: one
 * creates it, the others append to it, and every object lands once, whole,
 * in an index that lists them all.
 */
static void test_appenders_racing_to_create_a_file_lose_nothing(void **state)
{
    (void)state;
    enum { WRITERS = 4, EACH = 25 };
    const char *path = path_in(dir, "race.nco");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char byte;
            close(go[1]);
            int ok = read(go[0], &byte, 1) == 0; /* the parent closing its end starts everyone */
            stash_array_desc d = nengo_desc();
            for (int k = 0; ok && k < EACH; k++) {
                stash_value *meta = NULL;
                ok = stash_value_new_int(w * 1000 + k, &meta) == STASH_OK &&
                     stash_nco_append(path, meta, &d, nengo_array, 0) == STASH_OK;
                stash_value_free(&meta);
            }
            _exit(ok ? 0 : 1);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stash_nco *nco;
    stash_nco_info info;
    assert_ok(stash_nco_open(path, 0, &nco));
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, WRITERS * EACH);
    assert_int_equal(info.index, STASH_NCO_INDEX_USED);
    int seen[WRITERS][EACH] = {{0}};
    for (size_t i = 0; i < info.count; i++) {
        stash_value *meta = NULL;
        int64_t n;
        stash_array_desc d;
        const void *data;
        assert_ok(stash_nco_meta(nco, i, &meta, NULL));
        assert_ok(stash_value_get_int(meta, &n));
        stash_value_free(&meta);
        assert_true(n >= 0 && n / 1000 < WRITERS && n % 1000 < EACH);
        seen[n / 1000][n % 1000]++;
        assert_ok(stash_nco_array(nco, i, &d, &data));
        assert_memory_equal(data, nengo_array, sizeof nengo_array);
    }
    for (int w = 0; w < WRITERS; w++)
        for (int k = 0; k < EACH; k++)
            assert_int_equal(seen[w][k], 1);
    stash_nco_close(&nco);
}

/* Copies of an object's parts, from a mapped handle and from a pread one, are the same bytes. */
static void test_copies_match_the_mapping_and_pread_handles_refuse_zero_copy(void **state)
{
    (void)state;
    const char *path = path_in(dir, "copies.nco");
    append_objects(path, 3);
    stash_nco *mapped, *pread_only;
    assert_ok(stash_nco_open(path, 0, &mapped));
    assert_ok(stash_nco_open(path, STASH_NCO_NO_MAP, &pread_only));
    for (size_t i = 0; i < 3; i++) {
        stash_array_desc a, b, c;
        const void *view, *pickle_view;
        void *x = NULL, *y = NULL, *p = NULL, *q = NULL;
        size_t pickle_len, p_len, q_len;
        assert_ok(stash_nco_array(mapped, i, &a, &view));
        assert_ok(stash_nco_array_read(mapped, i, &b, &x));
        assert_ok(stash_nco_array_read(pread_only, i, &c, &y));
        uint64_t nbytes;
        assert_ok(stash_array_nbytes(&a, &nbytes));
        assert_memory_equal(&a, &b, sizeof a);
        assert_memory_equal(&a, &c, sizeof a);
        assert_memory_equal(view, x, nbytes);
        assert_memory_equal(view, y, nbytes);
        assert_ok(stash_nco_array_read(pread_only, i, &c, NULL)); /* the description alone */
        assert_ok(stash_nco_meta_bytes(mapped, i, &pickle_view, &pickle_len));
        assert_ok(stash_nco_meta_bytes_read(mapped, i, &p, &p_len));
        assert_ok(stash_nco_meta_bytes_read(pread_only, i, &q, &q_len));
        assert_int_equal(p_len, pickle_len);
        assert_int_equal(q_len, pickle_len);
        assert_memory_equal(p, pickle_view, pickle_len);
        assert_memory_equal(q, pickle_view, pickle_len);
        free(x);
        free(y);
        free(p);
        free(q);
        check_object(pread_only, i); /* meta and array, through copies */
        assert_int_equal(stash_nco_array(pread_only, i, &a, &view), STASH_E_UNSUPPORTED);
        assert_int_equal(stash_nco_meta_bytes(pread_only, i, &pickle_view, &pickle_len),
                         STASH_E_UNSUPPORTED);
    }
    stash_array_desc d;
    void *none = NULL;
    assert_int_equal(stash_nco_array_read(pread_only, 3, &d, &none), STASH_E_NOT_FOUND);
    assert_int_equal(stash_nco_array_read(pread_only, 0, NULL, &none), STASH_E_INVALID);
    assert_null(none);
    stash_nco_close(&mapped);
    stash_nco_close(&pread_only);
}

/*
 * Another process truncating the file - as `cp` over it does, before it
 * writes - while a pread handle reads it: a clear STASH_E_TRUNCATED, never
 * SIGBUS. (A mapped handle would be killed touching the lost pages.)
 */
static void test_a_file_truncated_by_another_process_reads_as_truncated(void **state)
{
    (void)state;
    const char *path = path_in(dir, "cut.nco");
    uint64_t shape[1] = {4096};
    double *values = calloc(4096, sizeof *values);
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, shape));
    assert_ok(stash_nco_pack(path, NULL, &d, values, 0));
    assert_ok(stash_nco_append(path, NULL, &d, values, 0));
    free(values);
    stash_nco *nco;
    assert_ok(stash_nco_open(path, STASH_NCO_NO_MAP, &nco));
    stash_nco_object second;
    assert_ok(stash_nco_object_at(nco, 1, &second));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) /* cut inside object 1's array, as a cp over it would at first */
        _exit(truncate(path, (off_t)(second.array_end - 1000)) == 0 ? 0 : 1);
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    void *data = NULL;
    assert_int_equal(stash_nco_array_read(nco, 1, &d, &data), STASH_E_TRUNCATED);
    assert_null(data);
    assert_ok(stash_nco_array_read(nco, 0, &d, &data)); /* what is still there reads */
    free(data);
    /* Cut to nothing: even the headers are gone. */
    assert_int_equal(truncate(path, 0), 0);
    stash_nco_object o;
    assert_int_equal(stash_nco_object_at(nco, 0, &o), STASH_E_TRUNCATED);
    stash_value *meta = NULL;
    assert_int_equal(stash_nco_meta(nco, 0, &meta, NULL), STASH_E_TRUNCATED);
    stash_nco_close(&nco);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nengo_round_trip),
        cmocka_unit_test(test_bad_magic_and_version_are_refused),
        cmocka_unit_test(test_layout_is_nengos_with_zero_padding),
        cmocka_unit_test(test_chains_are_found_by_index_and_by_walking),
        cmocka_unit_test(test_stale_or_damaged_indexes_are_walked_past_until_the_next_append),
        cmocka_unit_test(test_a_forged_index_cannot_misattribute_an_object),
        cmocka_unit_test(test_an_index_made_before_the_last_commit_hides_nothing),
        cmocka_unit_test(test_lying_offsets_get_clear_statuses),
        cmocka_unit_test(test_npy_inside_is_checked_too),
        cmocka_unit_test(test_uncommitted_tails_are_ignored_then_dropped),
        cmocka_unit_test(test_unsafe_metadata_leaves_the_array_usable),
        cmocka_unit_test(test_failed_appends_change_nothing),
        cmocka_unit_test(test_an_append_that_fails_midway_leaves_no_tail),
        cmocka_unit_test(test_a_batch_appends_under_one_lock_and_indexes_at_close),
        cmocka_unit_test(test_files_without_a_committed_object_are_not_nco_files),
        cmocka_unit_test(test_an_empty_index_does_not_hide_why_a_file_is_bad),
        cmocka_unit_test(test_reading_never_writes_an_index),
        cmocka_unit_test(test_a_first_append_creates_the_file_whole),
        cmocka_unit_test(test_appenders_racing_to_create_a_file_lose_nothing),
        cmocka_unit_test(test_copies_match_the_mapping_and_pread_handles_refuse_zero_copy),
        cmocka_unit_test(test_a_file_truncated_by_another_process_reads_as_truncated),
    };
    return cmocka_run_group_tests_name("nco", tests, make_dir, NULL);
}
