/*
 * Benchmarks of memory files: 8-byte and 4 KiB transfers at random offsets
 * in a 64 MiB file, each beside a baseline measured in the same run: memcpy
 * at the same offsets in a malloc'd block, pread(2) on a memfd, fmemopen +
 * fseek + fread, and Python's io.BytesIO seek + read.
 */
#include "bench_memfile.h"

#include <stash/stash.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define OFFSETS 65536 /* a ring of random offsets, small enough to stay in cache */
#define REPS 31 /* many short trials: this host's memory speed swings within milliseconds */

/* What every trial gets: the file's size, the offsets and the targets of each
 * way of reaching the bytes. */
struct subject {
    size_t size, len;
    uint32_t offsets[OFFSETS];
    unsigned char *block; /* the baseline: plain memory */
    stash_memfile *mf, *locked; /* default and STASH_MEMFILE_LOCKED */
    stash_stream *handle;
    FILE *memfile_stdio, *fmem;
    int memfd;
    unsigned char buf[4096];
};

typedef void (*trial)(struct subject *s, size_t n);

/* memcpy with a length the compiler cannot see: a real call, as in pread. */
__attribute__((noinline)) static void copy(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}

static void baseline_read(struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        copy(s->buf, s->block + s->offsets[i % OFFSETS], s->len);
}

static void baseline_write(struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        copy(s->block + s->offsets[i % OFFSETS], s->buf, s->len);
}

static void pread_each(stash_memfile *mf, struct subject *s, size_t n)
{
    size_t got;
    for (size_t i = 0; i < n; i++)
        stash_memfile_pread(mf, s->buf, s->len, s->offsets[i % OFFSETS], &got);
}

static void memfile_read(struct subject *s, size_t n)
{
    pread_each(s->mf, s, n);
}

static void memfile_write(struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        stash_memfile_pwrite(s->mf, s->buf, s->len, s->offsets[i % OFFSETS]);
}

static void locked_read(struct subject *s, size_t n)
{
    pread_each(s->locked, s, n);
}

static void handle_read(struct subject *s, size_t n)
{
    size_t got;
    for (size_t i = 0; i < n; i++)
        stash_stream_pread(s->handle, s->buf, s->len, s->offsets[i % OFFSETS], &got);
}

static void memfd_pread(struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bench_sink((uint64_t)pread(s->memfd, s->buf, s->len, s->offsets[i % OFFSETS]));
}

static void memfd_pwrite(struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bench_sink((uint64_t)pwrite(s->memfd, s->buf, s->len, s->offsets[i % OFFSETS]));
}

static void stdio_read(FILE *f, struct subject *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fseek(f, s->offsets[i % OFFSETS], SEEK_SET);
        bench_sink(fread(s->buf, 1, s->len, f));
    }
}

static void fmemopen_read(struct subject *s, size_t n)
{
    stdio_read(s->fmem, s, n);
}

static void memfile_stdio_read(struct subject *s, size_t n)
{
    stdio_read(s->memfile_stdio, s, n);
}

/* Each run is timed in its own steady state: a short untimed lead-in first
 * refills the caches and TLB that the other side's run (system calls, with
 * page-table isolation) has just emptied. */
static double ns_per_op(trial t, struct subject *s, size_t n)
{
    t(s, n / 8);
    double t0 = bench_seconds();
    t(s, n);
    return (bench_seconds() - t0) / (double)n * 1e9;
}

/* Figures of one comparison: the median of each side, and the median of the
 * per-pair ratios ours / baseline. */
struct pair {
    double ours_ns, base_ns, ratio;
    size_t rounds;       /* of ratios; 0 for a single figure (ratio alone) */
    double ratios[REPS]; /* each round's ours / baseline */
};

/*
 * REPS short runs of each, interleaved, the order alternating. This host's
 * memory speed swings by 3x within milliseconds, so a lone minimum is luck;
 * a run and its neighbour see the same machine, and the median of their
 * ratios is what repeats from one invocation to the next.
 */
static struct pair time_pair(trial ours, trial baseline, struct subject *s, size_t n)
{
    double o[REPS], b[REPS];
    struct pair p = {.rounds = REPS};
    for (int r = 0; r < REPS; r++) { /* the order alternates: neither is always warmer */
        if (r % 2)
            o[r] = ns_per_op(ours, s, n);
        b[r] = ns_per_op(baseline, s, n);
        if (r % 2 == 0)
            o[r] = ns_per_op(ours, s, n);
        p.ratios[r] = o[r] / b[r];
    }
    p.ours_ns = bench_median(o, REPS);
    p.base_ns = bench_median(b, REPS);
    p.ratio = bench_stats_of(p.ratios, REPS).median;
    return p;
}

/* ---- Set-up -------------------------------------------------------------- */

static void pick_offsets(struct subject *s, size_t len)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    s->len = len;
    for (size_t i = 0; i < OFFSETS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        s->offsets[i] = (uint32_t)(x % (s->size - len));
    }
}

static bool open_subject(struct subject *s, size_t size)
{
    memset(s, 0, sizeof *s);
    s->size = size;
    s->memfd = -1;
    if ((s->block = malloc(size)) == NULL)
        return false;
    for (size_t i = 0; i < size; i++)
        s->block[i] = (unsigned char)(i * 131 + 7);
    if (stash_memfile_create("bench", NULL, &s->mf) != STASH_OK ||
        stash_memfile_pwrite(s->mf, s->block, size, 0) != STASH_OK ||
        stash_memfile_open(s->mf, "r+", &s->handle) != STASH_OK ||
        stash_memfile_fopen(s->mf, "r", &s->memfile_stdio) != STASH_OK)
        return false;
    stash_memfile_options locked = {.flags = STASH_MEMFILE_LOCKED};
    if (stash_memfile_create("bench-locked", &locked, &s->locked) != STASH_OK ||
        stash_memfile_pwrite(s->locked, s->block, size, 0) != STASH_OK)
        return false;
    s->fmem = fmemopen(s->block, size, "r");
    s->memfd = memfd_create("bench-memfd", MFD_CLOEXEC);
    return s->fmem != NULL && s->memfd >= 0 &&
           pwrite(s->memfd, s->block, size, 0) == (ssize_t)size;
}

static void close_subject(struct subject *s)
{
    if (s->fmem != NULL)
        fclose(s->fmem);
    if (s->memfile_stdio != NULL)
        fclose(s->memfile_stdio);
    stash_stream_close(&s->handle);
    stash_memfile_close(&s->mf);
    stash_memfile_close(&s->locked);
    if (s->memfd >= 0)
        close(s->memfd);
    free(s->block);
}

/* ---- Tables -------------------------------------------------------------- */

/* The pair's row: its rounds' ratios (flipped to baseline / ours if speed_up), or its one. */
static void pair_row(struct bench_config *c, const char *what, const char *a, const char *b,
                     const struct pair *p, bool speed_up, const char *target)
{
    double ratios[REPS];
    for (size_t r = 0; r < p->rounds; r++)
        ratios[r] = speed_up ? 1 / p->ratios[r] : p->ratios[r];
    if (p->rounds > 0)
        bench_row_rounds(c, what, a, b, ratios, p->rounds, target);
    else
        bench_row(c, what, a, b, speed_up ? 1 / p->ratio : p->ratio, target);
}

/* A row comparing times (medians); speed_up flips the ratio to baseline / ours. */
static void row(struct bench_config *c, const char *what, struct pair p, const char *base_name,
                bool speed_up, const char *target)
{
    char a[64], b[96];
    snprintf(a, sizeof a, "%.1f ns", p.ours_ns);
    snprintf(b, sizeof b, "%.1f ns (%s)", p.base_ns, base_name);
    pair_row(c, what, a, b, &p, speed_up, target);
}

/* A row comparing throughput (medians): the ratio is ours / memcpy's. */
static void row_gbs(struct bench_config *c, const char *what, struct pair p, size_t len,
                    const char *target)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%.2f GB/s", (double)len / p.ours_ns);
    snprintf(b, sizeof b, "%.2f GB/s (memcpy)", (double)len / p.base_ns);
    pair_row(c, what, a, b, &p, true, target);
}

static double python_bytesio_ns(size_t size)
{
    char program[1024];
    snprintf(program, sizeof program,
             "import io, random, time\n"
             "f = io.BytesIO(bytes(%zu))\n"
             "offs = [random.randrange(%zu) for _ in range(200000)]\n"
             "best = 1e9\n"
             "for _ in range(5):\n"
             "    t = time.perf_counter()\n"
             "    for o in offs:\n"
             "        f.seek(o); f.read(8)\n"
             "    best = min(best, (time.perf_counter() - t) / len(offs) * 1e9)\n"
             "print(best)\n",
             size, size - 8);
    return bench_python(program);
}

static void bench_small_reads(struct bench_config *c, struct subject *s, size_t n)
{
    pick_offsets(s, 8);
    struct pair vs_memcpy = time_pair(memfile_read, baseline_read, s, n);
    struct pair vs_syscall = time_pair(memfile_read, memfd_pread, s, n / 4);
    struct pair ceiling = time_pair(baseline_read, memfd_pread, s, n / 4);
    struct pair handle = time_pair(handle_read, memfd_pread, s, n / 4);
    struct pair vs_fmemopen = time_pair(memfile_read, fmemopen_read, s, n / 16);
    struct pair stdio = time_pair(memfile_stdio_read, fmemopen_read, s, n / 16);
    struct pair locked = time_pair(locked_read, baseline_read, s, n);
    struct pair writes = time_pair(memfile_write, baseline_write, s, n);
    struct pair write_syscall = time_pair(memfile_write, memfd_pwrite, s, n / 4);
    struct pair python = {vs_memcpy.ours_ns, python_bytesio_ns(s->size), NAN, 0, {0}};
    python.ratio = python.ours_ns / python.base_ns;

    bench_table_against(c, "Memory file: 8-byte transfers at random offsets in 64 MiB",
                        "`memcpy` of 8 bytes at the same offsets in a malloc'd block (the "
                        "limit); the system's `pread(2)`, `pwrite(2)` and `fmemopen` and "
                        "Python's `io.BytesIO` for context.");
    row(c, "stash_memfile_pread 8 B (ratio: time / memcpy's)", vs_memcpy, "memcpy", false,
        "<= 2");
    /* No target: how much a system call costs beside a memcpy varies between machines of
     * one design (the next row is the ceiling); the target is the row above. */
    row(c, "stash_memfile_pread 8 B (ratio: speed-up over memfd pread)", vs_syscall,
        "pread(2) on a memfd", true, NULL);
    row(c, "memcpy 8 B (speed-up over memfd pread: the ceiling of the row above)", ceiling,
        "pread(2) on a memfd", true, NULL);
    row(c, "handle stash_stream_pread 8 B (speed-up over memfd pread)", handle,
        "pread(2) on a memfd", true, NULL);
    row(c, "stash_memfile_pread 8 B (speed-up over fmemopen+fseek+fread)", vs_fmemopen,
        "fmemopen", true, NULL);
    row(c, "memfile FILE * fseek+fread 8 B (ratio: time / fmemopen's)", stdio, "fmemopen",
        false, NULL);
    row(c, "stash_memfile_pread 8 B (speed-up over Python BytesIO seek+read)", python,
        "io.BytesIO", true, NULL);
    row(c, "locked memory file pread 8 B (ratio: time / memcpy's)", locked, "memcpy", false,
        NULL);
    row(c, "stash_memfile_pwrite 8 B (ratio: time / memcpy's)", writes, "memcpy", false, NULL);
    row(c, "stash_memfile_pwrite 8 B (speed-up over memfd pwrite)", write_syscall,
        "pwrite(2) on a memfd", true, NULL);
}

static void bench_page_transfers(struct bench_config *c, struct subject *s, size_t n)
{
    pick_offsets(s, 4096);
    struct pair reads = time_pair(memfile_read, baseline_read, s, n);
    struct pair writes = time_pair(memfile_write, baseline_write, s, n);
    bench_table_against(c, "Memory file: 4 KiB transfers at random offsets (ratio: share of "
                           "memcpy throughput)",
                        "`memcpy` of 4 KiB at the same offsets in a malloc'd block.");
    row_gbs(c, "stash_memfile_pread 4 KiB", reads, 4096, ">= 0.8");
    row_gbs(c, "stash_memfile_pwrite 4 KiB", writes, 4096, ">= 0.8");
}

/* Last, because the export is for good: reads within the size stay memcpys. */
static void bench_after_export(struct bench_config *c, struct subject *s, size_t n)
{
    int fd;
    stash_status status = stash_memfile_fd(s->mf, &fd);
    if (status != STASH_OK) {
        bench_fail_status(c, "memfile: exporting the descriptor", status);
        return;
    }
    close(fd);
    pick_offsets(s, 8);
    struct pair exported = time_pair(memfile_read, baseline_read, s, n);
    bench_table_against(c, "Memory file after its descriptor was exported",
                        "`memcpy` of 8 bytes at the same offsets in a malloc'd block.");
    row(c, "exported memory file pread 8 B (ratio: time / memcpy's)", exported, "memcpy",
        false, NULL);
}

static const char MEMFILE_METHOD[] =
    "**Baselines.** `memcpy` of the same length at the same offsets in a malloc'd block: the\n"
    "limit of a transfer in memory, and what the targets are held to. `pread(2)`/`pwrite(2)` on a\n"
    "memfd and `fmemopen` are the system's other ways, with no target: the `memcpy` ceiling row\n"
    "shows that a bare copy is itself only about 18x to 23x faster than the system call here,\n"
    "and that factor differs between machines. Python's `io.BytesIO` seek + read(8) under\n"
    "`/usr/bin/python3` is a peer row.\n\n"
    "The memory of this host swings about 3x in speed within milliseconds, so each figure is the\n"
    "median of 31 short rounds, interleaved with its baseline in alternating order, each after\n"
    "an untimed lead-in that refills the caches and TLB; each ratio is the median of the\n"
    "rounds' ratios, with their spread.\n";

void bench_memfile(struct bench_config *c)
{
    bench_section(c, "Memory files", MEMFILE_METHOD);
    struct subject *s = malloc(sizeof *s);
    size_t size = 64 * MIB, n = c->quick ? 20000 : 200000;
    if (s == NULL || !open_subject(s, size)) {
        bench_fail(c, "memfile", "set-up failed (memory files, a memfd or fmemopen)");
        if (s != NULL)
            close_subject(s);
        free(s);
        return;
    }
    bench_small_reads(c, s, n);
    bench_page_transfers(c, s, n / 4);
    bench_after_export(c, s, n);
    close_subject(s);
    free(s);
}
