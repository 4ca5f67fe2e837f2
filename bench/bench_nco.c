/*
 * Benchmarks of cache objects: saving a large float64 array as NPY and as an
 * NCO object beside raw write() of the same bytes and numpy.save, reading it
 * back through a map beside raw read() and numpy.load, the time to open,
 * locate and map an array, and finding one object among 10 000 in a chain,
 * through the index and by walking.
 */
#include "bench_nco.h"

#include <stash/stash.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define REPS 5
#define OPEN_REPS 2000

struct subject {
    const char *npy_path, *raw_path, *nco_path;
    stash_array_desc desc;
    double *values;
    size_t bytes;
};

/* ---- Writing -------------------------------------------------------------- */

static double seconds_to_save(struct subject *s)
{
    unlink(s->npy_path); /* each side starts without a file, see below */
    double t0 = bench_seconds();
    stash_status status = stash_npy_save(s->npy_path, &s->desc, s->values, 0);
    double t = bench_seconds() - t0;
    return status == STASH_OK ? t : NAN;
}

static double seconds_to_pack(struct subject *s)
{
    stash_value *meta = NULL;
    stash_value_new_dict(&meta);
    unlink(s->nco_path);
    double t0 = bench_seconds();
    stash_status status = stash_nco_pack(s->nco_path, meta, &s->desc, s->values, 0);
    double t = bench_seconds() - t0;
    stash_value_free(&meta);
    return status == STASH_OK ? t : NAN;
}

/* The baseline: a new file and one write() per 8 MiB, what a careful C
 * program does with no format at all. The old file goes first, as the
 * rename in stash_npy_save drops the old one. */
static double seconds_to_write_raw(struct subject *s)
{
    unlink(s->raw_path);
    double t0 = bench_seconds();
    int fd = open(s->raw_path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return NAN;
    const char *p = (const char *)s->values;
    for (size_t at = 0; at < s->bytes;) {
        size_t chunk = s->bytes - at < 8 * MIB ? s->bytes - at : 8 * MIB;
        ssize_t n = write(fd, p + at, chunk);
        if (n <= 0) {
            close(fd);
            return NAN;
        }
        at += (size_t)n;
    }
    close(fd);
    return bench_seconds() - t0;
}

/*
 * Times one Python statement (median of reps) after numpy has saved the
 * array to PATH.numpy.npy; the statement may use a and path. Each timed run
 * starts after os.sync(), as ours do: page-cache writes slow down when the
 * dirty backlog of earlier runs crosses the kernel's thresholds, and that
 * backlog must not favour either side.
 */
static double numpy_seconds(const char *statement, const struct subject *s, int reps)
{
    char program[1536];
    snprintf(program, sizeof program,
             "import numpy as np, os, time, statistics\n"
             "a = np.arange(%zu, dtype=np.float64)\n"
             "path = \"%s.numpy.npy\"\n"
             "np.save(path, a)\n"
             "times = []\n"
             "for _ in range(%d):\n"
             "    os.sync()\n"
             "    t = time.perf_counter()\n"
             "    %s\n"
             "    times.append(time.perf_counter() - t)\n"
             "print(statistics.median(times))\n",
             s->bytes / 8, s->npy_path, reps, statement);
    return bench_python(program);
}

/* GB/s of each of REPS timings of gb gigabytes, into rates[]. */
static void rates_of(const double *seconds, double gb, double rates[REPS])
{
    for (int r = 0; r < REPS; r++)
        rates[r] = gb / seconds[r];
}

static void write_rows(struct bench_config *c, const char *what, const double *ours,
                       const double *ratio, const double *numpy_ratio, const double *raw,
                       const double *numpy, double gb)
{
    char a[64], b[96], row[128], figure[64];
    double rates[REPS];
    rates_of(ours, gb, rates);
    bench_spread(a, sizeof a, rates, REPS, 1, 3, "GB/s");
    rates_of(raw, gb, rates);
    bench_spread(figure, sizeof figure, rates, REPS, 1, 3, "GB/s");
    snprintf(b, sizeof b, "%s (write() of 8 MiB)", figure);
    snprintf(row, sizeof row, "%s (ratio: share of raw write() throughput)", what);
    bench_row_rounds(c, row, a, b, ratio, REPS, ">= 0.9");
    rates_of(numpy, gb, rates);
    bench_spread(figure, sizeof figure, rates, REPS, 1, 3, "GB/s");
    snprintf(b, sizeof b, "%s (numpy.save)", figure);
    snprintf(row, sizeof row, "%s (ratio: time / numpy.save's)", what);
    bench_row_rounds(c, row, a, b, numpy_ratio, REPS, "<= 1");
}

static void bench_writes(struct bench_config *c, struct subject *s)
{
    double npy[REPS], nco[REPS], raw[REPS], numpy[REPS];
    double npy_ratio[REPS], nco_ratio[REPS], npy_numpy[REPS], nco_numpy[REPS];
    for (int r = 0; r < REPS; r++) { /* all four interleaved, each after a sync */
        sync();
        raw[r] = seconds_to_write_raw(s);
        sync();
        npy[r] = seconds_to_save(s);
        sync();
        nco[r] = seconds_to_pack(s);
        numpy[r] = numpy_seconds("os.unlink(path); np.save(path, a)", s, 1);
        npy_ratio[r] = raw[r] / npy[r];
        nco_ratio[r] = raw[r] / nco[r];
        npy_numpy[r] = npy[r] / numpy[r];
        nco_numpy[r] = nco[r] / numpy[r];
    }
    double gb = (double)s->bytes / 1e9;
    bench_table_against(c, "Cache objects: writing a float64 array (medians of 5 interleaved "
                           "rounds)",
                        "`write()` of the same bytes in 8 MiB chunks into a new file; "
                        "`numpy.save` as a peer.");
    write_rows(c, "stash_npy_save", npy, npy_ratio, npy_numpy, raw, numpy, gb);
    write_rows(c, "stash_nco_pack", nco, nco_ratio, nco_numpy, raw, numpy, gb);
}

/* ---- Reading -------------------------------------------------------------- */

/* Eight running sums, so the additions keep up with memory (NumPy's sum is
 * pairwise and vectorised; one chain of dependent adds would be the bound). */
__attribute__((noinline)) static double sum(const double *v, size_t n)
{
    double lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            lane[k] += v[i + k];
    for (; i < n; i++)
        lane[0] += v[i];
    double total = 0;
    for (size_t k = 0; k < 8; k++)
        total += lane[k];
    return total;
}

static double seconds_to_map_and_sum(struct subject *s)
{
    double t0 = bench_seconds();
    stash_npy_map *map;
    if (stash_npy_map_open(s->npy_path, &map) != STASH_OK)
        return NAN;
    bench_sink((uint64_t)sum(stash_npy_map_data(map), s->bytes / 8));
    stash_npy_map_close(&map);
    return bench_seconds() - t0;
}

static double seconds_to_read_and_sum(struct subject *s, double *buffer)
{
    double t0 = bench_seconds();
    int fd = open(s->npy_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NAN;
    size_t at = 0;
    ssize_t n;
    while (at < s->bytes && (n = pread(fd, (char *)buffer + at, s->bytes - at, 128 + at)) > 0)
        at += (size_t)n;
    close(fd);
    bench_sink((uint64_t)sum(buffer, s->bytes / 8));
    return bench_seconds() - t0;
}

static void bench_reads(struct bench_config *c, struct subject *s)
{
    double *buffer = malloc(s->bytes);
    if (buffer == NULL) {
        bench_fail_status(c, "nco: the read buffer", -ENOMEM);
        return;
    }
    memset(buffer, 0, s->bytes); /* the baseline's pages exist before it is timed */
    double ours[REPS], raw[REPS], ratio[REPS];
    for (int r = 0; r < REPS; r++) {
        raw[r] = seconds_to_read_and_sum(s, buffer);
        ours[r] = seconds_to_map_and_sum(s);
        ratio[r] = raw[r] / ours[r];
    }
    free(buffer);
    double numpy_load = numpy_seconds("np.load(path).sum()", s, REPS);
    double numpy_mmap = numpy_seconds("np.load(path, mmap_mode=\"r\").sum()", s, REPS);

    double gb = (double)s->bytes / 1e9, rates[REPS];
    double ours_s = bench_stats_of(ours, REPS).median;
    char a[64], b[96], figure[64];
    bench_table_against(c, "Cache objects: reading the array back and summing it (medians of "
                           "5 interleaved rounds)",
                        "`pread()` of the file into a buffer, then the same sum; `numpy.load` "
                        "as a peer.");
    rates_of(ours, gb, rates);
    bench_spread(a, sizeof a, rates, REPS, 1, 3, "GB/s");
    rates_of(raw, gb, rates);
    bench_spread(figure, sizeof figure, rates, REPS, 1, 3, "GB/s");
    snprintf(b, sizeof b, "%s (read() into a buffer)", figure);
    bench_row_rounds(c, "stash_npy_map_open + sum (ratio: speed-up over read())", a, b, ratio,
                     REPS, NULL);
    snprintf(b, sizeof b, "%.2f GB/s (numpy.load)", gb / numpy_load);
    bench_row(c, "stash_npy_map_open + sum (ratio: speed-up over numpy.load)", a, b,
              numpy_load / ours_s, NULL);
    snprintf(b, sizeof b, "%.2f GB/s (numpy.load mmap)", gb / numpy_mmap);
    bench_row(c, "stash_npy_map_open + sum (ratio: speed-up over numpy.load mmap)", a, b,
              numpy_mmap / ours_s, NULL);
}

/* ---- Opening -------------------------------------------------------------- */

/*
 * The limit of opening a file to map an array in it: the system calls no
 * reader can avoid, made bare on the same file: open, fstat (the size to
 * map), a read of the header (the first 4 KiB, where every header here
 * fits), mmap, close, and munmap when done. No parsing, no checks.
 */
static bool bare_open_map(const char *path)
{
    char head[4096];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, &st) == 0 && pread(fd, head, sizeof head, 0) > 0;
    void *map = ok ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED)
        return false;
    bench_sink((uint64_t)(uintptr_t)map + (uint8_t)head[0]);
    return munmap(map, (size_t)st.st_size) == 0;
}

/* Open, find object i, point at its array, close: the whole cost of a lookup. */
static bool nco_lookup(const char *path, unsigned flags, size_t i)
{
    stash_nco *nco;
    stash_array_desc d;
    const void *data = NULL;
    if (stash_nco_open(path, flags, &nco) != STASH_OK)
        return false;
    stash_status status = stash_nco_array(nco, i, &d, &data);
    bench_sink((uint64_t)(uintptr_t)data);
    stash_nco_close(&nco);
    return status == STASH_OK;
}

static bool npy_open_map(const char *path)
{
    stash_npy_map *map;
    if (stash_npy_map_open(path, &map) != STASH_OK)
        return false;
    bench_sink((uint64_t)(uintptr_t)stash_npy_map_data(map));
    return stash_npy_map_close(&map) == STASH_OK;
}

enum { NPY_OPEN, NPY_BARE, NCO_OPEN, NCO_BARE, OPEN_WAYS };

/* The median us of reps cycles of one way (NaN if one failed). */
static double open_us(int way, const struct subject *s, int reps)
{
    static double times[OPEN_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = bench_seconds();
        bool ok = way == NPY_OPEN   ? npy_open_map(s->npy_path)
                  : way == NPY_BARE ? bare_open_map(s->npy_path)
                  : way == NCO_OPEN ? nco_lookup(s->nco_path, 0, 0)
                                    : bare_open_map(s->nco_path);
        times[r] = ok ? (bench_seconds() - t0) * 1e6 : NAN;
    }
    return bench_median(times, (size_t)reps);
}

/* stash's rounds and the bare calls' rounds, and their ratios, as one row. */
static void open_row(struct bench_config *c, const char *what, const double *ours,
                     const double *bare, int rounds, const char *target)
{
    double ratio[BENCH_ROUNDS];
    char a[96], b[128], figure[64];
    for (int r = 0; r < rounds; r++)
        ratio[r] = ours[r] / bare[r];
    bench_spread(figure, sizeof figure, ours, (size_t)rounds, 1, 3, "us");
    snprintf(a, sizeof a, "%s (budget: 50 us)", figure);
    bench_spread(figure, sizeof figure, bare, (size_t)rounds, 1, 3, "us");
    snprintf(b, sizeof b, "%s (open, fstat, pread, mmap, close, munmap)", figure);
    bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, target);
}

static void bench_open(struct bench_config *c, struct subject *s)
{
    seconds_to_pack(s);
    int rounds = bench_rounds(c), reps = c->quick ? 200 : OPEN_REPS;
    double us[OPEN_WAYS][BENCH_ROUNDS];
    for (int r = 0; r < rounds; r++) /* the ways in turn, the order rotating */
        for (int i = 0; i < OPEN_WAYS; i++) {
            int way = (r + i) % OPEN_WAYS;
            us[way][r] = open_us(way, s, reps);
        }
    double numpy_us = numpy_seconds("np.load(path, mmap_mode=\"r\")", s, 101) * 1e6;
    char title[256], a[64], b[96];
    snprintf(title, sizeof title,
             "Cache objects: open + locate + map an array, whatever its size (medians of %d "
             "rounds of %d)",
             rounds, reps);
    bench_table_against(c, title,
                        "the system calls no reader can avoid, made bare on the same file: "
                        "open, fstat, pread of the first 4 KiB, mmap, close, munmap.");
    /* NPY: the same calls but a pread of the header. NCO: also the index's open, fstat,
     * pread and close (docs/nco.md), about 1.6x the bare calls. */
    open_row(c, "stash_npy_map_open + close (ratio: time / the bare calls')", us[NPY_OPEN],
             us[NPY_BARE], rounds, "<= 1.5");
    open_row(c, "stash_nco_open + stash_nco_array + close (ratio: time / the bare calls')",
             us[NCO_OPEN], us[NCO_BARE], rounds, "<= 2");
    double npy_us = bench_stats_of(us[NPY_OPEN], (size_t)rounds).median;
    snprintf(b, sizeof b, "%.1f us (numpy.load mmap_mode=r)", numpy_us);
    snprintf(a, sizeof a, "%.1f us", npy_us);
    bench_row(c, "stash_npy_map_open + close (ratio: speed-up over numpy)", a, b,
              numpy_us / npy_us, NULL);
}

/* The median us of reps lookups of object i (NaN if one failed). */
static double nco_lookup_us(const char *path, unsigned flags, size_t i, int reps)
{
    double times[OPEN_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = bench_seconds();
        bool ok = nco_lookup(path, flags, i);
        times[r] = ok ? (bench_seconds() - t0) * 1e6 : NAN;
    }
    return bench_median(times, (size_t)reps);
}

/* ---- Many objects in one chain ------------------------------------------ */

/* Object i of the chain: a 4x4 float32 whose first element is i, and {"i": i}. */
static stash_status chain_object(size_t i, stash_value **meta, float block[16])
{
    stash_value *n = NULL;
    block[0] = (float)i;
    stash_status status = stash_value_new_dict(meta);
    if (status == STASH_OK && (status = stash_value_new_int((int64_t)i, &n)) == STASH_OK &&
        (status = stash_value_dict_set(*meta, "i", n)) != STASH_OK)
        stash_value_free(&n);
    if (status != STASH_OK)
        stash_value_free(meta);
    return status;
}

/*
 * count small objects in one chain: all but the last written as nengo
 * writes them, the last appended by stash, which writes the index (opening
 * never does).
 */
static stash_status write_chain(const char *path, size_t count)
{
    stash_stream *s = NULL;
    stash_value *meta = NULL;
    float block[16] = {0};
    uint64_t shape[2] = {4, 4};
    stash_array_desc d;
    stash_array_desc_init(&d, STASH_DTYPE_FLOAT32, 2, shape);
    unlink(path);
    stash_status status = stash_stream_open_file(path, "w", &s);
    for (size_t i = 0; status == STASH_OK && i + 1 < count; i++) {
        status = chain_object(i, &meta, block);
        if (status == STASH_OK)
            status = stash_nco_write(s, meta, &d, block, NULL);
        stash_value_free(&meta);
    }
    stash_status closed = s ? stash_stream_close(&s) : STASH_OK;
    status = status != STASH_OK ? status : closed;
    if (status == STASH_OK)
        status = chain_object(count - 1, &meta, block);
    if (status == STASH_OK)
        status = stash_nco_append(path, meta, &d, block, 0);
    stash_value_free(&meta);
    return status;
}

/* The nengo way, in Python: read each header, seek to its array end. */
static double python_walk_us(const char *path, size_t target)
{
    char program[6144];
    snprintf(program, sizeof program,
             "import struct, time, statistics\n"
             "fmt = \"@3sBLLLL\"; size = struct.calcsize(fmt)\n"
             "times = []\n"
             "for _ in range(21):\n"
             "    t = time.perf_counter()\n"
             "    with open(\"%s\", \"rb\") as f:\n"
             "        for _ in range(%zu):\n"
             "            m, v, ps, pe, a, e = struct.unpack(fmt, f.read(size))\n"
             "            f.seek(e)\n"
             "        header = struct.unpack(fmt, f.read(size))\n"
             "    times.append(time.perf_counter() - t)\n"
             "print(statistics.median(times) * 1e6)\n",
             path, target);
    return bench_python(program);
}

static void bench_chain(struct bench_config *c)
{
    char path[4096];
    size_t count = 10000, last = count - 1;
    snprintf(path, sizeof path, "%s/stash-bench-chain.nco", c->scratch_dir);
    stash_status status = write_chain(path, count);
    if (status != STASH_OK) {
        bench_fail_status(c, path, status);
        return;
    }
    stash_nco *nco = NULL;
    stash_nco_info info = {0};
    status = stash_nco_open(path, 0, &nco);
    if (status == STASH_OK)
        stash_nco_info_get(nco, &info);
    stash_nco_close(&nco);
    if (status != STASH_OK || info.index != STASH_NCO_INDEX_USED) {
        bench_fail(c, path, status != STASH_OK ? stash_strerror(status)
                                               : "the chain's index is not used");
        return;
    }
    double walk_us = nco_lookup_us(path, STASH_NCO_NO_INDEX, last, 51);
    double index_us = nco_lookup_us(path, 0, last, 201);
    double python_us = python_walk_us(path, last);
    char a[64], b[96];
    bench_table_against(c, "Cache objects: open a 10 000-object chain and map object 9 999 "
                           "(medians)",
                        "stash walking the chain, and nengo's walk in Python; no target (a "
                        "reader checks every header either way).");
    snprintf(a, sizeof a, "%.1f us (budget: 100 us)", index_us);
    snprintf(b, sizeof b, "%.1f us (stash walking the chain)", walk_us);
    bench_row(c, "through the index (ratio: speed-up over walking)", a, b, walk_us / index_us,
              NULL);
    snprintf(a, sizeof a, "%.1f us", walk_us);
    snprintf(b, sizeof b, "%.1f us (nengo-style walk in Python)", python_us);
    bench_row(c, "walking the chain (ratio: speed-up over Python)", a, b, python_us / walk_us,
              NULL);
    char index[4200];
    snprintf(index, sizeof index, "%s.stashidx", path);
    unlink(path);
    unlink(index);
}

/* Seconds to append count chain objects to a new file at path: one
 * stash_nco_append each, or all through one batch. */
static double seconds_to_append(const char *path, size_t count, bool batched, stash_status *st)
{
    float block[16] = {0};
    stash_array_desc d;
    stash_array_desc_init(&d, STASH_DTYPE_FLOAT32, 2, (uint64_t[]){4, 4});
    stash_value *meta = NULL;
    stash_nco_batch *batch = NULL;
    char index[4200];
    snprintf(index, sizeof index, "%s" STASH_NCO_INDEX_SUFFIX, path);
    unlink(path);
    unlink(index);
    double started = bench_seconds();
    *st = batched ? stash_nco_batch_open(path, 0, &batch) : STASH_OK;
    for (size_t i = 0; *st == STASH_OK && i < count; i++) {
        *st = chain_object(i, &meta, block);
        if (*st == STASH_OK)
            *st = batched ? stash_nco_batch_add(batch, meta, &d, block)
                          : stash_nco_append(path, meta, &d, block, 0);
        stash_value_free(&meta);
    }
    stash_status closed = stash_nco_batch_close(&batch);
    *st = *st != STASH_OK ? *st : closed;
    double seconds = bench_seconds() - started;
    unlink(path);
    unlink(index);
    return seconds;
}

static void bench_batch(struct bench_config *c)
{
    char path[4096], what[160], a[96], b[96], figure[64];
    size_t count = c->quick ? 500 : 2000;
    int rounds = bench_rounds(c);
    snprintf(path, sizeof path, "%s/stash-bench-batch.nco", c->scratch_dir);
    double single[BENCH_ROUNDS], batched[BENCH_ROUNDS], ratio[BENCH_ROUNDS];
    stash_status st = STASH_OK;
    for (int r = 0; st == STASH_OK && r < rounds; r++) { /* the order alternates */
        stash_status single_st = STASH_OK, batch_st = STASH_OK;
        if (r % 2)
            batched[r] = seconds_to_append(path, count, true, &batch_st);
        single[r] = seconds_to_append(path, count, false, &single_st);
        if (r % 2 == 0)
            batched[r] = seconds_to_append(path, count, true, &batch_st);
        st = single_st != STASH_OK ? single_st : batch_st;
        ratio[r] = single[r] / batched[r];
    }
    if (st != STASH_OK) {
        bench_fail_status(c, path, st);
        return;
    }
    snprintf(what, sizeof what,
             "Cache objects: append small objects to one chain (medians of %d rounds)", rounds);
    bench_table_against(c, what, "one `stash_nco_append` per object, interleaved.");
    snprintf(what, sizeof what,
             "%zu appends through one stash_nco_batch (ratio: speed-up over single appends)",
             count);
    bench_spread(figure, sizeof figure, batched, (size_t)rounds, 1e3, 3, "ms");
    snprintf(a, sizeof a, "%s", figure);
    bench_spread(figure, sizeof figure, single, (size_t)rounds, 1e3, 3, "ms");
    snprintf(b, sizeof b, "%s", figure);
    bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, ">= 10");
}

static const char NCO_METHOD[] =
    "**Baselines.** Writes: `write()` of 8 MiB chunks of the same bytes into a new file. Reads:\n"
    "`pread()` of the file into a buffer, then the same sum. Open + map: the bare system calls\n"
    "no reader can avoid, made on the same file (open, fstat, a pread of the header, mmap,\n"
    "close, munmap), with no parsing or checks. Appends: one `stash_nco_append` per object (a\n"
    "lock, a chain lookup and an index rewrite each) beside one `stash_nco_batch` (one lock, one\n"
    "index write at close). NumPy (`/usr/bin/python3`) and nengo's own chain walk in Python\n"
    "(`struct.unpack` of each header and a seek) are peer rows; the 50 us and 100 us budgets are\n"
    "informational.\n\n"
    "Every table runs stash and its baseline in interleaved rounds and gives the median ratio\n"
    "with its spread. Writes each start after `sync()`, because the page cache slows writers\n"
    "once the dirty backlog of earlier runs crosses the kernel's thresholds; stash saves into a\n"
    "new file too, and `stash_nco_pack` writes the pickle, the NPY part and the index, aside and\n"
    "renamed. Lookups are medians of complete open, find, map and close cycles; the chain holds\n"
    "10 000 objects of a 4x4 float32 and a one-key dict, and a reader checks every header of it\n"
    "whether it uses the index or walks (docs/nco.md).\n";

void bench_nco(struct bench_config *c)
{
    bench_section(c, "Cache objects: NPY arrays and NCO files", NCO_METHOD);
    char npy_path[4096], raw_path[4096], nco_path[4096], numpy_path[4200], index[4200];
    snprintf(npy_path, sizeof npy_path, "%s/stash-bench-array.npy", c->scratch_dir);
    snprintf(raw_path, sizeof raw_path, "%s/stash-bench-array.raw", c->scratch_dir);
    snprintf(nco_path, sizeof nco_path, "%s/stash-bench-array.nco", c->scratch_dir);
    struct subject s = {npy_path, raw_path, nco_path, {0}, NULL, (c->quick ? 32 : 512) * MIB};
    uint64_t shape[] = {s.bytes / 8};
    stash_array_desc_init(&s.desc, STASH_DTYPE_FLOAT64, 1, shape);
    if ((s.values = malloc(s.bytes)) == NULL) {
        bench_fail_status(c, "nco: the array", -ENOMEM);
        return;
    }
    for (size_t i = 0; i < s.bytes / 8; i++)
        s.values[i] = (double)i;
    /* One save first: a scratch directory that cannot take files fails here, with its reason. */
    stash_status status = stash_npy_save(s.npy_path, &s.desc, s.values, 0);
    if (status != STASH_OK) {
        bench_fail_status(c, s.npy_path, status);
        free(s.values);
        return;
    }
    bench_writes(c, &s);
    bench_reads(c, &s);
    bench_open(c, &s);
    bench_chain(c);
    bench_batch(c);
    free(s.values);
    snprintf(numpy_path, sizeof numpy_path, "%s.numpy.npy", npy_path);
    unlink(npy_path);
    unlink(raw_path);
    unlink(numpy_path);
    unlink(nco_path);
    snprintf(index, sizeof index, "%s.stashidx", nco_path);
    unlink(index);
}
