/*
 * Limits: hostile inputs that claim huge sizes, nest a million deep, loop
 * back on themselves, or reach outside the store each get a clear status,
 * in bounded time and memory.
 *
 * Every refusal runs in a child process with an alarm (hang_seconds: a
 * hang detector, generous enough that no load or valgrind reaches it; it
 * is no speed test) and, outside AddressSanitizer and valgrind, an
 * address-space limit of what the child already uses plus LIMIT_HEADROOM: an allocation near what the input
 * claims fails there, so the call returns -ENOMEM instead of the status
 * the test expects, or dies. Under AddressSanitizer (which reserves
 * terabytes of address space, so RLIMIT_AS cannot be used) an allocation
 * of that size aborts the child instead; under valgrind (whose own
 * allocator shares the child's address space, which a cap starves) only
 * the resident-size check below holds it. Either way the child's peak
 * resident size may not grow by more than LIMIT_HEADROOM, and a stack
 * overflow or hang kills it, which fails the test. STASH_LIMITS_VERBOSE=1
 * prints every call's status, memory and time.
 */
#include "test_util.h"

#include <stash/nco.h>
#include <stash/npy.h>
#include <stash/pickle.h>
#include <stash/ring.h>
#include <stash/store.h>
#include <stash/value.h>

#include "ring/ring_layout.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <xxhash.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A call that takes this long hangs; valgrind slows calls some 30 times. */
#define HANG_SECONDS 120
#define LIMIT_HEADROOM ((uint64_t)256 << 20)
#define HUGE_SIDE "1073741824" /* 2^30: (2^30, 2^30) is 2^60 elements */

static const char *dir;

/* ---- Bounded calls ------------------------------------------------------------------------ */

typedef stash_status (*bounded_fn)(const void *ctx);

struct bounded_result {
    stash_status status;
    long rss_growth_kib;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

static unsigned hang_seconds(void)
{
    return under_valgrind() ? 10 * HANG_SECONDS : HANG_SECONDS;
}

static void limit_address_space(void)
{
    if (under_valgrind())
        return;
#ifndef UNDER_ASAN
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    uint64_t used = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
    struct rlimit cap = {used + LIMIT_HEADROOM, used + LIMIT_HEADROOM};
    setrlimit(RLIMIT_AS, &cap);
#endif
}

/* fn(ctx) in a child with a time limit and a memory cap; fails the test if the child dies. */
static stash_status bounded(const char *what, bounded_fn fn, const void *ctx)
{
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    double t0 = now_s();
    fflush(NULL); /* a child must not print what this process has buffered */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipes[0]);
        alarm(hang_seconds());
        limit_address_space();
        long before = peak_rss_kib();
        struct bounded_result r;
        memset(&r, 0, sizeof r); /* its padding goes down the pipe too */
        r.status = fn(ctx);
        r.rss_growth_kib = peak_rss_kib() - before;
        _exit(write(pipes[1], &r, sizeof r) == sizeof r ? 0 : 1);
    }
    close(pipes[1]);
    struct bounded_result r = {0};
    ssize_t got = read(pipes[0], &r, sizeof r);
    close(pipes[0]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    double seconds = now_s() - t0;
    if (WIFSIGNALED(status))
        fail_msg("%s: the call died of signal %d (%s) after %.2f s", what, WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? "took too long" : strsignal(WTERMSIG(status)),
                 seconds);
    if (got != (ssize_t)sizeof r)
        fail_msg("%s: the call died with exit status %d after %.2f s (a sanitizer's report "
                 "above?)", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds);
    if ((uint64_t)r.rss_growth_kib * 1024 > LIMIT_HEADROOM)
        fail_msg("%s: the call grew the resident set by %ld KiB", what, r.rss_growth_kib);
    if (r.rss_growth_kib > 16 * 1024 || getenv("STASH_LIMITS_VERBOSE"))
        print_message("  %s: %s, %ld KiB of memory, %.2f s\n", what, stash_strerror(r.status),
                      r.rss_growth_kib, seconds);
    return r.status;
}

#define expect_bounded(want, fn, ctx)                                                        \
    do {                                                                                     \
        stash_status got_ = bounded(#fn, fn, ctx);                                           \
        if (got_ != (want))                                                                  \
            fail_msg("%s: %s, expected %s", #fn, stash_strerror(got_), stash_strerror(want)); \
    } while (0)

/* ---- Huge arrays: NPY files, NCO objects, dir: entries ---------------------------------- */

/* An NPY 1.0 file: magic, the dict padded to a 64-byte boundary, then data_bytes zeros. */
static size_t npy_file(const char *dict, size_t data_bytes, unsigned char *out, size_t cap)
{
    size_t text = strlen(dict);
    size_t header = (10 + text + 1 + 63) / 64 * 64 - 10;
    assert_true(10 + header + data_bytes <= cap && header <= 0xffff);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(header & 0xff);
    out[9] = (unsigned char)(header >> 8);
    memcpy(out + 10, dict, text);
    memset(out + 10 + text, ' ', header - text - 1);
    out[10 + header - 1] = '\n';
    memset(out + 10 + header, 0, data_bytes);
    return 10 + header + data_bytes;
}

static stash_status load_npy(const void *path)
{
    stash_array_desc d;
    void *data = NULL;
    stash_status st = stash_npy_load(path, &d, &data);
    free(data);
    return st;
}

static stash_status map_npy(const void *path)
{
    stash_npy_map *map = NULL;
    stash_status st = stash_npy_map_open(path, &map);
    stash_npy_map_close(&map);
    return st;
}

static stash_status read_npy_header(const void *path)
{
    stash_stream *s;
    stash_status st = stash_stream_open_file(path, "r", &s);
    stash_npy_header h;
    if (st == STASH_OK)
        st = stash_npy_read_header(s, &h);
    stash_stream_close(&s);
    return st;
}

static void test_npy_claiming_2_to_the_60_elements_is_refused(void **state)
{
    (void)state;
    unsigned char buf[512];
    const char *path = path_in(dir, "huge-u1.npy");
    /* 2^60 one-byte elements fit in 63 bits: the file is just too short for them. */
    write_file(path, buf,
               npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (" HUGE_SIDE ", "
                        HUGE_SIDE "), }", 64, buf, sizeof buf));
    expect_bounded(STASH_E_TRUNCATED, load_npy, path);
    expect_bounded(STASH_E_TRUNCATED, map_npy, path);
    expect_bounded(STASH_E_TRUNCATED, read_npy_header, path);
    /* 2^60 eight-byte elements are 2^63 bytes: no size at all. */
    path = path_in(dir, "huge-f8.npy");
    write_file(path, buf,
               npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (" HUGE_SIDE ", "
                        HUGE_SIDE "), }", 64, buf, sizeof buf));
    expect_bounded(STASH_E_RANGE, load_npy, path);
    expect_bounded(STASH_E_RANGE, map_npy, path);
    expect_bounded(STASH_E_RANGE, read_npy_header, path);
    /* A shape whose element count overflows 64 bits. */
    path = path_in(dir, "overflow.npy");
    write_file(path, buf,
               npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (" HUGE_SIDE ", "
                        HUGE_SIDE ", " HUGE_SIDE "), }", 64, buf, sizeof buf));
    expect_bounded(STASH_E_RANGE, load_npy, path);
    expect_bounded(STASH_E_RANGE, map_npy, path);
}

/*
 * Rewrites the shape in the NPY header found in bytes (len of them) to
 * shape_text, keeping the header's length: the padding absorbs it.
 */
static void rewrite_npy_shape(unsigned char *bytes, size_t len, const char *shape_text)
{
    unsigned char *magic = NULL;
    for (size_t i = 0; i + 10 <= len && !magic; i++)
        if (memcmp(bytes + i, "\x93NUMPY\x01\x00", 8) == 0)
            magic = bytes + i;
    assert_non_null(magic);
    size_t header = (size_t)magic[8] | (size_t)magic[9] << 8;
    char *text = (char *)magic + 10;
    char *shape = memmem(text, header, "'shape': (", 10);
    assert_non_null(shape);
    char rebuilt[512];
    int n = snprintf(rebuilt, sizeof rebuilt, "%.*s'shape': %s, }", (int)(shape - text), text,
                     shape_text);
    assert_true(n > 0 && (size_t)n < header);
    memset(text, ' ', header - 1);
    memcpy(text, rebuilt, (size_t)n);
}

/* An NCO file of one object: metadata, and a float64 or uint8 array whose shape is then forged. */
static void write_forged_nco(const char *path, stash_dtype dtype, const char *shape_text)
{
    stash_stream *s;
    stash_value *meta;
    const char *json = "{\"solver\": \"lstsq\"}";
    assert_ok(stash_value_from_json(json, strlen(json), &meta, NULL));
    stash_array_desc d;
    uint64_t four = 4;
    double data[4] = {1, 2, 3, 4};
    assert_ok(stash_array_desc_init(&d, dtype, 1, &four));
    assert_ok(stash_stream_open_growable(1024, &s));
    assert_ok(stash_nco_write(s, meta, &d, data, NULL));
    const void *bytes;
    size_t len;
    assert_ok(stash_stream_memory_contents(s, &bytes, &len));
    unsigned char *copy = malloc(len);
    memcpy(copy, bytes, len);
    rewrite_npy_shape(copy, len, shape_text);
    write_file(path, copy, len);
    free(copy);
    stash_stream_close(&s);
    stash_value_free(&meta);
}

static stash_status nco_array_0(const void *path)
{
    stash_nco *nco = NULL;
    stash_status st = stash_nco_open(path, 0, &nco);
    stash_array_desc d;
    const void *data;
    if (st == STASH_OK)
        st = stash_nco_array(nco, 0, &d, &data);
    stash_nco_close(&nco);
    return st;
}

static stash_status nco_meta_0(const void *path)
{
    stash_nco *nco = NULL;
    stash_status st = stash_nco_open(path, 0, &nco);
    stash_value *meta = NULL;
    if (st == STASH_OK)
        st = stash_nco_meta(nco, 0, &meta, NULL);
    stash_value_free(&meta);
    stash_nco_close(&nco);
    return st;
}

static void test_nco_object_claiming_2_to_the_60_elements_is_refused(void **state)
{
    (void)state;
    const char *path = path_in(dir, "huge-u1.nco");
    write_forged_nco(path, STASH_DTYPE_UINT8, "(" HUGE_SIDE ", " HUGE_SIDE ")");
    expect_bounded(STASH_E_TRUNCATED, nco_array_0, path);
    expect_bounded(STASH_OK, nco_meta_0, path); /* the rest of the object is still good */
    path = path_in(dir, "huge-f8.nco");
    write_forged_nco(path, STASH_DTYPE_FLOAT64, "(" HUGE_SIDE ", " HUGE_SIDE ")");
    expect_bounded(STASH_E_RANGE, nco_array_0, path);
}

static stash_status get_from_dir_store(const void *uri)
{
    stash_store *s = NULL;
    stash_status st = stash_store_open(uri, NULL, &s);
    stash_value *v = NULL;
    if (st == STASH_OK)
        st = stash_store_get(s, "weights", &v);
    stash_value_free(&v);
    stash_store_close(&s);
    return st;
}

/* A dir: entry is an NCO file: one whose array claims 2^60 elements is damage, not a value. */
static void test_store_entry_claiming_2_to_the_60_elements_is_refused(void **state)
{
    (void)state;
    char uri[4200];
    snprintf(uri, sizeof uri, "dir:%s", path_in(dir, "huge-entry"));
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_value *v;
    stash_array_desc d;
    uint64_t count = 600; /* more than 4 KiB: the entry is mapped, not read */
    double *data = calloc(count, sizeof *data);
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, &count));
    assert_ok(stash_value_new_array(&d, data, &v));
    free(data);
    assert_ok(stash_store_put(s, "weights", v));
    stash_value_free(&v);
    stash_store_close(&s);
    char entry[4200];
    snprintf(entry, sizeof entry, "%s/weights.nco", path_in(dir, "huge-entry"));
    long size = file_size(entry);
    assert_true(size > 0 && size < 65536);
    unsigned char bytes[65536];
    assert_int_equal(read_file(entry, bytes, sizeof bytes), (size_t)size);
    rewrite_npy_shape(bytes, (size_t)size, "(" HUGE_SIDE ", " HUGE_SIDE ")");
    write_file(entry, bytes, (size_t)size);
    stash_status st = bounded("get of the forged entry", get_from_dir_store, uri);
    if (st != STASH_E_RANGE && st != STASH_E_CORRUPT && st != STASH_E_TRUNCATED)
        fail_msg("forged entry: %s", stash_strerror(st));
}

/* ---- Pickles and JSON a million deep ----------------------------------------------------- */

struct blob {
    const void *bytes;
    size_t len;
};

static stash_status read_pickle_blob(const void *ctx)
{
    const struct blob *b = ctx;
    stash_value *v = NULL;
    stash_status st = stash_pickle_read(b->bytes, b->len, NULL, &v, NULL);
    stash_value_free(&v);
    return st;
}

static stash_status read_pickle_gives_an_empty_list(const void *ctx)
{
    const struct blob *b = ctx;
    stash_value *v = NULL;
    stash_status st = stash_pickle_read(b->bytes, b->len, NULL, &v, NULL);
    if (st == STASH_OK && (stash_value_kind_of(v) != STASH_VALUE_LIST || stash_value_length(v)))
        st = STASH_E_CORRUPT;
    stash_value_free(&v);
    return st;
}

static stash_status read_json_blob(const void *ctx)
{
    const struct blob *b = ctx;
    stash_value *v = NULL;
    stash_status st = stash_value_from_json(b->bytes, b->len, &v, NULL);
    stash_value_free(&v);
    return st;
}

/* prefix, then the byte fill count times, then suffix. */
static struct blob repeated(const char *prefix, size_t prefix_len, char fill, size_t count,
                            const char *suffix, size_t suffix_len)
{
    char *p = malloc(prefix_len + count + suffix_len);
    assert_non_null(p);
    memcpy(p, prefix, prefix_len);
    memset(p + prefix_len, fill, count);
    memcpy(p + prefix_len + count, suffix, suffix_len);
    return (struct blob){p, prefix_len + count + suffix_len};
}

static void test_a_million_nested_lists_hit_the_depth_limit(void **state)
{
    (void)state;
    const size_t million = 1000000;
    /* Protocol 2: PROTO 2, then EMPTY_LIST a million times, each APPENDed into the one before. */
    char *p = malloc(2 + 2 * million + 1);
    size_t n = 0;
    p[n++] = '\x80';
    p[n++] = '\x02';
    for (size_t i = 0; i < million; i++)
        p[n++] = ']';
    for (size_t i = 1; i < million; i++)
        p[n++] = 'a';
    p[n++] = '.';
    struct blob nested = {p, n};
    expect_bounded(STASH_E_LIMIT, read_pickle_blob, &nested);
    free(p);
    /* The same as MARK ... LIST, a million deep. */
    p = malloc(2 + 2 * million + 1);
    n = 0;
    p[n++] = '\x80';
    p[n++] = '\x02';
    for (size_t i = 0; i < million; i++)
        p[n++] = '(';
    for (size_t i = 0; i < million; i++)
        p[n++] = 'l';
    p[n++] = '.';
    struct blob marked = {p, n};
    expect_bounded(STASH_E_LIMIT, read_pickle_blob, &marked);
    free(p);
    /* A million EMPTY_LISTs left on the stack at STOP: Python returns the top one, []. */
    struct blob flat = repeated("\x80\x02", 2, ']', million, ".", 1);
    expect_bounded(STASH_OK, read_pickle_gives_an_empty_list, &flat);
    free((void *)flat.bytes);
    stash_status st;
    /* A million unclosed MARKs, and a million nested JSON arrays. */
    struct blob marks = repeated("\x80\x02", 2, '(', million, ".", 1);
    st = bounded("a million MARKs", read_pickle_blob, &marks);
    if (st != STASH_E_CORRUPT && st != STASH_E_LIMIT)
        fail_msg("a million MARKs: %s", stash_strerror(st));
    free((void *)marks.bytes);
    struct blob brackets = repeated("", 0, '[', million, "", 0);
    st = bounded("a million [", read_json_blob, &brackets);
    if (st != STASH_E_CORRUPT && st != STASH_E_LIMIT)
        fail_msg("a million [: %s", stash_strerror(st));
    free((void *)brackets.bytes);
}

/* The nested pickle as an NCO object's metadata: refused, and the array still reads. */
static void test_nco_metadata_a_million_deep_is_refused_and_the_array_kept(void **state)
{
    (void)state;
    const char *path = path_in(dir, "deep-meta.nco");
    const size_t million = 1000000;
    unsigned char *nco = calloc(1, 64 + 2 * million + 64 + 256);
    size_t meta_start = 48, n = meta_start;
    nco[n++] = 0x80;
    nco[n++] = 0x02;
    for (size_t i = 0; i < million; i++)
        nco[n++] = ']';
    for (size_t i = 1; i < million; i++)
        nco[n++] = 'a';
    nco[n++] = '.';
    size_t meta_end = n, array_start = (n + 63) / 64 * 64;
    unsigned char npy[256];
    size_t npy_len = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16,
                              npy, sizeof npy);
    memcpy(nco + array_start, npy, npy_len);
    size_t array_end = array_start + npy_len;
    memcpy(nco, "NCO", 3);
    uint64_t offsets[4] = {meta_start, meta_end, array_start, array_end};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            nco[8 + 8 * i + b] = (unsigned char)(offsets[i] >> (8 * b));
    write_file(path, nco, array_end);
    free(nco);
    expect_bounded(STASH_E_LIMIT, nco_meta_0, path);
    expect_bounded(STASH_OK, nco_array_0, path);
}

/* ---- NCO chains that point back ----------------------------------------------------------- */

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

/* One valid object as stash writes it; *len its size (a malloc'd buffer with room for more). */
static unsigned char *valid_object(size_t *len, size_t room)
{
    stash_stream *s;
    stash_array_desc d;
    uint64_t two = 2;
    double data[2] = {1, 2};
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, &two));
    assert_ok(stash_stream_open_growable(512, &s));
    assert_ok(stash_nco_write(s, NULL, &d, data, NULL));
    const void *bytes;
    assert_ok(stash_stream_memory_contents(s, &bytes, len));
    unsigned char *copy = calloc(1, *len + room);
    memcpy(copy, bytes, *len);
    stash_stream_close(&s);
    return copy;
}

/* What stash_nco_open says of the file at path. */
static stash_status nco_info_of(const char *path, stash_nco_info *info)
{
    stash_nco *nco = NULL;
    stash_status st = stash_nco_open(path, 0, &nco);
    if (st != STASH_OK)
        return st;
    stash_nco_info_get(nco, info);
    stash_nco_close(&nco);
    return STASH_OK;
}

static stash_status open_chain(const void *ctx)
{
    stash_nco_info info;
    stash_status st = nco_info_of(ctx, &info);
    if (st != STASH_OK)
        return st;
    /* One object, then a tail that is refused for its offsets. */
    return info.count == 1 && info.tail_status == STASH_E_RANGE ? STASH_OK : STASH_E_CORRUPT;
}

static void test_nco_chains_pointing_back_end_at_once(void **state)
{
    (void)state;
    size_t len;
    unsigned char *bytes = valid_object(&len, 64);
    /* Object 1 at len claims its metadata starts inside object 0 and its array ends at itself. */
    unsigned char *next = bytes + len;
    memcpy(next, "NCO", 3);
    put_u64le(next + 8, 0);         /* meta_start: back at object 0 */
    put_u64le(next + 16, len);      /* meta_end */
    put_u64le(next + 24, len);      /* array_start */
    put_u64le(next + 32, len);      /* array_end: its own start, the chain would stand still */
    const char *path = path_in(dir, "loop-back.nco");
    write_file(path, bytes, len + 64);
    expect_bounded(STASH_OK, open_chain, path); /* one object, then a tail refused as RANGE */
    /* An object whose array ends before its own header: meta and array start at itself. */
    put_u64le(next + 8, len + 40);
    put_u64le(next + 16, len + 40);
    put_u64le(next + 24, len + 40);
    put_u64le(next + 32, 0); /* array_end < array_start: points back to offset 0 */
    path = path_in(dir, "ends-before.nco");
    write_file(path, bytes, len + 64);
    expect_bounded(STASH_OK, open_chain, path);
    /* The first object itself pointing back to offset 0: the file is refused. */
    put_u64le(bytes + 32, 0);
    path = path_in(dir, "first-loops.nco");
    write_file(path, bytes, len + 64);
    expect_bounded(STASH_E_RANGE, nco_array_0, path);
    free(bytes);
}

/* An index whose entries repeat or go backwards, with a valid checksum and identity, is unused. */
static void write_index(const char *path, const uint64_t *starts, size_t n)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    unsigned char buf[64 + 8 * 8];
    assert_true(n <= 8);
    memset(buf, 0, sizeof buf);
    memcpy(buf, "STASHIDX", 8);
    buf[8] = 1;
    put_u64le(buf + 16, (uint64_t)st.st_size);
    put_u64le(buf + 24, (uint64_t)st.st_ino);
    put_u64le(buf + 32, (uint64_t)st.st_mtim.tv_sec);
    put_u64le(buf + 40, (uint64_t)st.st_mtim.tv_nsec);
    put_u64le(buf + 48, n);
    for (size_t i = 0; i < n; i++)
        put_u64le(buf + 64 + 8 * i, starts[i]);
    put_u64le(buf + 56, XXH3_64bits_withSeed(buf + 64, 8 * n, XXH3_64bits(buf, 56)));
    char index[4200];
    snprintf(index, sizeof index, "%s.stashidx", path);
    write_file(index, buf, 64 + 8 * n);
}

static stash_status open_two_objects_through_the_index(const void *ctx)
{
    stash_nco_info info;
    stash_status st = nco_info_of(ctx, &info);
    if (st != STASH_OK)
        return st;
    return info.count == 2 && info.index == STASH_NCO_INDEX_WALKED ? STASH_OK : STASH_E_CORRUPT;
}

static void test_nco_indexes_pointing_back_are_not_used(void **state)
{
    (void)state;
    const char *path = path_in(dir, "index-loop.nco");
    uint64_t two = 2;
    double data[2] = {1, 2};
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, &two));
    assert_ok(stash_nco_append(path, NULL, &d, data, 0));
    uint64_t second = (uint64_t)file_size(path);
    assert_ok(stash_nco_append(path, NULL, &d, data, 0));
    const uint64_t repeating[] = {0, second, second, second, second, second, second, second};
    write_index(path, repeating, 8);
    expect_bounded(STASH_OK, open_two_objects_through_the_index, path);
    const uint64_t backwards[] = {second, 0};
    write_index(path, backwards, 2);
    expect_bounded(STASH_OK, open_two_objects_through_the_index, path);
    const uint64_t to_itself[] = {0, 0};
    write_index(path, to_itself, 2);
    expect_bounded(STASH_OK, open_two_objects_through_the_index, path);
}

/* ---- Ring headers and configurations of absurd capacity -------------------------------- */

struct ring_forgery {
    const char *name;
    uint64_t capacity;
    bool set_data_bytes;
    uint64_t data_bytes;
};

static stash_status attach_ring(const void *ctx)
{
    stash_ring *r = NULL;
    stash_status st = stash_ring_attach(ctx, 0, &r);
    if (st == STASH_OK) {
        /* Accepted: then every view must stay inside the mapping (it would fault if not). */
        const void *frames;
        stash_ring_view(r, 0, 0, &frames);
        stash_ring_close(&r);
    }
    return st;
}

static void forge_ring(const struct ring_forgery *f)
{
    stash_ring_config cfg = {.channels = 4, .capacity_samples = 1024,
                             .dtype = STASH_DTYPE_FLOAT32}; /* 16-byte frames, 16 KiB of data */
    stash_ring *r = NULL;
    unlink(f->name);
    assert_ok(stash_ring_create(f->name, &cfg, &r));
    assert_ok(stash_ring_close(&r));
    int fd = open(f->name, O_RDWR);
    assert_true(fd >= 0);
    unsigned char field[8];
    put_u64le(field, f->capacity);
    assert_int_equal(pwrite(fd, field, 8, offsetof(struct ring_header, capacity_samples)), 8);
    if (f->set_data_bytes) {
        put_u64le(field, f->data_bytes);
        assert_int_equal(pwrite(fd, field, 8, offsetof(struct ring_header, data_bytes)), 8);
    }
    close(fd);
}

static void test_ring_headers_with_absurd_capacities_are_refused(void **state)
{
    (void)state;
    const char *name = path_in(dir, "forged.ring");
    const uint64_t frame = 16;
    const struct ring_forgery forgeries[] = {
        {name, 0, false, 0},
        {name, 0, true, 0},                         /* capacity 0 with a size that agrees */
        {name, UINT64_C(1) << 62, false, 0},
        {name, UINT64_C(1) << 62, true, (UINT64_C(1) << 62) * frame}, /* the product wraps to 0 */
        /* 2^60 + 1024 samples of 16 bytes wrap around 2^64 to exactly the real 16 KiB. */
        {name, (UINT64_C(1) << 60) + 1024, true, ((UINT64_C(1) << 60) + 1024) * frame},
        {name, UINT64_MAX, false, 0},
    };
    for (size_t i = 0; i < sizeof forgeries / sizeof *forgeries; i++) {
        forge_ring(&forgeries[i]);
        stash_status st = bounded("attach to a forged ring", attach_ring, name);
        if (st != STASH_E_CORRUPT && st != STASH_E_RANGE && st != STASH_E_TRUNCATED)
            fail_msg("capacity %llu (data_bytes %s %llu): %s",
                     (unsigned long long)forgeries[i].capacity,
                     forgeries[i].set_data_bytes ? "set to" : "left at",
                     (unsigned long long)forgeries[i].data_bytes, stash_strerror(st));
    }
    stash_ring_remove(name);
}

static stash_status create_ring(const void *ctx)
{
    const stash_ring_config *cfg = ctx;
    stash_ring *r = NULL;
    stash_status st = stash_ring_create(path_in(dir, "absurd.ring"), cfg, &r);
    if (st == STASH_OK)
        stash_ring_close(&r);
    return st;
}

static void test_rings_of_absurd_capacity_are_not_created(void **state)
{
    (void)state;
    const uint64_t capacities[] = {0, UINT64_C(1) << 62, (UINT64_C(1) << 60) + 1024, UINT64_MAX,
                                   (UINT64_C(1) << 40) / 16 + 1};
    for (size_t i = 0; i < sizeof capacities / sizeof *capacities; i++) {
        stash_ring_config cfg = {.channels = 4, .capacity_samples = capacities[i],
                                 .dtype = STASH_DTYPE_FLOAT32};
        stash_status st = bounded("create a ring", create_ring, &cfg);
        if (st != STASH_E_RANGE)
            fail_msg("capacity %llu: %s", (unsigned long long)capacities[i], stash_strerror(st));
    }
    assert_int_equal(access(path_in(dir, "absurd.ring"), F_OK), -1); /* nothing left behind */
}

/* ---- Store keys that are huge or try to climb out --------------------------------------- */

/* Every path under root, one per line, sorted: a picture to compare before and after. */
static void snapshot(const char *root, const char *skip, char *out, size_t cap)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -path './%s' -prune -o -print | LC_ALL=C sort",
             root, skip);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

struct key_call {
    const char *uri, *key;
    int op; /* 0 put, 1 get, 2 has, 3 delete */
};

static stash_status call_with_key(const void *ctx)
{
    const struct key_call *c = ctx;
    stash_store *s = NULL;
    stash_status st = stash_store_open(c->uri, NULL, &s);
    if (st != STASH_OK)
        return st;
    stash_value *v = NULL;
    const char *json = "{\"escaped\": true}";
    if (c->op == 0 && (st = stash_value_from_json(json, strlen(json), &v, NULL)) == STASH_OK)
        st = stash_store_put(s, c->key, v);
    else if (c->op == 1)
        st = stash_store_get(s, c->key, &v);
    else if (c->op == 2)
        st = stash_store_has(s, c->key);
    else if (c->op == 3)
        st = stash_store_delete(s, c->key);
    stash_value_free(&v);
    stash_store_close(&s);
    return st;
}

static void hostile_keys(const char *scheme)
{
    /* root/inner/<store>: a key that climbed out would land in root/inner or root. */
    char root[4200], inner[4300], uri[4400];
    snprintf(root, sizeof root, "%s", path_in(dir, scheme));
    assert_int_equal(mkdir(root, 0777), 0);
    snprintf(inner, sizeof inner, "%s/inner", root);
    assert_int_equal(mkdir(inner, 0777), 0);
    const char *store = strcmp(scheme, "dir") == 0 ? "store" : "store.h5";
    snprintf(uri, sizeof uri, "%s:%s/%s", scheme, inner, store);
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri, NULL, &s)); /* made before the picture is taken */
    stash_store_close(&s);
    static char before[65536], after[65536];
    snapshot(root, strcmp(scheme, "dir") == 0 ? "inner/store" : "none", before, sizeof before);

    char *long_key = malloc(10001);
    memset(long_key, 'k', 10000);
    long_key[10000] = '\0';
    char *long_climb = malloc(10001);
    for (size_t i = 0; i < 10000; i += 3)
        memcpy(long_climb + i, i + 3 <= 10000 ? "../" : "..", i + 3 <= 10000 ? 3 : 10000 - i);
    long_climb[10000] = '\0';
    const struct {
        const char *key;
        stash_status want;
    } refused[] = {
        {long_key, STASH_E_LIMIT},
        {long_climb, STASH_E_INVALID},
        {"../escaped", STASH_E_INVALID},
        {"../../escaped", STASH_E_INVALID},
        {"a/../../escaped", STASH_E_INVALID},
        {"a/..", STASH_E_INVALID},
        {"..", STASH_E_INVALID},
        {"/..", STASH_E_INVALID},
        {"/../escaped", STASH_E_INVALID},
        {"/tmp/escaped", STASH_E_INVALID},
        {"/", STASH_E_INVALID},
        {"./escaped", STASH_E_INVALID},
        {"a/./b", STASH_E_INVALID},
        {".", STASH_E_INVALID},
        {"a//b", STASH_E_INVALID},
        {"escaped/", STASH_E_INVALID},
        {"new\nline", STASH_E_INVALID},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        for (int op = 0; op < 4; op++) {
            struct key_call c = {uri, refused[i].key, op};
            stash_status st = bounded("a hostile key", call_with_key, &c);
            if (st != refused[i].want)
                fail_msg("%s: op %d on key \"%.40s\"%s: %s, expected %s", scheme, op,
                         refused[i].key, strlen(refused[i].key) > 40 ? "..." : "",
                         stash_strerror(st), stash_strerror(refused[i].want));
        }
    /* Legal keys that look like climbing are stored inside the store, and read back. */
    const char *inside[] = {"...", "..a", "a..", "..%2F..%2Fescaped", "..\\..\\escaped",
                            ". ./x", "%2E%2E/escaped"};
    for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
        struct key_call put = {uri, inside[i], 0}, get = {uri, inside[i], 1};
        assert_int_equal(bounded("put of a legal key", call_with_key, &put), STASH_OK);
        assert_int_equal(bounded("get of a legal key", call_with_key, &get), STASH_OK);
    }
    /* Nothing outside the store changed: for hdf5: the file and its lock, for dir: the directory. */
    snapshot(root, strcmp(scheme, "dir") == 0 ? "inner/store" : "none", after, sizeof after);
    assert_string_equal(before, after);
    free(long_key);
    free(long_climb);
}

static void test_hostile_keys_in_dir_stores_stay_inside(void **state)
{
    (void)state;
    hostile_keys("dir");
}

static void test_hostile_keys_in_hdf5_stores_stay_inside(void **state)
{
    (void)state;
    hostile_keys("hdf5");
}

int main(void)
{
    dir = scratch_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_claiming_2_to_the_60_elements_is_refused),
        cmocka_unit_test(test_nco_object_claiming_2_to_the_60_elements_is_refused),
        cmocka_unit_test(test_store_entry_claiming_2_to_the_60_elements_is_refused),
        cmocka_unit_test(test_a_million_nested_lists_hit_the_depth_limit),
        cmocka_unit_test(test_nco_metadata_a_million_deep_is_refused_and_the_array_kept),
        cmocka_unit_test(test_nco_chains_pointing_back_end_at_once),
        cmocka_unit_test(test_nco_indexes_pointing_back_are_not_used),
        cmocka_unit_test(test_ring_headers_with_absurd_capacities_are_refused),
        cmocka_unit_test(test_rings_of_absurd_capacity_are_not_created),
        cmocka_unit_test(test_hostile_keys_in_dir_stores_stay_inside),
        cmocka_unit_test(test_hostile_keys_in_hdf5_stores_stay_inside),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
