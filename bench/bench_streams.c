/*
 * Benchmarks of streams, typed codecs and storages, each beside a baseline
 * measured in the same run: a memcpy + byte-swap loop, Python's
 * struct.unpack_from, raw read() and one write() per item.
 */
#include "bench_streams.h"

#include <stash/stash.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

/* ---- Typed reads from memory ------------------------------------------- */

/* The baseline: what a careful C programmer writes by hand. */
__attribute__((noinline)) static uint64_t sum_baseline_le(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        sum += le32toh(v);
    }
    return sum;
}

__attribute__((noinline)) static uint64_t sum_baseline_be(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        sum += be32toh(v);
    }
    return sum;
}

__attribute__((noinline)) static uint64_t sum_load_le(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += stash_bytes_load_u32le(p + 4 * i);
    return sum;
}

__attribute__((noinline)) static uint64_t sum_load_be(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += stash_bytes_load_u32be(p + 4 * i);
    return sum;
}

__attribute__((noinline)) static uint64_t sum_cursor_le(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    size_t at = 0;
    uint32_t v;
    while (stash_bytes_read_u32le(p, 4 * n, &at, &v) == STASH_OK)
        sum += v;
    return sum;
}

__attribute__((noinline)) static uint64_t sum_stream_le(const unsigned char *p, size_t n)
{
    stash_stream *s;
    uint64_t sum = 0;
    uint32_t v;
    if (stash_stream_open_memory(p, 4 * n, &s) != STASH_OK)
        return 0;
    while (stash_stream_read_u32le(s, &v) == STASH_OK)
        sum += v;
    stash_stream_close(&s);
    return sum;
}

/* The zero-copy idiom: peek at the stream's buffer, decode each block with
 * the bounds-checked cursor, then skip what was consumed. The block goes to
 * the cursor loop above (its own function, so its locals stay in registers:
 * decoding inline here let gcc keep the sum in memory across the opaque
 * peek call, one more instruction per value that measured the compiler,
 * not stash). */
__attribute__((noinline)) static uint64_t sum_stream_peek_le(const unsigned char *p, size_t n)
{
    stash_stream *s;
    const void *view;
    size_t len;
    uint64_t sum = 0;
    if (stash_stream_open_memory(p, 4 * n, &s) != STASH_OK)
        return 0;
    while (stash_stream_peek(s, &view, &len) == STASH_OK && len >= 4) {
        size_t values = len / 4;
        sum += sum_cursor_le(view, values);
        stash_stream_skip(s, 4 * values);
    }
    stash_stream_close(&s);
    return sum;
}

/* Block reads into an array, decoded in place. */
__attribute__((noinline)) static uint64_t sum_stream_array_le(const unsigned char *p, size_t n)
{
    enum { BLOCK = 16384 };
    static uint32_t block[BLOCK];
    stash_stream *s;
    uint64_t sum = 0;
    if (stash_stream_open_memory(p, 4 * n, &s) != STASH_OK)
        return 0;
    for (size_t done = 0; done < n; done += BLOCK) {
        size_t count = n - done < BLOCK ? n - done : BLOCK;
        if (stash_stream_read_u32le_array(s, block, count) != STASH_OK)
            break;
        for (size_t i = 0; i < count; i++)
            sum += block[i];
    }
    stash_stream_close(&s);
    return sum;
}

typedef uint64_t (*summer)(const unsigned char *, size_t);

/* ns per value of one timed run of f over the buffer. */
static double time_once(summer f, const unsigned char *p, size_t n, int passes)
{
    double t0 = bench_seconds();
    for (int i = 0; i < passes; i++)
        bench_sink(f(p, n));
    return (bench_seconds() - t0) / ((double)n * passes) * 1e9;
}

/* rounds runs of each, interleaved, the order alternating: this host's memory speed drifts,
 * and two figures are only comparable if taken side by side. */
static void time_rounds(summer ours, summer baseline, const unsigned char *p, size_t n,
                        int passes, int rounds, double *ours_ns, double *baseline_ns)
{
    for (int r = 0; r < rounds; r++) {
        if (r % 2)
            ours_ns[r] = time_once(ours, p, n, passes);
        baseline_ns[r] = time_once(baseline, p, n, passes);
        if (r % 2 == 0)
            ours_ns[r] = time_once(ours, p, n, passes);
    }
}

/* A row of ns per value, round by round; speed_up flips the ratio to baseline / ours. */
static void row_ns(struct bench_config *c, const char *what, const double *ours,
                   const double *baseline, int rounds, const char *baseline_name,
                   bool speed_up, const char *target)
{
    char a[64], b[128], figure[64];
    double ratio[BENCH_ROUNDS];
    for (int r = 0; r < rounds; r++)
        ratio[r] = speed_up ? baseline[r] / ours[r] : ours[r] / baseline[r];
    bench_spread(a, sizeof a, ours, (size_t)rounds, 1, 3, "ns/value");
    bench_spread(figure, sizeof figure, baseline, (size_t)rounds, 1, 3, "ns/value");
    snprintf(b, sizeof b, "%s (%s)", figure, baseline_name);
    bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, target);
}

static void bench_typed_reads(struct bench_config *c)
{
    const size_t big = (c->quick ? 4 : 64) * MIB / 4, small = 256 * 1024 / 4;
    unsigned char *p = malloc(big * 4);
    if (p == NULL) {
        bench_fail_status(c, "typed reads: the buffer", -ENOMEM);
        return;
    }
    for (size_t i = 0; i < big * 4; i++)
        p[i] = (unsigned char)(i * 131 + 7);

    int rounds = bench_rounds(c);
    char title[192];
    snprintf(title, sizeof title,
             "Typed u32 reads from memory (medians of %d interleaved rounds; ratio: stash time / "
             "the loop's)",
             rounds);
    bench_table_against(c, title,
                        "the same loop written by hand (memcpy + byte-order conversion) on the "
                        "same buffer.");
    struct {
        const char *what;
        summer ours, baseline;
        size_t n;
        int passes;
    } cases[] = {
        {"u32 LE load, 64 MiB (DRAM)", sum_load_le, sum_baseline_le, big, 1},
        {"u32 BE load, 64 MiB (DRAM)", sum_load_be, sum_baseline_be, big, 1},
        {"u32 LE bounds-checked cursor, 64 MiB", sum_cursor_le, sum_baseline_le, big, 1},
        {"u32 LE load, 256 KiB (cache)", sum_load_le, sum_baseline_le, small, 256},
        {"u32 LE bounds-checked cursor, 256 KiB", sum_cursor_le, sum_baseline_le, small, 256},
        {"u32 LE stream peek + cursor (zero copy), 64 MiB", sum_stream_peek_le,
         sum_baseline_le, big, 1},
        {"u32 LE stream array reads, 64 MiB", sum_stream_array_le, sum_baseline_le, big, 1},
        {"u32 LE stream, one call per value, 64 MiB", sum_stream_le, sum_baseline_le, big, 1},
    };
    enum { CASES = sizeof cases / sizeof cases[0] };
    double ours_ns[CASES][BENCH_ROUNDS], base_ns[BENCH_ROUNDS];
    for (size_t i = 0; i < CASES; i++) {
        int passes = c->quick ? 1 : cases[i].passes;
        time_rounds(cases[i].ours, cases[i].baseline, p, cases[i].n, passes, rounds, ours_ns[i],
                    base_ns);
        bool per_call = cases[i].ours == sum_stream_le || cases[i].ours == sum_stream_array_le;
        row_ns(c, cases[i].what, ours_ns[i], base_ns, rounds, "memcpy + byte-order loop", false,
               per_call ? NULL : "<= 1.5");
    }
    free(p);

    double python_ns = bench_python(
        "import struct, time\n"
        "buf = bytes(range(256)) * 16384\n"
        "u = struct.Struct(\"<I\").unpack_from\n"
        "n = len(buf) // 4\n"
        "t = time.perf_counter()\n"
        "for i in range(0, 4 * n, 4): u(buf, i)\n"
        "print((time.perf_counter() - t) / n * 1e9)\n");
    bench_table_against(c, "Typed u32 reads vs Python struct.unpack_from (ratio: speed-up)",
                        "a peer: `struct.Struct(\"<I\").unpack_from` in a loop under "
                        "`/usr/bin/python3`.");
    for (size_t i = 0; i < CASES; i++) {
        if (cases[i].passes != 1)
            continue;
        char a[64], b[64];
        double ours = bench_stats_of(ours_ns[i], (size_t)rounds).median;
        snprintf(a, sizeof a, "%.3f ns/value", ours);
        snprintf(b, sizeof b, "%.1f ns/value", python_ns);
        bool per_call = cases[i].ours == sum_stream_le;
        bench_row(c, cases[i].what, a, b, python_ns / ours, per_call ? NULL : ">= 100");
    }
}

/* ---- Sequential read of a cached file ---------------------------------- */

/* 0, or -errno (-EIO for a short write). */
static int make_file(const char *path, size_t bytes)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0)
        return -errno;
    unsigned char *chunk = malloc(MIB);
    int rc = chunk == NULL ? -ENOMEM : 0;
    for (size_t at = 0; rc == 0 && at < bytes; at += MIB) {
        memset(chunk, (int)(at / MIB), MIB);
        ssize_t n = write(fd, chunk, MIB);
        rc = n == (ssize_t)MIB ? 0 : n < 0 ? -errno : -EIO;
    }
    free(chunk);
    /* Reads racing the writeback of fresh pages run at disk speed, not
     * page-cache speed: let writeback finish first. */
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* GB/s of one pass over the file with raw read() of chunk bytes. */
static double raw_read_gbs(const char *path, unsigned char *buf, size_t chunk)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NAN;
    size_t total = 0;
    ssize_t n;
    double t0 = bench_seconds();
    while ((n = read(fd, buf, chunk)) > 0)
        total += (size_t)n;
    double gbs = (double)total / (bench_seconds() - t0) / 1e9;
    close(fd);
    return n < 0 ? NAN : gbs;
}

/* GB/s of one pass over the file with stream reads of chunk bytes. */
static double stream_read_gbs(const char *path, unsigned char *buf, size_t chunk)
{
    stash_stream *s;
    if (stash_stream_open_file(path, "r", &s) != STASH_OK)
        return NAN;
    size_t total = 0, n;
    stash_status status;
    double t0 = bench_seconds();
    while ((status = stash_stream_read(s, buf, chunk, &n)) == STASH_OK && n > 0)
        total += n;
    double gbs = (double)total / (bench_seconds() - t0) / 1e9;
    stash_stream_close(&s);
    return status == STASH_OK ? gbs : NAN;
}

static void bench_file_read(struct bench_config *c)
{
    const size_t bytes = (c->quick ? 128 : 1024) * MIB;
    char path[4096];
    snprintf(path, sizeof path, "%s/stash-bench-read.bin", c->scratch_dir);
    unsigned char *buf = malloc(MIB);
    int made = buf == NULL ? -ENOMEM : make_file(path, bytes);
    if (made != 0) {
        bench_fail_status(c, path, made);
        free(buf);
        unlink(path);
        return;
    }
    memset(buf, 1, MIB);
    /* Bring it into the page cache; this VM's host reclaims idle cache, so
     * the first pass or two can run at disk speed. */
    raw_read_gbs(path, buf, MIB);
    raw_read_gbs(path, buf, MIB);

    int rounds = bench_rounds(c);
    char title[192];
    snprintf(title, sizeof title,
             "Sequential read of a cached file (medians of %d interleaved rounds; ratio: stash "
             "throughput / raw read()'s)",
             rounds);
    bench_table_against(c, title,
                        "raw `read()` of the same chunk size into the same buffer, from the "
                        "same file.");
    size_t chunks[] = {MIB, 64 * 1024, 4096};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        double base[BENCH_ROUNDS], ours[BENCH_ROUNDS], ratio[BENCH_ROUNDS];
        for (int r = 0; r < rounds; r++) { /* the order alternates */
            if (r % 2)
                ours[r] = stream_read_gbs(path, buf, chunks[i]);
            base[r] = raw_read_gbs(path, buf, chunks[i]);
            if (r % 2 == 0)
                ours[r] = stream_read_gbs(path, buf, chunks[i]);
            ratio[r] = ours[r] / base[r]; /* a failed read fails the row */
        }
        char what[96], a[64], b[128], figure[64];
        snprintf(what, sizeof what, "%zu MiB file, stream reads of %zu KiB", bytes / MIB,
                 chunks[i] / 1024);
        bench_spread(a, sizeof a, ours, (size_t)rounds, 1, 3, "GB/s");
        bench_spread(figure, sizeof figure, base, (size_t)rounds, 1, 3, "GB/s");
        snprintf(b, sizeof b, "%s (read() of %zu KiB)", figure, chunks[i] / 1024);
        bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, ">= 0.8");
    }
    unlink(path);
    free(buf);
}

/* ---- 8-byte writes ------------------------------------------------------ */

/* ns per 8-byte write() into a new file at path, or -errno. */
static stash_status write_calls_ns(const char *path, size_t n, double *ns)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    stash_status status = STASH_OK;
    double t0 = bench_seconds();
    for (uint64_t i = 0; status == STASH_OK && i < n; i++)
        if (write(fd, &i, 8) != 8)
            status = errno ? -errno : -EIO;
    close(fd);
    *ns = (bench_seconds() - t0) / (double)n * 1e9;
    return status;
}

/* ns per 8-byte stash_storage_write into a new file at path, the final flush included. */
static stash_status storage_writes_ns(const char *path, size_t n, double *ns)
{
    stash_storage *st;
    stash_status status = stash_storage_open_file(path, "w", &st);
    if (status != STASH_OK)
        return status;
    double t0 = bench_seconds();
    for (uint64_t i = 0; status == STASH_OK && i < n; i++)
        status = stash_storage_write(st, &i, 8);
    stash_status closed = stash_storage_close(&st); /* the final flush is part of the cost */
    *ns = (bench_seconds() - t0) / (double)n * 1e9;
    return status != STASH_OK ? status : closed;
}

static void bench_small_writes(struct bench_config *c)
{
    const size_t n = c->quick ? 32768 : 262144;
    char path[4096];
    snprintf(path, sizeof path, "%s/stash-bench-writes.bin", c->scratch_dir);

    int rounds = bench_rounds(c);
    double base[BENCH_ROUNDS], ours[BENCH_ROUNDS], ratio[BENCH_ROUNDS];
    stash_status status = STASH_OK;
    for (int r = 0; status == STASH_OK && r < rounds; r++) {
        status = write_calls_ns(path, n, &base[r]);
        if (status == STASH_OK)
            status = storage_writes_ns(path, n, &ours[r]);
        ratio[r] = base[r] / ours[r];
    }
    unlink(path);
    if (status != STASH_OK) {
        bench_fail_status(c, path, status);
        return;
    }
    char title[160], what[96], a[64], b[96], figure[64];
    snprintf(title, sizeof title,
             "8-byte writes to a file (medians of %d interleaved rounds; ratio: speed-up over "
             "one write() per item)",
             rounds);
    bench_table_against(c, title, "one `write()` of 8 bytes per item into a new file.");
    snprintf(what, sizeof what, "%zu writes of 8 bytes through a file storage", n);
    bench_spread(a, sizeof a, ours, (size_t)rounds, 1, 3, "ns/write");
    bench_spread(figure, sizeof figure, base, (size_t)rounds, 1, 3, "ns/write()");
    snprintf(b, sizeof b, "%s", figure);
    bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, ">= 20");
}

/* ---- Temp storages through a pool --------------------------------------- */

/* *seconds to create k temp storages, write 4 KiB to each, read each back
 * twice in turn, and close them all. */
static stash_status temp_round_trip(const char *dir, size_t k, size_t max_open, double *seconds)
{
    stash_storage_pool *pool;
    stash_storage **st = calloc(k, sizeof *st);
    unsigned char block[4096], back[4096];
    memset(block, 7, sizeof block);
    stash_status status = st ? stash_storage_pool_create(max_open, dir, &pool) : -ENOMEM;
    if (status != STASH_OK) {
        free(st);
        return status;
    }
    double t0 = bench_seconds();
    for (size_t i = 0; status == STASH_OK && i < k; i++) {
        status = stash_storage_open_temp(pool, &st[i]);
        if (status == STASH_OK)
            status = stash_storage_write(st[i], block, sizeof block);
        if (status == STASH_OK)
            status = stash_storage_flush(st[i]);
    }
    for (int pass = 0; status == STASH_OK && pass < 2; pass++) {
        for (size_t i = 0; status == STASH_OK && i < k; i++) {
            size_t got = 0;
            status = stash_storage_seek_read(st[i], 0, STASH_SEEK_SET, NULL);
            if (status == STASH_OK)
                status = stash_storage_readinto(st[i], back, sizeof back, &got);
            if (status == STASH_OK && got != sizeof back)
                status = STASH_E_TRUNCATED;
        }
    }
    for (size_t i = 0; i < k; i++)
        stash_storage_close(&st[i]);
    *seconds = bench_seconds() - t0;
    stash_storage_pool_close(&pool);
    free(st);
    return status;
}

static void bench_temp_pool(struct bench_config *c)
{
    const size_t k = c->quick ? 200 : 1000;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    double unpooled = 0, pooled = 0;
    stash_status status = temp_round_trip(c->scratch_dir, k, k + 1, &unpooled);
    if (status == STASH_OK)
        status = temp_round_trip(c->scratch_dir, k, 100, &pooled);
    char what[128], a[64], b[64];
    snprintf(what, sizeof what, "%zu temp storages, 4 KiB each, read back twice", k);
    if (status != STASH_OK) {
        bench_fail_status(c, what, status);
        return;
    }
    bench_table_against(c, "Temp storages (ratio: pooled time / unpooled time)",
                        "the same storages all kept open (no pool).");
    snprintf(a, sizeof a, "%.1f ms (pool of 100)", pooled * 1e3);
    snprintf(b, sizeof b, "%.1f ms (all open)", unpooled * 1e3);
    bench_row(c, what, a, b, pooled / unpooled, NULL);
}

static const char STREAMS_METHOD[] =
    "**Baselines.** Typed reads: the same loop written by hand (memcpy + le32toh), on the same\n"
    "buffer. Cached file: raw `read()` of the same chunk size into the same buffer. Small writes:\n"
    "one `write()` per item. Python's `struct.Struct(\"<I\").unpack_from` in a loop under\n"
    "`/usr/bin/python3` is a peer row. Each pair runs in interleaved rounds, the order\n"
    "alternating, because this host's memory and page-cache speed drift; each ratio is the\n"
    "median of the rounds' ratios, with its spread. \"One call per value\" stream reads pay for\n"
    "the position going through memory between calls; peek + cursor and array reads are the\n"
    "fast paths (docs/streams.md).\n";

void bench_streams(struct bench_config *c)
{
    bench_section(c, "Streams and storages", STREAMS_METHOD);
    bench_typed_reads(c);
    bench_file_read(c);
    bench_small_writes(c);
    bench_temp_pool(c);
}
