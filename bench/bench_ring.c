/*
 * Benchmarks of the shared ring: 64 channels of float32 in a ring of 65536
 * samples (16 MiB), each figure beside a baseline measured in the same run.
 *
 *  - Throughput. A writer process puts chunks of 32 or 1024 samples as fast
 *    as it can and never waits for the reader. A reader process follows
 *    chunk by chunk: wait (spinning), view, a sum of every float, validate;
 *    when it is lapped it starts again half a ring behind the writer and
 *    counts what it lost. The figure is the samples it received valid per
 *    second, beside memcpy of the same chunks into a 16 MiB buffer, and
 *    beside liblsl's published 150 MB/s (a figure from its tracker, not
 *    measured here).
 *  - Views. View + sum of a wrapped window beside an unwrapped one of the
 *    same length, and view alone of 65536 samples beside 64.
 *  - Wake-up latency from a put to a reader in another process, blocked on
 *    its futex or spinning, against absolute targets; the same hand-off
 *    done raw (a futex, a spin on a shared page) is printed for context.
 *  - rdaclient's design (its RingBuffer): a Python ring in one
 *    multiprocessing shared array with NumPy, run by /usr/bin/python3.
 *
 * Rings are shared memory objects named for this process and removed as
 * soon as their reader has attached (handles outlive the name), so nothing
 * stays behind. Readers are forked children that attach by name, so their
 * mappings are populated as any real reader's are; each reports through a
 * pipe and leaves with _exit.
 */
#include "bench_ring.h"

#include <stash/stash.h>

#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHANNELS 64u
#define FRAME_BYTES ((uint64_t)CHANNELS * sizeof(float))
#define CAPACITY ((uint64_t)65536)      /* samples: 16 MiB, whole pages, so mirrored */
#define SOURCE_SAMPLES ((uint64_t)1024) /* the writer's source, 256 KiB, cycled through */
#define VIEW_WINDOW ((uint64_t)1024)    /* samples in a viewed window: 256 KiB */
#define MIB ((uint64_t)1 << 20)
#define SECOND_NS INT64_C(1000000000)
#define READER_TIMEOUT_NS (10 * SECOND_NS) /* a child never hangs the run */
#define WARM_UP 16 /* wake-ups not counted */
#define NAME_CHARS 64
#define LIBLSL_BYTES_PER_S 150e6 /* liblsl PR #135: ~2500 int16 ch at 30 kHz on localhost */

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * SECOND_NS + t.tv_nsec;
}

/* Waits without sleeping, so this core stays awake as a busy writer's would. */
static void busy_wait_ns(int64_t ns)
{
    int64_t until = now_ns() + ns;
    while (now_ns() < until)
        continue;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Keeps a float alive without converting it (a conversion could overflow). */
static void sink_float(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    bench_sink(bits);
}

/* Sums every float in eight lanes: how a consumer reads a window. */
static float sum_floats(const float *v, size_t n)
{
    float lanes[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++)
            lanes[j] += v[i + j];
    for (; i < n; i++)
        lanes[0] += v[i];
    float total = 0;
    for (size_t j = 0; j < 8; j++)
        total += lanes[j];
    return total;
}

/* ---- Rings and reader processes ------------------------------------------------ */

static void ring_name(char name[NAME_CHARS])
{
    static unsigned serial;
    snprintf(name, NAME_CHARS, "stash-bench-ring-%ld-%u", (long)getpid(), serial++);
}

static stash_status create_ring(const char *name, unsigned flags, stash_ring **writer)
{
    stash_ring_config cfg = {.channels = CHANNELS, .capacity_samples = CAPACITY,
                             .dtype = STASH_DTYPE_FLOAT32, .flags = flags};
    return stash_ring_create(name, &cfg, writer);
}

static bool send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        p += done, n -= (size_t)done;
    }
    return true;
}

static bool recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t done = read(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false; /* the child died */
        p += done, n -= (size_t)done;
    }
    return true;
}

/* What a child runs: it first sends a stash_status (ready or not), then its result. */
typedef void (*child_body)(const void *job, int out);

struct child {
    pid_t pid;
    int in; /* what the child sends */
};

/* Forks a child running body; STASH_OK once it has said it is ready. */
static stash_status child_start(child_body body, const void *job, struct child *ch)
{
    int fds[2];
    *ch = (struct child){.pid = -1, .in = -1};
    if (pipe(fds) != 0)
        return -errno;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        body(job, fds[1]);
        _exit(0);
    }
    if (pid < 0) {
        stash_status st = -errno;
        close(fds[0]);
        close(fds[1]);
        return st;
    }
    close(fds[1]);
    *ch = (struct child){.pid = pid, .in = fds[0]};
    stash_status st;
    if (!recv_all(ch->in, &st, sizeof st))
        st = -ECHILD;
    return st;
}

/* Reads the child's result (false if it died first) and waits for it to exit. */
static bool child_finish(struct child *ch, void *result, size_t size)
{
    bool ok = ch->in >= 0 && (result == NULL || recv_all(ch->in, result, size));
    if (ch->in >= 0)
        close(ch->in);
    if (ch->pid > 0)
        waitpid(ch->pid, NULL, 0);
    return ok;
}

/* In a child: attaches to name as a reader and tells the parent how that went. */
static stash_ring *attach_reader(const char *name, int out)
{
    stash_ring *r = NULL;
    stash_status st = stash_ring_attach(name, 0, &r);
    send_all(out, &st, sizeof st);
    return st == STASH_OK ? r : NULL;
}

/*
 * Creates a ring and starts body as its reader; the name is removed as soon
 * as the reader has attached (or failed to). On failure nothing is left.
 */
static stash_status ring_with_reader(unsigned flags, child_body body, void *job, char *name,
                                     stash_ring **writer, struct child *ch)
{
    ring_name(name);
    stash_status st = create_ring(name, flags, writer);
    if (st != STASH_OK)
        return st;
    st = child_start(body, job, ch);
    stash_ring_remove(name);
    if (st != STASH_OK) {
        stash_ring_close(writer);
        if (ch->pid > 0)
            child_finish(ch, NULL, 0);
    }
    return st;
}

/* ---- Throughput ------------------------------------------------------------------ */

struct stream_job {
    char name[NAME_CHARS];
    uint64_t chunk, total; /* samples */
};

struct stream_result {
    stash_status status;
    uint64_t valid, lost, lost_windows; /* samples received valid, lost; windows overwritten */
    int64_t end_ns;                     /* when the reader had seen the last sample */
    double seconds;                     /* from the writer's first put (parent) */
    double put_seconds;                 /* the writer's own time (parent) */
};

/* Where a lapped reader starts again: half a ring behind the writer, on a chunk. */
static uint64_t catch_up(const stash_ring *r, uint64_t pos, uint64_t chunk)
{
    uint64_t written = stash_ring_written(r);
    uint64_t next = written > CAPACITY / 2 ? (written - CAPACITY / 2) / chunk * chunk : 0;
    return next > pos ? next : pos + chunk;
}

static void stream_reader(const void *arg, int out)
{
    const struct stream_job *job = arg;
    struct stream_result res = {0};
    stash_ring *r = attach_reader(job->name, out);
    if (r == NULL)
        return;
    float checksum = 0;
    uint64_t pos = 0;
    while (pos < job->total) {
        uint64_t end = pos + job->chunk;
        const void *frames;
        res.status = stash_ring_wait(r, end, READER_TIMEOUT_NS, SECOND_NS);
        if (res.status != STASH_OK)
            break;
        stash_status st = stash_ring_view(r, pos, end, &frames);
        if (st == STASH_OK) {
            checksum += sum_floats(frames, job->chunk * CHANNELS);
            st = stash_ring_validate(r, pos);
        }
        if (st == STASH_OK) {
            res.valid += job->chunk;
            pos = end;
        } else if (st == STASH_E_OVERWRITTEN) {
            uint64_t next = catch_up(r, pos, job->chunk);
            res.lost += next - pos;
            res.lost_windows++;
            pos = next;
        } else {
            res.status = st;
            break;
        }
    }
    res.end_ns = now_ns();
    sink_float(checksum);
    send_all(out, &res, sizeof res);
    stash_ring_close(&r);
}

/* One writer-to-reader run of total samples in chunks. */
static void stream_trial(unsigned flags, uint64_t chunk, uint64_t total,
                         const unsigned char *src, struct stream_result *res)
{
    struct stream_job job = {.chunk = chunk, .total = total};
    stash_ring *w = NULL;
    struct child ch;
    *res = (struct stream_result){0};
    res->status = ring_with_reader(flags, stream_reader, &job, job.name, &w, &ch);
    if (res->status != STASH_OK)
        return;
    stash_status st = STASH_OK;
    int64_t t0 = now_ns();
    for (uint64_t k = 0; st == STASH_OK && k < total; k += chunk)
        st = stash_ring_put(w, src + k % SOURCE_SAMPLES * FRAME_BYTES, chunk);
    int64_t t_put = now_ns();
    stash_ring_close(&w); /* a reader still waiting for more learns the writer has gone */
    if (!child_finish(&ch, res, sizeof *res))
        res->status = -ECHILD;
    if (st != STASH_OK)
        res->status = st;
    res->seconds = (double)(res->end_ns - t0) * 1e-9;
    res->put_seconds = (double)(t_put - t0) * 1e-9;
}

/* The baseline: the writer's copies alone, into plain memory of the ring's size. */
__attribute__((noinline)) static void copy_chunks(unsigned char *dst, const unsigned char *src,
                                                  uint64_t chunk, uint64_t total)
{
    for (uint64_t k = 0; k < total; k += chunk)
        memcpy(dst + k % CAPACITY * FRAME_BYTES, src + k % SOURCE_SAMPLES * FRAME_BYTES,
               chunk * FRAME_BYTES);
}

static double memcpy_seconds(unsigned char *dst, const unsigned char *src, uint64_t chunk,
                             uint64_t total)
{
    copy_chunks(dst, src, chunk, CAPACITY); /* a lap untimed: every page mapped, as the ring's */
    int64_t t0 = now_ns();
    copy_chunks(dst, src, chunk, total);
    double seconds = (double)(now_ns() - t0) * 1e-9;
    bench_sink(dst[total % CAPACITY * FRAME_BYTES / 2]);
    return seconds;
}

static double rate(const struct stream_result *r)
{
    return r->status == STASH_OK ? (double)r->valid / r->seconds : 0;
}

/* The best of trials runs for one chunk size: memcpy, mirrored and pocket interleaved. */
struct stream_case {
    uint64_t chunk, total; /* samples */
    double memcpy_seconds;
    struct stream_result layout[2]; /* mirrored, pocket */
};

static void measure_stream(struct stream_case *s, int trials, unsigned char *dst,
                           const unsigned char *src)
{
    static const unsigned flags[2] = {0, STASH_RING_FORCE_POCKET};
    uint64_t total = s->total;
    s->memcpy_seconds = INFINITY;
    for (int l = 0; l < 2; l++)
        s->layout[l] = (struct stream_result){.status = STASH_E_INVALID};
    for (int t = 0; t < trials; t++) {
        double m = memcpy_seconds(dst, src, s->chunk, total);
        s->memcpy_seconds = m < s->memcpy_seconds ? m : s->memcpy_seconds;
        for (int l = 0; l < 2; l++) {
            if (t > 0 && s->layout[l].status != STASH_OK)
                continue; /* a failed trial fails the measurement: it stays */
            struct stream_result r;
            stream_trial(flags[l], s->chunk, total, src, &r);
            if (t == 0 || r.status != STASH_OK || rate(&r) > rate(&s->layout[l]))
                s->layout[l] = r;
        }
    }
}

static void stream_figure(char *buf, size_t size, const struct stream_result *r)
{
    if (r->status != STASH_OK) {
        snprintf(buf, size, "n/a (%s)", stash_strerror(r->status));
        return;
    }
    double gbs = (double)r->valid * FRAME_BYTES / r->seconds / 1e9;
    double put_gbs = (double)(r->valid + r->lost) * FRAME_BYTES / r->put_seconds / 1e9;
    snprintf(buf, size,
             "%.2f GB/s = %.1f Msamples/s (writer %.2f GB/s; lost %llu samples, %llu windows "
             "overwritten)",
             gbs, (double)r->valid / r->seconds / 1e6, put_gbs, (unsigned long long)r->lost,
             (unsigned long long)r->lost_windows);
}

static void stream_rows(struct bench_config *c, const struct stream_case *cases, size_t n)
{
    static const char *const layout_names[2] = {"mirrored", "pocket"};
    char what[160], a[192], b[96];
    for (size_t i = 0; i < n; i++) {
        const struct stream_case *s = &cases[i];
        double memcpy_rate = (double)s->total / s->memcpy_seconds; /* samples per second */
        for (int l = 0; l < 2; l++) {
            const struct stream_result *r = &s->layout[l];
            snprintf(what, sizeof what,
                     "%llu-sample chunks, %s, received valid (ratio: / memcpy's rate)",
                     (unsigned long long)s->chunk, layout_names[l]);
            if (r->status != STASH_OK) {
                bench_fail_status(c, what, r->status);
                continue;
            }
            stream_figure(a, sizeof a, r);
            snprintf(b, sizeof b, "%.2f GB/s (memcpy of the same chunks into 16 MiB)",
                     memcpy_rate * FRAME_BYTES / 1e9);
            bench_row(c, what, a, b, rate(r) / memcpy_rate, l == 0 ? ">= 0.7" : NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct stream_result *r = &cases[i].layout[0];
        double bytes_per_s = rate(r) * FRAME_BYTES;
        snprintf(what, sizeof what,
                 "%llu-sample chunks, mirrored (ratio: / liblsl's published figure, not "
                 "measured here)",
                 (unsigned long long)cases[i].chunk);
        if (r->status != STASH_OK) {
            bench_fail_status(c, what, r->status);
            continue;
        }
        snprintf(a, sizeof a, "%.2f GB/s", bytes_per_s / 1e9);
        snprintf(b, sizeof b, "0.15 GB/s (liblsl PR #135, localhost)");
        bench_row(c, what, a, b, bytes_per_s / LIBLSL_BYTES_PER_S, ">= 20");
    }
}

/* Throughput against chunk size, for the plot: shorter runs than the rows above. */
static void chunk_sweep(struct bench_config *c, unsigned char *dst, const unsigned char *src)
{
    static const uint64_t chunks[] = {1, 4, 16, 64, 256, 1024};
    enum { POINTS = sizeof chunks / sizeof chunks[0] };
    uint64_t total_bytes = (c->quick ? 16 : 256) * MIB;
    double x[POINTS], y[3 * POINTS];
    char title[160], what[96], a[64], b[64];
    snprintf(title, sizeof title,
             "Shared ring: throughput against chunk size (%llu MiB per run, best of 2; "
             "ratio: mirrored / memcpy)",
             (unsigned long long)(total_bytes / MIB));
    bench_table(c, title);
    bool all_measured = true;
    for (size_t i = 0; i < POINTS; i++) {
        struct stream_case s = {.chunk = chunks[i], .total = total_bytes / FRAME_BYTES};
        measure_stream(&s, 2, dst, src);
        snprintf(what, sizeof what, "%llu-sample chunks", (unsigned long long)chunks[i]);
        stash_status failed = s.layout[0].status != STASH_OK ? s.layout[0].status
                                                              : s.layout[1].status;
        if (failed != STASH_OK) {
            bench_fail_status(c, what, failed);
            all_measured = false;
            continue;
        }
        x[i] = (double)chunks[i];
        for (int l = 0; l < 2; l++)
            y[l * POINTS + i] = rate(&s.layout[l]) * FRAME_BYTES / 1e9;
        y[2 * POINTS + i] = (double)s.total / s.memcpy_seconds * FRAME_BYTES / 1e9;
        snprintf(a, sizeof a, "%.2f GB/s mirrored, %.2f GB/s pocket", y[i], y[POINTS + i]);
        snprintf(b, sizeof b, "%.2f GB/s (memcpy)", y[2 * POINTS + i]);
        bench_row(c, what, a, b, y[i] / y[2 * POINTS + i], NULL);
    }
    if (!all_measured)
        return; /* no plot with holes */
    static const char *const names[] = {"ring, mirrored", "ring, pocket", "memcpy of the chunks"};
    bench_plot(c, &(struct bench_plot){.name = "ring-throughput",
                                       .title = "Shared ring: writer to reader process, 64 ch "
                                                "float32, 16 MiB ring",
                                       .x_label = "samples per put (chunk)",
                                       .y_label = "GB/s received valid",
                                       .series_count = 3, .points = POINTS,
                                       .series_names = names, .x = x, .y = y});
}

/* ---- Views ------------------------------------------------------------------------- */

/* The time of view + sum + validate of [first, first + n), per window. */
static double view_sum_ns(const stash_ring *r, uint64_t first, uint64_t n, int reps)
{
    const void *frames;
    float acc = 0;
    int64_t t0 = now_ns();
    for (int i = 0; i < reps; i++) {
        if (stash_ring_view(r, first, first + n, &frames) != STASH_OK)
            return NAN;
        acc += sum_floats(frames, n * CHANNELS);
        if (stash_ring_validate(r, first) != STASH_OK)
            return NAN;
    }
    double ns = (double)(now_ns() - t0) / reps;
    sink_float(acc);
    return ns;
}

/* The time of one view of [first, end), alone. */
static double view_ns(const stash_ring *r, uint64_t first, uint64_t end, long reps)
{
    const void *frames;
    uintptr_t mix = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < reps; i++) {
        if (stash_ring_view(r, first, end, &frames) != STASH_OK)
            return NAN;
        mix += (uintptr_t)frames;
    }
    double ns = (double)(now_ns() - t0) / (double)reps;
    bench_sink(mix);
    return ns;
}

static double min_of(double a, double b)
{
    return isnan(a) || b < a ? b : a;
}

enum { UNWRAPPED, WRAPPED, VIEW_SMALL, VIEW_WHOLE, VIEW_FIGURES };

/* The best of trials for each figure, on a ring of the given layout. */
static stash_status measure_views(unsigned flags, const unsigned char *src, int trials, int reps,
                                  long view_reps, double best[VIEW_FIGURES])
{
    char name[NAME_CHARS];
    stash_ring *w = NULL, *r = NULL;
    ring_name(name);
    stash_status st = create_ring(name, flags, &w);
    if (st != STASH_OK)
        return st;
    st = stash_ring_attach(name, 0, &r);
    stash_ring_remove(name);
    /* A lap and a bit: wrapped windows exist, and the whole ring is readable. */
    for (uint64_t k = 0; st == STASH_OK && k < CAPACITY + VIEW_WINDOW; k += SOURCE_SAMPLES)
        st = stash_ring_put(w, src, SOURCE_SAMPLES);
    uint64_t written = CAPACITY + VIEW_WINDOW;
    for (int f = 0; f < VIEW_FIGURES; f++)
        best[f] = NAN;
    for (int t = 0; st == STASH_OK && t < trials; t++) {
        best[UNWRAPPED] = min_of(best[UNWRAPPED], view_sum_ns(r, CAPACITY / 2, VIEW_WINDOW, reps));
        best[WRAPPED] = min_of(best[WRAPPED],
                               view_sum_ns(r, CAPACITY - VIEW_WINDOW / 2, VIEW_WINDOW, reps));
        best[VIEW_SMALL] = min_of(best[VIEW_SMALL], view_ns(r, written - 64, written, view_reps));
        best[VIEW_WHOLE] =
            min_of(best[VIEW_WHOLE], view_ns(r, written - CAPACITY, written, view_reps));
    }
    for (int f = 0; st == STASH_OK && f < VIEW_FIGURES; f++)
        if (isnan(best[f]))
            st = STASH_E_RANGE; /* a view the ring refused */
    stash_ring_close(&r);
    stash_ring_close(&w);
    return st;
}

static void view_rows(struct bench_config *c, const unsigned char *src)
{
    int trials = c->quick ? 3 : 9, reps = c->quick ? 200 : 2000;
    long view_reps = c->quick ? 100000 : 1000000;
    double mirrored[VIEW_FIGURES], pocket[VIEW_FIGURES];
    stash_status st_m = measure_views(0, src, trials, reps, view_reps, mirrored);
    stash_status st_p =
        measure_views(STASH_RING_FORCE_POCKET, src, trials, reps, view_reps, pocket);

    char title[192], a[96], b[96];
    snprintf(title, sizeof title,
             "Shared ring: views of a 16 MiB ring, 64 ch float32 (best of %d trials of %d "
             "windows, or %ld views alone)",
             trials, reps, view_reps);
    bench_table(c, title);
    const double *figures[2] = {mirrored, pocket};
    const stash_status status[2] = {st_m, st_p};
    static const char *const names[2] = {"mirrored", "pocket"};
    double window_bytes = (double)(VIEW_WINDOW * FRAME_BYTES);
    for (int l = 0; l < 2; l++) {
        const double *f = figures[l];
        char what[160];
        snprintf(what, sizeof what,
                 "view + sum of a wrapped 1024-sample window, %s (ratio: time / unwrapped)",
                 names[l]);
        if (status[l] != STASH_OK) {
            bench_fail_status(c, what, status[l]);
            continue;
        }
        snprintf(a, sizeof a, "%.1f us (%.1f GB/s)", f[WRAPPED] / 1e3,
                 window_bytes / f[WRAPPED]);
        snprintf(b, sizeof b, "%.1f us (%.1f GB/s) unwrapped", f[UNWRAPPED] / 1e3,
                 window_bytes / f[UNWRAPPED]);
        bench_row(c, what, a, b, f[WRAPPED] / f[UNWRAPPED], l == 0 ? "<= 1.1" : NULL);
    }
    if (st_m == STASH_OK) {
        snprintf(a, sizeof a, "%.1f ns", mirrored[VIEW_WHOLE]);
        snprintf(b, sizeof b, "%.1f ns (64 samples)", mirrored[VIEW_SMALL]);
        bench_row(c, "stash_ring_view alone, 65536 samples (ratio: time / 64 samples')", a, b,
                  mirrored[VIEW_WHOLE] / mirrored[VIEW_SMALL], "<= 1.1");
    }
}

/* ---- Wake-up latency ------------------------------------------------------------------ */

/* The raw hand-off: a counter and a timestamp on a shared page. */
struct raw_handoff {
    _Atomic uint32_t seq; /* also the futex word */
    _Atomic int64_t t0_ns;
};

struct latency_job {
    char name[NAME_CHARS]; /* the ring's; unused for a raw hand-off */
    int count;
    int64_t spin_ns;         /* the reader's spin before blocking; 0: block at once */
    struct raw_handoff *raw; /* NULL: through the ring */
};

struct latency_result {
    stash_status status;
    double median_ns, p99_ns;
    long sleeps; /* the reader's voluntary context switches while measured */
};

static long futex(_Atomic uint32_t *word, int op, uint32_t value)
{
    return syscall(SYS_futex, (uint32_t *)word, op, value, NULL, NULL, 0);
}

/* Waits on the raw hand-off for seq >= target; returns when it arrived. */
static int64_t raw_wait(struct raw_handoff *h, uint32_t target, bool spin, int64_t *t0)
{
    uint32_t seen;
    while ((seen = atomic_load_explicit(&h->seq, memory_order_acquire)) < target) {
        if (spin)
            cpu_relax();
        else
            futex(&h->seq, FUTEX_WAIT, seen);
    }
    int64_t t1 = now_ns();
    *t0 = atomic_load_explicit(&h->t0_ns, memory_order_relaxed);
    return t1;
}

/* Waits for sample i on the ring; its first 8 bytes hold the writer's t0. */
static stash_status ring_wait_one(const stash_ring *r, uint64_t i, int64_t spin_ns, int64_t *t0,
                                  int64_t *t1)
{
    unsigned char frame[FRAME_BYTES];
    stash_status st = stash_ring_wait(r, i + 1, READER_TIMEOUT_NS, spin_ns);
    *t1 = now_ns();
    if (st == STASH_OK)
        st = stash_ring_copy(r, i, i + 1, frame);
    if (st == STASH_OK)
        memcpy(t0, frame, sizeof *t0);
    return st;
}

/* How often this process has gone to sleep: proof that a "blocked" reader blocked. */
static long voluntary_switches(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_nvcsw : 0;
}

static void latency_reader(const void *arg, int out)
{
    const struct latency_job *job = arg;
    stash_ring *r = NULL;
    if (job->raw == NULL && (r = attach_reader(job->name, out)) == NULL)
        return;
    if (job->raw != NULL) {
        stash_status ready = STASH_OK;
        send_all(out, &ready, sizeof ready);
    }
    struct latency_result res = {0};
    double *ns = malloc((size_t)job->count * sizeof *ns);
    if (ns == NULL)
        res.status = STASH_E_LIMIT;
    long sleeps_before = 0;
    for (int i = 0; res.status == STASH_OK && i < WARM_UP + job->count; i++) {
        int64_t t0 = 0, t1;
        if (i == WARM_UP)
            sleeps_before = voluntary_switches();
        if (r != NULL)
            res.status = ring_wait_one(r, (uint64_t)i, job->spin_ns, &t0, &t1);
        else
            t1 = raw_wait(job->raw, (uint32_t)i + 1, job->spin_ns > 0, &t0);
        if (i >= WARM_UP)
            ns[i - WARM_UP] = (double)(t1 - t0);
    }
    if (res.status == STASH_OK) {
        res.median_ns = bench_median(ns, (size_t)job->count); /* sorts them */
        res.p99_ns = ns[(size_t)job->count * 99 / 100];
        res.sleeps = voluntary_switches() - sleeps_before;
    }
    free(ns);
    send_all(out, &res, sizeof res);
    stash_ring_close(&r);
}

/* The writer's side: count wake-ups, gap_ns apart, each stamped just before it is sent. */
static stash_status send_wakeups(stash_ring *w, struct raw_handoff *raw, bool wake, int count,
                                 int64_t gap_ns)
{
    unsigned char frame[FRAME_BYTES] = {0};
    stash_status st = STASH_OK;
    for (int i = 0; st == STASH_OK && i < WARM_UP + count; i++) {
        busy_wait_ns(gap_ns);
        int64_t t0 = now_ns();
        if (raw != NULL) {
            atomic_store_explicit(&raw->t0_ns, t0, memory_order_relaxed);
            atomic_store_explicit(&raw->seq, (uint32_t)i + 1, memory_order_release);
            if (wake)
                futex(&raw->seq, FUTEX_WAKE, 1);
        } else {
            memcpy(frame, &t0, sizeof t0);
            st = stash_ring_put(w, frame, 1);
        }
    }
    return st;
}

/* One-way latency over the ring (raw false) or the raw hand-off (raw true). */
static void latency_trial(bool raw, int64_t spin_ns, int count, int64_t gap_ns,
                          struct latency_result *res)
{
    struct latency_job job = {.count = count, .spin_ns = spin_ns};
    stash_ring *w = NULL;
    struct child ch;
    *res = (struct latency_result){0};
    if (raw) {
        job.raw = mmap(NULL, sizeof *job.raw, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (job.raw == MAP_FAILED) {
            res->status = -errno;
            return;
        }
        res->status = child_start(latency_reader, &job, &ch);
        if (res->status != STASH_OK && ch.pid > 0)
            child_finish(&ch, NULL, 0);
    } else {
        res->status = ring_with_reader(0, latency_reader, &job, job.name, &w, &ch);
    }
    if (res->status == STASH_OK) {
        stash_status st = send_wakeups(w, job.raw, spin_ns == 0, count, gap_ns);
        stash_ring_close(&w);
        if (!child_finish(&ch, res, sizeof *res))
            res->status = -ECHILD;
        if (st != STASH_OK)
            res->status = st;
    }
    if (raw)
        munmap(job.raw, sizeof *job.raw);
}

static void latency_figure(char *buf, size_t size, const struct latency_result *r, double ns)
{
    if (r->status == STASH_OK)
        snprintf(buf, size, "%.2f us (reader slept %ld times)", ns / 1e3, r->sleeps);
    else
        snprintf(buf, size, "n/a (%s)", stash_strerror(r->status));
}

struct latency_mode {
    const char *what;
    int64_t spin_ns, gap_ns;
    double target_us; /* 0: none; the ratios are then to the raw hand-off */
};

/* The median row (against the target, or the raw hand-off) and the p99 row. */
static void latency_rows(struct bench_config *c, const struct latency_mode *m,
                         const struct latency_result *ring, const struct latency_result *raw)
{
    const char *raw_name = m->spin_ns ? "raw spin hand-off" : "raw futex hand-off";
    char what[192], a[96], b[128];
    if (ring->status != STASH_OK || raw->status != STASH_OK) {
        snprintf(what, sizeof what, "put to reader %s (%s)", m->what,
                 ring->status != STASH_OK ? "the ring" : raw_name);
        bench_fail_status(c, what, ring->status != STASH_OK ? ring->status : raw->status);
        return;
    }
    latency_figure(a, sizeof a, ring, ring->median_ns);
    if (m->target_us > 0) {
        snprintf(what, sizeof what, "put to reader %s, median (ratio: / the %.0f us target)",
                 m->what, m->target_us);
        snprintf(b, sizeof b, "target %.0f us (%s: %.2f us)", m->target_us, raw_name,
                 raw->median_ns / 1e3);
        bench_row(c, what, a, b, ring->median_ns / (m->target_us * 1e3), "<= 1");
    } else {
        snprintf(what, sizeof what, "put to reader %s, median (ratio: / the raw hand-off's)",
                 m->what);
        snprintf(b, sizeof b, "%.2f us (%s)", raw->median_ns / 1e3, raw_name);
        bench_row(c, what, a, b, ring->median_ns / raw->median_ns, NULL);
    }
    latency_figure(a, sizeof a, ring, ring->p99_ns);
    snprintf(b, sizeof b, "%.2f us (%s)", raw->p99_ns / 1e3, raw_name);
    snprintf(what, sizeof what, "put to reader %s, p99 (ratio: / the raw hand-off's)", m->what);
    bench_row(c, what, a, b, ring->p99_ns / raw->p99_ns, NULL);
}

/*
 * A blocked reader's core idles between wake-ups, and this VM then halts
 * the vCPU (its guest halt-polling is off): waking it costs far more than
 * the futex itself, for the raw hand-off as much as for the ring.
 */
static void bench_latency(struct bench_config *c)
{
    static const struct latency_mode modes[] = {
        {"blocked (spin 0; 200 us apart)", 0, 200000, 20},
        {"spinning (spin 1 s; 20 us apart)", SECOND_NS, 20000, 1},
    };
    enum { MODES = sizeof modes / sizeof modes[0] };
    int count = c->quick ? 200 : 2000;
    struct latency_result ring[MODES], raw[MODES];
    for (size_t i = 0; i < MODES; i++) {
        latency_trial(false, modes[i].spin_ns, count, modes[i].gap_ns, &ring[i]);
        latency_trial(true, modes[i].spin_ns, count, modes[i].gap_ns, &raw[i]);
    }
    char title[192];
    snprintf(title, sizeof title,
             "Shared ring: one-way wake-up latency, stash_ring_put of 1 sample to a reader "
             "process in stash_ring_wait (CLOCK_MONOTONIC both sides; %d wake-ups)",
             count);
    bench_table(c, title);
    for (size_t i = 0; i < MODES; i++)
        latency_rows(c, &modes[i], &ring[i], &raw[i]);
}

/* ---- rdaclient's design in Python ------------------------------------------------------ */

/*
 * rdaclient's RingBuffer, inlined: a ctypes header (its five packed
 * fields), data and pocket in one multiprocessing shared array, NumPy views.
 * A writer process puts chunks of 32 samples and publishes nSamplesWritten
 * after copying (writer_sleep: rdaclient's put_data sleeps 1 ms first); the
 * reader polls the count (reader_sleep between polls: rdaclient's wait
 * sleeps 0.5 ms), takes a view, sums it, checks it was not overwritten and
 * skips ahead like stash's reader when lapped. Prints the samples it
 * received valid per second since the writer's first put.
 */
static double seed_samples_per_s(long chunks, double writer_sleep, double reader_sleep)
{
    char program[3072];
    snprintf(program, sizeof program,
             "import ctypes, multiprocessing as mp, numpy as np, time\n"
             "C, N, CH, K, WS, RS = 64, 65536, 32, %ld, %g, %g\n"
             "class H(ctypes.Structure):\n"
             "    _pack_ = 1\n"
             "    _fields_ = [(\"bufSizeBytes\", ctypes.c_ulong), (\"pocketSizeBytes\", "
             "ctypes.c_ulong), (\"dataType\", ctypes.c_uint), (\"nChannels\", ctypes.c_ulong), "
             "(\"nSamplesWritten\", ctypes.c_ulong)]\n"
             "HB = ctypes.sizeof(H)\n"
             "raw = mp.Array(\"c\", HB + (N + CH) * C * 4).get_obj()\n"
             "start = mp.RawValue(\"d\", 0.0)\n"
             "def views():\n"
             "    a = np.frombuffer(raw, np.float32, (N + CH) * C, HB).reshape(N + CH, C)\n"
             "    return H.from_buffer(raw), a[:N], a[N:]\n"
             "def writer():\n"
             "    h, data, pocket = views()\n"
             "    src = np.arange(1024 * C, dtype=np.float32).reshape(1024, C)\n"
             "    n = 0\n"
             "    start.value = time.perf_counter()\n"
             "    for k in range(K):\n"
             "        s, o = n %% N, n %% 1024\n"
             "        chunk = src[o:o + CH]\n"
             "        data[s:s + CH] = chunk\n"
             "        if s < CH:\n"
             "            pocket[s:CH] = chunk[:CH - s]\n"
             "        if WS:\n"
             "            time.sleep(WS)\n"
             "        n += CH\n"
             "        h.nSamplesWritten = n\n"
             "h, data, pocket = views()\n"
             "h.bufSizeBytes, h.pocketSizeBytes, h.nChannels = N * C * 4, CH * C * 4, C\n"
             "p = mp.Process(target=writer)\n"
             "p.start()\n"
             "pos = got = 0\n"
             "acc = 0.0\n"
             "while pos < K * CH:\n"
             "    end = pos + CH\n"
             "    while h.nSamplesWritten < end:\n"
             "        if RS:\n"
             "            time.sleep(RS)\n"
             "    w = h.nSamplesWritten\n"
             "    if w - pos > N:\n"
             "        pos = (w - N // 2) // CH * CH\n"
             "        continue\n"
             "    s = pos %% N\n"
             "    acc += float(data[s:s + CH].sum())\n"
             "    if h.nSamplesWritten - pos <= N:\n"
             "        got += CH\n"
             "    pos = end\n"
             "t = time.perf_counter() - start.value\n"
             "p.join()\n"
             "print(got / t)\n",
             chunks, writer_sleep, reader_sleep);
    return bench_python(program);
}

static void seed_rows(struct bench_config *c, const struct stream_result *ours)
{
    long chunks = c->quick ? 20000 : 200000, literal_chunks = c->quick ? 30 : 200;
    double tight = seed_samples_per_s(chunks, 0, 0);
    double literal = seed_samples_per_s(literal_chunks, 1e-3, 0.5e-3);

    char title[192], a[192], b[192];
    snprintf(title, sizeof title,
             "Shared ring beside rdaclient's design (its RingBuffer in /usr/bin/python3 + "
             "NumPy; %ld chunks of 32 samples x 64 ch float32)",
             chunks);
    bench_table(c, title);
    static const char tight_what[] =
        "32-sample chunks received valid (ratio: speed-up over rdaclient's design without its "
        "sleeps)";
    static const char literal_what[] =
        "32-sample chunks received valid (ratio: speed-up over rdaclient's design as written)";
    if (ours->status != STASH_OK) {
        bench_fail_status(c, tight_what, ours->status);
        bench_fail_status(c, literal_what, ours->status);
        return;
    }
    snprintf(a, sizeof a, "%.1f Msamples/s (mirrored, from the throughput table)",
             rate(ours) / 1e6);
    /*
     * The target is against rdaclient's design as written (the next row).
     * This variant removes rdaclient's sleeps, so it shows how much of the
     * gap is the design and how much is Python: no target.
     */
    if (isnan(tight)) {
        bench_fail(c, tight_what, "no /usr/bin/python3 with NumPy, or it failed");
    } else {
        snprintf(b, sizeof b,
                 "%.2f Msamples/s (rdaclient's design, no sleep in put, reader polls without "
                 "sleeping: its fastest variant)",
                 tight / 1e6);
        bench_row(c, tight_what, a, b, rate(ours) / tight, NULL);
    }
    if (isnan(literal)) {
        bench_fail(c, literal_what, "no /usr/bin/python3 with NumPy, or it failed");
    } else {
        snprintf(b, sizeof b,
                 "%.3f Msamples/s (rdaclient's design as written: put sleeps 1 ms, wait polls "
                 "every 0.5 ms; %ld chunks)",
                 literal / 1e6, literal_chunks);
        bench_row(c, literal_what, a, b, rate(ours) / literal, ">= 50");
    }
}

/* ---- The part ---------------------------------------------------------------------------- */

static const char RING_METHOD[] =
    "Writer and reader are separate processes (fork); the ring is a 16 MiB shm ring of 64 channels\n"
    "of float32. The reader takes one window per writer chunk: wait (spinning), view, sum of every\n"
    "float, validate; a reader that is lapped jumps ahead and counts what it lost, and throughput\n"
    "counts only samples received valid. Wake-ups are bound by the machine, and the raw hand-offs\n"
    "beside them (a futex, a spin on a shared page, no ring) show its floor: on a VM whose kernel\n"
    "halts idle vCPUs (`haltpoll.guest_halt_poll_ns=0`) a blocked wake-up costs 40 to 50 us, and\n"
    "a spinning one needs both cores free (any other load puts it at the scheduler's mercy,\n"
    "milliseconds). The rdaclient target is against its design as written (put sleeps 1 ms, the\n"
    "reader polls every 0.5 ms); the row without those sleeps shows the design itself. The\n"
    "pocket layout writes every frame twice. Throughput moves about 30% between runs on this\n"
    "shared host.\n";

void bench_ring(struct bench_config *c)
{
    bench_section(c, "Shared ring: throughput, views, wake-ups, and rdaclient's design",
                  RING_METHOD);
    uint64_t total_bytes = (c->quick ? 64 : 2048) * MIB;
    uint64_t total = total_bytes / FRAME_BYTES; /* a multiple of every chunk size */
    int trials = c->quick ? 2 : 3;
    /* Page-aligned like the ring's data, so the baseline's copies line up the same way. */
    unsigned char *src = aligned_alloc(4096, SOURCE_SAMPLES * FRAME_BYTES);
    unsigned char *dst = aligned_alloc(4096, CAPACITY * FRAME_BYTES);
    if (src == NULL || dst == NULL) {
        bench_fail_status(c, "ring: the buffers", -ENOMEM);
        free(src);
        free(dst);
        return;
    }
    float *values = (float *)src;
    for (uint64_t i = 0; i < SOURCE_SAMPLES * CHANNELS; i++)
        values[i] = (float)(i % 4096) * 0.25f;

    struct stream_case cases[2] = {{.chunk = 32, .total = total}, {.chunk = 1024, .total = total}};
    for (size_t i = 0; i < 2; i++)
        measure_stream(&cases[i], trials, dst, src);
    char title[256];
    snprintf(title, sizeof title,
             "Shared ring: sustained writer-to-reader throughput, 64 ch float32, 16 MiB ring, "
             "separate processes (%llu MiB per run, best of %d; reader: wait spinning, view, "
             "sum, validate)",
             (unsigned long long)(total_bytes / MIB), trials);
    bench_table(c, title);
    stream_rows(c, cases, 2);
    chunk_sweep(c, dst, src);
    free(dst);

    view_rows(c, src);
    free(src);
    bench_latency(c);
    seed_rows(c, &cases[0].layout[0]);
}
