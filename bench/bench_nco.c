/*
 * Benchmarks of cache objects. So far the array part: saving a large float64
 * array as NPY beside raw write() of the same bytes and numpy.save, reading
 * it back through a map beside raw read() and numpy.load, and the time to
 * open, locate and map an array. NCO rows come with the NCO format.
 */
#include "bench_nco.h"

#include <stash/stash.h>

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define REPS 5
#define OPEN_REPS 2000

struct subject {
    const char *npy_path, *raw_path;
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

static void bench_writes(struct bench_config *c, struct subject *s)
{
    double ours[REPS], raw[REPS], numpy[REPS], ratio[REPS], numpy_ratio[REPS];
    for (int r = 0; r < REPS; r++) { /* all three interleaved, each after a sync */
        sync();
        raw[r] = seconds_to_write_raw(s);
        sync();
        ours[r] = seconds_to_save(s);
        numpy[r] = numpy_seconds("os.unlink(path); np.save(path, a)", s, 1);
        ratio[r] = raw[r] / ours[r];
        numpy_ratio[r] = ours[r] / numpy[r];
    }
    double ours_s = bench_median(ours, REPS), raw_s = bench_median(raw, REPS);
    double gb = (double)s->bytes / 1e9;
    char a[64], b[96];
    bench_table(c, "Cache objects: saving a float64 array as NPY (medians of 5, interleaved)");
    snprintf(a, sizeof a, "%.2f GB/s", gb / ours_s);
    snprintf(b, sizeof b, "%.2f GB/s (write() of 8 MiB)", gb / raw_s);
    bench_row(c, "stash_npy_save (ratio: share of raw write() throughput)", a, b,
              bench_median(ratio, REPS), ">= 0.9");
    snprintf(b, sizeof b, "%.2f GB/s (numpy.save)", gb / bench_median(numpy, REPS));
    bench_row(c, "stash_npy_save (ratio: time / numpy.save's)", a, b,
              bench_median(numpy_ratio, REPS), "<= 1");
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
    if (buffer == NULL)
        return;
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

    double ours_s = bench_median(ours, REPS), gb = (double)s->bytes / 1e9;
    char a[64], b[96];
    bench_table(c, "Cache objects: reading the array back and summing it (median of 5)");
    snprintf(a, sizeof a, "%.2f GB/s", gb / ours_s);
    snprintf(b, sizeof b, "%.2f GB/s (read() into a buffer)", gb / bench_median(raw, REPS));
    bench_row(c, "stash_npy_map_open + sum (ratio: speed-up over read())", a, b,
              bench_median(ratio, REPS), NULL);
    snprintf(b, sizeof b, "%.2f GB/s (numpy.load)", gb / numpy_load);
    bench_row(c, "stash_npy_map_open + sum (ratio: speed-up over numpy.load)", a, b,
              numpy_load / ours_s, NULL);
    snprintf(b, sizeof b, "%.2f GB/s (numpy.load mmap)", gb / numpy_mmap);
    bench_row(c, "stash_npy_map_open + sum (ratio: speed-up over numpy.load mmap)", a, b,
              numpy_mmap / ours_s, NULL);
}

/* ---- Opening -------------------------------------------------------------- */

static void bench_open(struct bench_config *c, struct subject *s)
{
    double t0 = bench_seconds();
    for (int i = 0; i < OPEN_REPS; i++) {
        stash_npy_map *map;
        if (stash_npy_map_open(s->npy_path, &map) != STASH_OK)
            return;
        bench_sink((uint64_t)(uintptr_t)stash_npy_map_data(map));
        stash_npy_map_close(&map);
    }
    double ours_us = (bench_seconds() - t0) / OPEN_REPS * 1e6;
    double numpy_us = numpy_seconds("np.load(path, mmap_mode=\"r\")", s, 101) * 1e6;
    char a[64], b[96];
    bench_table(c, "Cache objects: open + locate + map an array, whatever its size");
    snprintf(a, sizeof a, "%.1f us", ours_us);
    snprintf(b, sizeof b, "50 us (the budget)");
    bench_row(c, "stash_npy_map_open + close (ratio: time / budget)", a, b, ours_us / 50, "<= 1");
    snprintf(b, sizeof b, "%.1f us (numpy.load mmap_mode=r)", numpy_us);
    bench_row(c, "stash_npy_map_open + close (ratio: speed-up over numpy)", a, b,
              numpy_us / ours_us, NULL);
}

void bench_nco(struct bench_config *c)
{
    char npy_path[4096], raw_path[4096], numpy_path[4200];
    snprintf(npy_path, sizeof npy_path, "%s/stash-bench-array.npy", c->scratch_dir);
    snprintf(raw_path, sizeof raw_path, "%s/stash-bench-array.raw", c->scratch_dir);
    struct subject s = {npy_path, raw_path, {0}, NULL, (c->quick ? 32 : 512) * MIB};
    uint64_t shape[] = {s.bytes / 8};
    stash_array_desc_init(&s.desc, STASH_DTYPE_FLOAT64, 1, shape);
    if ((s.values = malloc(s.bytes)) == NULL)
        return;
    for (size_t i = 0; i < s.bytes / 8; i++)
        s.values[i] = (double)i;
    bench_writes(c, &s);
    bench_reads(c, &s);
    bench_open(c, &s);
    free(s.values);
    snprintf(numpy_path, sizeof numpy_path, "%s.numpy.npy", npy_path);
    unlink(npy_path);
    unlink(raw_path);
    unlink(numpy_path);
}
