/*
 * Benchmarks of the ring relay (stash/relay.h) on loopback: 64 channels of
 * float32, each figure beside raw ZeroMQ measured in the same run.
 *
 *  - Throughput. The bench process writes a 16 MiB source ring in chunks of
 *    32 or 1024 samples; a publisher process relays it over
 *    tcp://127.0.0.1 (PUSH/PULL: back-pressure, so nothing is lost) to a
 *    subscriber process that writes it into a ring of its own. The writer
 *    keeps at most half a ring ahead of the copy (it waits on the copy's
 *    count), so the publisher is never lapped and every sample arrives. The
 *    figure is samples per second from the first put until the copy holds
 *    the last one. The baseline is raw ZeroMQ moving the same bytes between
 *    two processes on the same loopback: a PUSH socket sending the same
 *    chunks from a buffer, a PULL socket receiving each message and copying
 *    it into a buffer of the ring's size (the bytes have to land somewhere),
 *    with at most half a ring queued, as the relay's writer.
 *  - Latency. One sample put on the source ring, to the moment the same
 *    process sees it written in the copy (stash_ring_wait, spinning), 1 ms
 *    apart; the baseline is one raw PUSH/PULL message of the same size
 *    between two processes, stamped with CLOCK_MONOTONIC on both sides.
 *    LSL's published figure (under 0.1 ms on one machine) is context.
 *
 * Rings are shared memory objects named for this process, removed at the
 * end of each trial; children report through a pipe and leave with _exit.
 */
#include "bench_relay.h"
#include "bench_child.h"

#include <stash/stash.h>
#include <stash/relay.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define CHANNELS 64u
#define FRAME_BYTES ((size_t)CHANNELS * sizeof(float))
#define CAPACITY ((uint64_t)65536) /* samples: 16 MiB */
#define MIB ((uint64_t)1 << 20)
#define SECOND_NS INT64_C(1000000000)
#define WAIT_NS (20 * SECOND_NS) /* nothing waits longer: a stuck trial fails, never hangs */
#define NAME_CHARS 64
#define ENDPOINT_CHARS 64
#define LSL_LATENCY_US 100.0 /* LSL's documentation: under 0.1 ms on one machine */

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * SECOND_NS + t.tv_nsec;
}

/* The q-quantile of n values (nearest rank); reorders them. */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(values, n, sizeof *values, by_value);
    size_t rank = (size_t)(q * (double)n);
    return values[rank < n ? rank : n - 1];
}

/* A free loopback port: the kernel's choice, released just before the relay binds it. */
static stash_status free_endpoint(char endpoint[ENDPOINT_CHARS])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    stash_status st = STASH_OK;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        st = -errno;
    close(fd);
    if (st == STASH_OK)
        snprintf(endpoint, ENDPOINT_CHARS, "tcp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    return st;
}

/* ---- Children ----------------------------------------------------------------------- */

/* ---- The relay's two ends, each in a child ------------------------------------------ */

struct relay_job {
    char source[NAME_CHARS], copy[NAME_CHARS], endpoint[ENDPOINT_CHARS];
    uint32_t chunk;
};

static stash_relay_config relay_config(const struct relay_job *job)
{
    return (stash_relay_config){.mode = STASH_RELAY_PUSHPULL, .chunk_samples = job->chunk,
                                .source_timeout_ns = WAIT_NS};
}

/* Runs until the source's writer leaves; the close then says goodbye to the subscriber. */
static void publisher_body(const void *arg, int out)
{
    const struct relay_job *job = arg;
    stash_relay_config cfg = relay_config(job);
    stash_relay *relay = NULL;
    stash_status st = stash_relay_publish(job->source, job->endpoint, &cfg, &relay);
    bench_send_all(out, &st, sizeof st);
    if (st != STASH_OK)
        return;
    st = stash_relay_run(relay, -1);
    stash_relay_close(&relay);
    bench_send_all(out, &st, sizeof st);
}

/* Creates the copy, says so, and runs until the publisher says goodbye. */
static void subscriber_body(const void *arg, int out)
{
    const struct relay_job *job = arg;
    stash_relay_config cfg = relay_config(job);
    stash_relay *relay = NULL;
    stash_status st = stash_relay_subscribe(job->endpoint, job->copy, &cfg, &relay);
    bench_send_all(out, &st, sizeof st);
    if (st != STASH_OK)
        return;
    st = stash_relay_run(relay, -1);
    stash_relay_stats stats;
    if (stash_relay_stats_get(relay, &stats) == STASH_OK && stats.gaps != 0)
        st = STASH_E_OVERWRITTEN; /* PUSH/PULL and a writer that waits: nothing may be lost */
    stash_relay_close(&relay);
    bench_send_all(out, &st, sizeof st);
}

/* A source ring, a publisher and a subscriber with its copy attached here as a reader. */
struct relay_set {
    struct relay_job job;
    stash_ring *source, *copy;
    struct bench_child pub, sub;
};

static stash_status relay_set_up(struct relay_set *s, uint32_t chunk)
{
    static unsigned serial;
    *s = (struct relay_set){.job.chunk = chunk, .pub.pid = -1, .sub.pid = -1};
    snprintf(s->job.source, NAME_CHARS, "stash-bench-relay-%ld-%u", (long)getpid(), serial);
    snprintf(s->job.copy, NAME_CHARS, "stash-bench-relay-%ld-%u-copy", (long)getpid(), serial++);
    stash_ring_config cfg = {.channels = CHANNELS, .capacity_samples = CAPACITY,
                             .dtype = STASH_DTYPE_FLOAT32};
    stash_status st = free_endpoint(s->job.endpoint);
    if (st == STASH_OK)
        st = stash_ring_create(s->job.source, &cfg, &s->source);
    if (st == STASH_OK)
        st = bench_child_start(publisher_body, &s->job, &s->pub);
    if (st == STASH_OK)
        st = bench_child_start(subscriber_body, &s->job, &s->sub);
    if (st == STASH_OK)
        st = stash_ring_attach(s->job.copy, 0, &s->copy);
    return st;
}

/* Closes the source (the publisher's writer leaves, so both ends finish) and removes both. */
static stash_status relay_set_down(struct relay_set *s, stash_status st)
{
    stash_ring_close(&s->source);
    stash_ring_close(&s->copy);
    stash_status pub = STASH_E_WRITER_GONE, sub = STASH_E_WRITER_GONE;
    bool stuck = st != STASH_OK; /* a failed trial may leave a child waiting for ever */
    if (s->pub.pid > 0 && !bench_child_finish(&s->pub, &pub, sizeof pub, stuck))
        pub = -ECHILD;
    if (s->sub.pid > 0 && !bench_child_finish(&s->sub, &sub, sizeof sub, stuck))
        sub = -ECHILD;
    stash_ring_remove(s->job.source);
    stash_ring_remove(s->job.copy);
    if (st == STASH_OK && pub != STASH_E_WRITER_GONE)
        st = pub;
    if (st == STASH_OK && sub != STASH_E_WRITER_GONE)
        st = sub;
    return st;
}

/* ---- Throughput -------------------------------------------------------------------- */

struct stream_result {
    stash_status status;
    double seconds;
};

/* Puts total samples in chunks, never more than half a ring ahead of the copy. */
static void relay_trial(uint64_t chunk, uint64_t total, const unsigned char *src,
                        struct stream_result *res)
{
    struct relay_set s;
    stash_status st = relay_set_up(&s, (uint32_t)chunk);
    int64_t t0 = now_ns();
    uint64_t start = s.source ? stash_ring_written(s.source) : 0;
    for (uint64_t done = 0; st == STASH_OK && done < total; done += chunk) {
        uint64_t ahead = start + done + chunk;
        if (ahead > CAPACITY / 2)
            st = stash_ring_wait(s.copy, ahead - CAPACITY / 2, WAIT_NS, 0);
        if (st == STASH_OK)
            st = stash_ring_put(s.source, src, chunk);
    }
    if (st == STASH_OK)
        st = stash_ring_wait(s.copy, start + total, WAIT_NS, 0);
    res->seconds = (double)(now_ns() - t0) / 1e9;
    res->status = relay_set_down(&s, st);
}

struct raw_job {
    char endpoint[ENDPOINT_CHARS];
    uint64_t chunk, total; /* samples */
};

/* What a raw PULL child reports at its end. */
struct raw_report {
    stash_status status;
    int64_t end_ns;                /* throughput: when the last message was in */
    double median_ns, p99_ns;      /* latency: of the one-way times it saw */
};

/* A raw child's PULL socket, connected (the parent binds after the fork: no context crosses it). */
struct puller {
    void *ctx, *pull;
    zmq_msg_t msg;
};

static stash_status puller_open(struct puller *p, const char *endpoint)
{
    p->ctx = zmq_ctx_new();
    p->pull = p->ctx ? zmq_socket(p->ctx, ZMQ_PULL) : NULL;
    zmq_msg_init(&p->msg);
    if (p->pull == NULL)
        return -ENOMEM;
    return zmq_connect(p->pull, endpoint) == 0 ? STASH_OK : -zmq_errno();
}

/* The next message's size, or a negative status. */
static int puller_recv(struct puller *p)
{
    for (;;) {
        int n = zmq_msg_recv(&p->msg, p->pull, 0);
        if (n >= 0 || zmq_errno() != EINTR)
            return n >= 0 ? n : -zmq_errno();
    }
}

/* The parent's first message is a warm-up: once it is in, the connection is up; say so. */
static stash_status puller_warm_up(struct puller *p, int out)
{
    int n = puller_recv(p);
    stash_status st = n < 0 ? n : STASH_OK;
    bench_send_all(out, &st, sizeof st);
    return st;
}

static void puller_close(struct puller *p)
{
    zmq_msg_close(&p->msg);
    if (p->pull)
        zmq_close(p->pull);
    if (p->ctx)
        zmq_ctx_term(p->ctx);
}

/* PULL: a warm-up message, then total samples, each copied into a ring-sized buffer. */
static void raw_stream_child(const void *arg, int out)
{
    const struct raw_job *job = arg;
    struct puller p;
    struct raw_report r = {.status = puller_open(&p, job->endpoint)};
    unsigned char *sink = malloc(CAPACITY * FRAME_BYTES);
    if (r.status == STASH_OK && sink == NULL)
        r.status = -ENOMEM;
    bench_send_all(out, &r.status, sizeof r.status);
    if (r.status == STASH_OK)
        r.status = puller_warm_up(&p, out);
    uint64_t received = 0, slot = 0;
    while (r.status == STASH_OK && received < job->total) {
        int n = puller_recv(&p);
        if (n < 0 || n % FRAME_BYTES != 0) {
            r.status = n < 0 ? n : STASH_E_CORRUPT;
            break;
        }
        uint64_t samples = (uint64_t)n / FRAME_BYTES;
        if (slot + samples > CAPACITY)
            slot = 0;
        memcpy(sink + slot * FRAME_BYTES, zmq_msg_data(&p.msg), (size_t)n);
        slot += samples;
        received += samples;
    }
    r.end_ns = now_ns();
    bench_sink(sink ? sink[0] : 0);
    bench_send_all(out, &r, sizeof r);
    free(sink);
    puller_close(&p);
}

/* PULL: count messages, each stamped by the sender; the median and p99 of the one-way times. */
static void raw_latency_child(const void *arg, int out)
{
    const struct raw_job *job = arg;
    struct puller p;
    struct raw_report r = {.status = puller_open(&p, job->endpoint)};
    double *ns = malloc(job->total * sizeof *ns);
    if (r.status == STASH_OK && ns == NULL)
        r.status = -ENOMEM;
    bench_send_all(out, &r.status, sizeof r.status);
    if (r.status == STASH_OK)
        r.status = puller_warm_up(&p, out);
    for (uint64_t i = 0; r.status == STASH_OK && i < job->total; i++) {
        int n = puller_recv(&p);
        int64_t sent;
        if (n < (int)sizeof sent) {
            r.status = n < 0 ? n : STASH_E_CORRUPT;
            break;
        }
        memcpy(&sent, zmq_msg_data(&p.msg), sizeof sent);
        ns[i] = (double)(now_ns() - sent);
    }
    if (r.status == STASH_OK) {
        r.median_ns = bench_stats_of(ns, job->total).median;
        r.p99_ns = percentile(ns, job->total, 0.99);
    }
    bench_send_all(out, &r, sizeof r);
    free(ns);
    puller_close(&p);
}

/*
 * A PULL child connected to a free port, then a PUSH socket bound to it
 * here, and a warm-up message through them: the connection is up on return.
 * The PUSH side queues at most half a ring of samples, what the relay's
 * writer allows itself ahead of the copy: the same bytes in flight.
 */
static stash_status raw_pair(struct raw_job *job, bench_child_body body, void **ctx, void **push,
                             struct bench_child *ch)
{
    *ctx = *push = NULL;
    ch->pid = -1;
    stash_status st = free_endpoint(job->endpoint);
    if (st == STASH_OK)
        st = bench_child_start(body, job, ch);
    if (st == STASH_OK && ((*ctx = zmq_ctx_new()) == NULL ||
                           (*push = zmq_socket(*ctx, ZMQ_PUSH)) == NULL))
        st = -ENOMEM;
    int hwm = (int)(CAPACITY / 2 / job->chunk);
    if (st == STASH_OK && (zmq_setsockopt(*push, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
                           zmq_bind(*push, job->endpoint) != 0))
        st = -zmq_errno();
    unsigned char warm_up[8] = {0};
    if (st == STASH_OK && zmq_send(*push, warm_up, sizeof warm_up, 0) < 0)
        st = -zmq_errno();
    if (st == STASH_OK && !bench_recv_all(ch->in, &st, sizeof st))
        st = -ECHILD;
    return st;
}

/* Reaps the child (killed if the trial failed) and closes the PUSH side. */
static stash_status raw_done(stash_status st, struct bench_child *ch, void *ctx, void *push,
                             struct raw_report *r)
{
    r->status = -ECHILD;
    if (ch->pid > 0 && !bench_child_finish(ch, r, sizeof *r, st != STASH_OK))
        r->status = -ECHILD;
    if (st == STASH_OK)
        st = r->status;
    int linger = 0;
    if (push) {
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(push);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    return st;
}

static void raw_trial(uint64_t chunk, uint64_t total, const unsigned char *src,
                      struct stream_result *res)
{
    struct raw_job job = {.chunk = chunk, .total = total};
    void *ctx, *push;
    struct bench_child ch;
    stash_status st = raw_pair(&job, raw_stream_child, &ctx, &push, &ch);
    size_t bytes = (size_t)chunk * FRAME_BYTES;
    int64_t t0 = now_ns();
    for (uint64_t done = 0; st == STASH_OK && done < total; done += chunk)
        if (zmq_send(push, src, bytes, 0) < 0)
            st = -zmq_errno();
    struct raw_report r;
    res->status = raw_done(st, &ch, ctx, push, &r);
    res->seconds = (double)(r.end_ns - t0) / 1e9;
}

/* ---- Latency ------------------------------------------------------------------------ */

#define LATENCY_GAP_NS 1000000 /* 1 ms between samples: each crosses an idle relay */

struct latency_result {
    stash_status status;
    double median_ns, p99_ns;
};

/* Puts one sample at a time and times it until the copy has it, blocked in stash_ring_wait. */
static void relay_latency_trial(int count, const unsigned char *src, struct latency_result *res)
{
    struct relay_set s;
    stash_status st = relay_set_up(&s, 32);
    double *ns = malloc((size_t)count * sizeof *ns);
    if (st == STASH_OK && ns == NULL)
        st = -ENOMEM;
    uint64_t next = s.source ? stash_ring_written(s.source) : 0;
    for (int i = 0; st == STASH_OK && i < count; i++) {
        struct timespec gap = {0, LATENCY_GAP_NS};
        nanosleep(&gap, NULL);
        int64_t t0 = now_ns();
        st = stash_ring_put(s.source, src, 1);
        if (st == STASH_OK)
            st = stash_ring_wait(s.copy, ++next, WAIT_NS, 0);
        ns[i] = (double)(now_ns() - t0);
    }
    *res = (struct latency_result){.status = relay_set_down(&s, st)};
    if (res->status == STASH_OK) {
        res->median_ns = bench_stats_of(ns, (size_t)count).median;
        res->p99_ns = percentile(ns, (size_t)count, 0.99);
    }
    free(ns);
}

/* The same cadence and size through raw PUSH/PULL, stamped on both sides. */
static void raw_latency_trial(int count, const unsigned char *src, struct latency_result *res)
{
    struct raw_job job = {.chunk = 1, .total = (uint64_t)count};
    void *ctx, *push;
    struct bench_child ch;
    stash_status st = raw_pair(&job, raw_latency_child, &ctx, &push, &ch);
    unsigned char frame[FRAME_BYTES];
    memcpy(frame, src, FRAME_BYTES);
    for (int i = 0; st == STASH_OK && i < count; i++) {
        struct timespec gap = {0, LATENCY_GAP_NS};
        nanosleep(&gap, NULL);
        int64_t t0 = now_ns();
        memcpy(frame, &t0, sizeof t0);
        if (zmq_send(push, frame, sizeof frame, 0) < 0)
            st = -zmq_errno();
    }
    struct raw_report r;
    st = raw_done(st, &ch, ctx, push, &r);
    *res = (struct latency_result){.status = st, .median_ns = r.median_ns, .p99_ns = r.p99_ns};
}

/* ---- The rows ----------------------------------------------------------------------- */

struct stream_case {
    uint64_t chunk, total;
    int rounds;
    struct stream_result relay[BENCH_ROUNDS], raw[BENCH_ROUNDS];
};

static double samples_per_s(const struct stream_result *r, uint64_t total)
{
    return r->status == STASH_OK && r->seconds > 0 ? (double)total / r->seconds : NAN;
}

static void stream_row(struct bench_config *c, const struct stream_case *s)
{
    char what[160], a[128], b[128];
    snprintf(what, sizeof what,
             "relay, %llu-sample chunks (ratio: / raw PUSH/PULL of the same bytes)",
             (unsigned long long)s->chunk);
    double relay_mbs[BENCH_ROUNDS], raw_mbs[BENCH_ROUNDS], ratio[BENCH_ROUNDS];
    for (int r = 0; r < s->rounds; r++) {
        stash_status failed = s->relay[r].status ? s->relay[r].status : s->raw[r].status;
        if (failed != STASH_OK) {
            bench_fail_status(c, what, failed);
            return;
        }
        relay_mbs[r] = samples_per_s(&s->relay[r], s->total) * FRAME_BYTES / 1e6;
        raw_mbs[r] = samples_per_s(&s->raw[r], s->total) * FRAME_BYTES / 1e6;
        ratio[r] = relay_mbs[r] / raw_mbs[r];
    }
    bench_spread(a, sizeof a, relay_mbs, (size_t)s->rounds, 1, 3, "MB/s");
    bench_spread(b, sizeof b, raw_mbs, (size_t)s->rounds, 1, 3, "MB/s");
    bench_row_rounds(c, what, a, b, ratio, (size_t)s->rounds, ">= 0.8");
}

static void latency_rows(struct bench_config *c, const struct latency_result *relay,
                         const struct latency_result *raw, int rounds)
{
    for (int p99 = 0; p99 <= 1; p99++) {
        char what[192], a[128], b[128];
        snprintf(what, sizeof what,
                 "put on the source ring to visible in the copy, 1 sample, %s (ratio: / a raw "
                 "PUSH/PULL message's one-way time)",
                 p99 ? "p99" : "median");
        double relay_us[BENCH_ROUNDS], raw_us[BENCH_ROUNDS], ratio[BENCH_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            stash_status failed = relay[r].status ? relay[r].status : raw[r].status;
            if (failed != STASH_OK) {
                bench_fail_status(c, what, failed);
                return;
            }
            relay_us[r] = (p99 ? relay[r].p99_ns : relay[r].median_ns) / 1e3;
            raw_us[r] = (p99 ? raw[r].p99_ns : raw[r].median_ns) / 1e3;
            ratio[r] = relay_us[r] / raw_us[r];
        }
        bench_spread(a, sizeof a, relay_us, (size_t)rounds, 1, 3, "us");
        bench_spread(b, sizeof b, raw_us, (size_t)rounds, 1, 3, "us");
        bench_row_rounds(c, what, a, b, ratio, (size_t)rounds, NULL);
        if (p99)
            continue;
        struct bench_stats median = bench_stats_of(relay_us, (size_t)rounds);
        snprintf(what, sizeof what,
                 "put to visible in the copy, median (ratio: / LSL's published figure, not "
                 "measured here)");
        snprintf(a, sizeof a, "%.3g us", median.median);
        snprintf(b, sizeof b, "< %.0f us (LSL, one machine)", LSL_LATENCY_US);
        bench_row(c, what, a, b, median.median / LSL_LATENCY_US, NULL);
    }
}

static const char RELAY_METHOD[] =
    "The relay of stash/relay.h over tcp://127.0.0.1, PUSH/PULL: the bench process writes a\n"
    "16 MiB source ring of 64 channels of float32, a publisher process relays it, a subscriber\n"
    "process writes it into its own ring. The writer stays at most half a ring ahead of the\n"
    "copy, so nothing is lost; the figure runs from the first put until the copy holds the\n"
    "last sample. Publisher and subscriber share the machine's cores with the writer.\n\n"
    "**Baselines.** Throughput: raw ZeroMQ moving the same bytes between two processes on the\n"
    "same loopback, a PUSH socket sending the same chunks from a buffer and a PULL socket\n"
    "copying each message into a ring-sized buffer, at most half a ring queued (as the relay's\n"
    "writer keeps); no stash code. Latency: one raw PUSH/PULL\n"
    "message of one sample (256 bytes), stamped with CLOCK_MONOTONIC on both sides, at the\n"
    "same cadence (1 ms apart); the relay's path adds two ring wake-ups (publisher and the\n"
    "copy's reader, both blocked, not spinning) to it. LSL's published one-way figure (under\n"
    "0.1 ms on one machine) is context. Every round runs the relay and its baseline in turn,\n"
    "the order alternating; each ratio is the median of the rounds' ratios.\n";

void bench_relay(struct bench_config *c)
{
    bench_section(c, "Ring relay over ZeroMQ: throughput and latency on loopback", RELAY_METHOD);
    uint64_t total_bytes = (c->quick ? 32 : 512) * MIB;
    uint64_t total = total_bytes / FRAME_BYTES; /* a multiple of both chunks */
    int rounds = bench_rounds(c);
    unsigned char *src = malloc(1024 * FRAME_BYTES);
    if (src == NULL) {
        bench_fail_status(c, "relay: the buffers", -ENOMEM);
        return;
    }
    float *values = (float *)src;
    for (size_t i = 0; i < 1024 * CHANNELS; i++)
        values[i] = (float)(i % 4096) * 0.25f;

    struct stream_case cases[2] = {{.chunk = 32, .total = total, .rounds = rounds},
                                   {.chunk = 1024, .total = total, .rounds = rounds}};
    for (size_t i = 0; i < 2; i++)
        for (int r = 0; r < rounds; r++) { /* the order alternates */
            bool raw_first = r % 2;
            if (raw_first)
                raw_trial(cases[i].chunk, total, src, &cases[i].raw[r]);
            relay_trial(cases[i].chunk, total, src, &cases[i].relay[r]);
            if (!raw_first)
                raw_trial(cases[i].chunk, total, src, &cases[i].raw[r]);
        }
    char title[256];
    snprintf(title, sizeof title,
             "Ring relay: sustained throughput over tcp://127.0.0.1, 64 ch float32, PUSH/PULL "
             "(%llu MiB per run, medians of %d rounds)",
             (unsigned long long)(total_bytes / MIB), rounds);
    bench_table_against(c, title, "raw ZeroMQ PUSH/PULL of the same chunks between two "
                                  "processes, received into a ring-sized buffer");
    for (size_t i = 0; i < 2; i++)
        stream_row(c, &cases[i]);

    int count = c->quick ? 100 : 1000;
    struct latency_result relay[BENCH_ROUNDS], raw[BENCH_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        bool raw_first = r % 2;
        if (raw_first)
            raw_latency_trial(count, src, &raw[r]);
        relay_latency_trial(count, src, &relay[r]);
        if (!raw_first)
            raw_latency_trial(count, src, &raw[r]);
    }
    snprintf(title, sizeof title,
             "Ring relay: one-way latency, put of 1 sample to visible in the subscriber's ring "
             "(tcp://127.0.0.1, 1 ms apart; medians of %d rounds of %d samples)",
             rounds, count);
    bench_table_against(c, title, "one raw PUSH/PULL message of the same size between two "
                                  "processes, stamped on both sides");
    latency_rows(c, relay, raw, rounds);
    free(src);
}
