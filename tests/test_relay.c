/*
 * The relay: a ring followed by another across processes over ZeroMQ. The
 * test process is the source ring's writer; the publisher and the
 * subscriber are forked children, each reporting its status and counters
 * through a shared page, and every child is killed and reaped by the
 * teardown if a test fails. Waits are generous and nothing asserts a speed:
 * what is asserted is what arrived, by absolute sample number, and what was
 * counted as lost.
 */
#include "test_util.h"

#include <stash/relay.h>
#include <stash/ring.h>

#include "relay/relay_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <zmq.h>

#define LONG_NS INT64_C(120000000000) /* a wait that only a broken relay runs out of */
#define CHANNELS 2

static const char *dir;
static char sock_dir[64]; /* ipc:// sockets: a short path (sun_path holds 107 bytes) */

/* What a child tells the test, in a page both share. */
struct report {
    _Atomic int state;         /* 0 starting, 1 running, 2 done */
    _Atomic int opened;        /* publish or subscribe's status */
    _Atomic int ended;         /* the last run's status */
    _Atomic int writer_gone;   /* how many runs returned STASH_E_WRITER_GONE */
    _Atomic uint64_t next_sample;
    _Atomic uint64_t rejected;
    stash_relay_stats stats;   /* final, when state is 2; else the latest */
    _Atomic uint64_t stats_seq; /* odd while stats are being written */
};

#define MAX_CHILDREN 8
static pid_t children[MAX_CHILDREN];
static struct report *reports; /* MAX_CHILDREN of them */

static stash_relay *child_relay; /* in a child: what SIGTERM stops */

static void on_term(int sig)
{
    (void)sig;
    stash_relay_stop(child_relay);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void nap_ms(int ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

static const char *ring_at(const char *name)
{
    return path_in(dir, name);
}

static void tcp_endpoint(char *out, size_t len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s); /* a free port now; another process taking it meanwhile fails the bind loudly */
    snprintf(out, len, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
}

static void ipc_endpoint(char *out, size_t len, const char *name)
{
    snprintf(out, len, "ipc://%s/%s.sock", sock_dir, name);
}

/* ---- Children ------------------------------------------------------------------------ */

static void report_stats(struct report *rep, const stash_relay *relay)
{
    stash_relay_stats s;
    if (stash_relay_stats_get(relay, &s) != STASH_OK)
        return;
    atomic_fetch_add(&rep->stats_seq, 1);
    rep->stats = s;
    atomic_fetch_add(&rep->stats_seq, 1);
    atomic_store(&rep->next_sample, s.next_sample);
    atomic_store(&rep->rejected, s.rejected);
}

/* Runs relay in slices until it ends (or, following, until SIGTERM); never returns. */
static void run_child(struct report *rep, stash_relay *relay, bool follow_writers)
{
    child_relay = relay;
    signal(SIGTERM, on_term);
    atomic_store(&rep->state, 1);
    stash_status st;
    for (;;) {
        st = stash_relay_run(relay, 20000000);
        report_stats(rep, relay);
        if (st == STASH_E_WRITER_GONE) {
            atomic_fetch_add(&rep->writer_gone, 1);
            if (follow_writers)
                continue;
        }
        if (st != STASH_OK)
            break;
        if (atomic_load(&rep->state) == 3) /* asked to stop through the page */
            break;
    }
    atomic_store(&rep->ended, st);
    stash_relay_close(&relay);
    atomic_store(&rep->state, 2);
    _exit(0);
}

static int free_slot(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == 0)
            return i;
    fail_msg("too many children");
    return -1;
}

static int spawn_publisher(const char *ring, const char *endpoint, const stash_relay_config *cfg,
                           bool follow_writers)
{
    int slot = free_slot();
    memset(&reports[slot], 0, sizeof reports[slot]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stash_relay *relay = NULL;
        stash_status st = stash_relay_publish(ring, endpoint, cfg, &relay);
        atomic_store(&reports[slot].opened, st);
        if (st != STASH_OK) {
            atomic_store(&reports[slot].state, 2);
            _exit(1);
        }
        run_child(&reports[slot], relay, follow_writers);
    }
    children[slot] = pid;
    return slot;
}

static int spawn_subscriber(const char *endpoint, const char *ring, const stash_relay_config *cfg)
{
    int slot = free_slot();
    memset(&reports[slot], 0, sizeof reports[slot]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stash_relay *relay = NULL;
        stash_status st = stash_relay_subscribe(endpoint, ring, cfg, &relay);
        atomic_store(&reports[slot].opened, st);
        if (st != STASH_OK) {
            atomic_store(&reports[slot].state, 2);
            _exit(1);
        }
        run_child(&reports[slot], relay, false);
    }
    children[slot] = pid;
    return slot;
}

/* Waits for the child in slot to exit by itself; its report then holds its end. */
static void reap(int slot)
{
    int status;
    int64_t give_up = now_ns() + LONG_NS;
    pid_t got;
    while ((got = waitpid(children[slot], &status, WNOHANG)) == 0 && now_ns() < give_up)
        nap_ms(5);
    if (got == 0)
        fail_msg("child %d did not end", (int)children[slot]);
    assert_int_equal(got, children[slot]);
    children[slot] = 0;
    assert_true(WIFEXITED(status));
}

/* Asks a running child to end its run (through the page, as a CLI would with SIGTERM). */
static void stop_child(int slot)
{
    atomic_store(&reports[slot].state, 3); /* first: the run SIGTERM ends is its last */
    kill(children[slot], SIGTERM);
    reap(slot);
}

static void kill_child(int slot)
{
    kill(children[slot], SIGKILL);
    int status;
    assert_int_equal(waitpid(children[slot], &status, 0), children[slot]);
    children[slot] = 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(sock_dir, sizeof sock_dir, "/tmp/stash-relay-XXXXXX");
    if (mkdtemp(sock_dir) == NULL)
        return -1;
    reports = mmap(NULL, MAX_CHILDREN * sizeof *reports, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return reports == MAP_FAILED ? -1 : 0;
}

/* After each test: every child still there (a failed test) is killed and reaped. */
static int reap_all(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0)
            continue;
        kill(children[i], SIGKILL); /* a stopped child dies of it too */
        waitpid(children[i], NULL, 0);
        children[i] = 0;
    }
    return 0;
}

/* The sockets a killed publisher left behind go with their directory. */
static int teardown(void **state)
{
    reap_all(state);
    munmap(reports, MAX_CHILDREN * sizeof *reports);
    DIR *d = opendir(sock_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d != NULL)
        closedir(d);
    rmdir(sock_dir);
    return 0;
}

/* ---- Samples --------------------------------------------------------------------------- */

/* Sample k, channel c holds k * 4 + c: exact in a double far beyond these tests. */
static void put_samples(stash_ring *r, uint64_t first, uint64_t n)
{
    double *frames = malloc(n * CHANNELS * sizeof *frames);
    assert_non_null(frames);
    for (uint64_t k = 0; k < n; k++)
        for (int c = 0; c < CHANNELS; c++)
            frames[k * CHANNELS + c] = (double)((first + k) * 4 + (uint64_t)c);
    assert_ok(stash_ring_put(r, frames, n));
    free(frames);
}

/* Every sample of [first, end) of the copy equals the source's, by absolute number. */
static void assert_samples(const stash_ring *r, uint64_t first, uint64_t end)
{
    double *got = malloc((end - first) * CHANNELS * sizeof *got + 1);
    assert_non_null(got);
    assert_ok(stash_ring_copy(r, first, end, got));
    for (uint64_t k = 0; k < end - first; k++)
        for (int c = 0; c < CHANNELS; c++)
            if (got[k * CHANNELS + c] != (double)((first + k) * 4 + (uint64_t)c))
                fail_msg("sample %llu channel %d: %g", (unsigned long long)(first + k), c,
                         got[k * CHANNELS + c]);
    free(got);
}

static stash_ring *create_source(const char *name, uint64_t capacity, uint64_t first)
{
    const char *labels[] = {"Fz", "Cz"}, *units[] = {"uV", "µV"};
    stash_ring_config cfg = {.channels = CHANNELS, .capacity_samples = capacity,
                             .dtype = STASH_DTYPE_FLOAT64, .rate_hz = 1000, .labels = labels,
                             .units = units, .first_sample = first};
    stash_ring *r;
    assert_ok(stash_ring_create(name, &cfg, &r));
    return r;
}

/* The subscriber's ring, once it has the publisher's META (or the test fails). */
static stash_ring *attach_copy(const char *name, int subscriber)
{
    stash_ring *r = NULL;
    int64_t give_up = now_ns() + LONG_NS;
    while (now_ns() < give_up) {
        if (atomic_load(&reports[subscriber].state) == 2)
            fail_msg("the subscriber ended: %s",
                     stash_strerror(atomic_load(&reports[subscriber].opened)));
        if (stash_ring_attach_wait(name, 0, 100000000, &r) == STASH_OK)
            return r;
    }
    fail_msg("no copy ring");
    return NULL;
}

static void wait_until(const _Atomic uint64_t *value, uint64_t want)
{
    int64_t give_up = now_ns() + LONG_NS;
    while (atomic_load(value) < want && now_ns() < give_up)
        nap_ms(1);
    assert_true(atomic_load(value) >= want);
}

/* ---- Tests ---------------------------------------------------------------------------- */

/*
 * A long run, paced so that nothing may be lost (the copy stays within 256
 * samples of the source: no ring laps, no high-water mark is reached), and
 * every sample checked by its absolute number. The source starts at sample
 * 5000, so the numbering itself is carried. The source's writer closes:
 * the publisher ends, says goodbye, and the subscriber ends.
 */
static void relays_every_sample(stash_relay_mode mode, const char *endpoint, const char *tag)
{
    char src[256], dst[300];
    snprintf(src, sizeof src, "%s", ring_at(tag));
    snprintf(dst, sizeof dst, "%s-copy", src);
    stash_ring *w = create_source(src, 4096, 5000);
    stash_relay_config cfg = {.mode = mode, .source_timeout_ns = LONG_NS};
    int pub = spawn_publisher(src, endpoint, &cfg, false);
    int sub = spawn_subscriber(endpoint, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    assert_ok(atomic_load(&reports[pub].opened));
    stash_ring_info info;
    assert_ok(stash_ring_info_get(copy, &info));
    assert_int_equal(info.channels, CHANNELS);
    assert_int_equal(info.dtype, STASH_DTYPE_FLOAT64);
    assert_int_equal(info.capacity_samples, 4096);
    assert_true(info.rate_hz == 1000);
    assert_string_equal(info.labels[1], "Cz");
    assert_string_equal(info.units[1], "µV");
    assert_int_equal(stash_ring_written(copy), 5000);

    uint64_t total = under_valgrind() ? 20000 : 200000, next = 5000, checked = 5000;
    for (uint64_t i = 0; next < 5000 + total; i++) {
        uint64_t n = 1 + (i * 37) % 97;
        put_samples(w, next, n);
        next += n;
        if (next - checked >= 256) {
            assert_ok(stash_ring_wait(copy, next, LONG_NS, 0));
            assert_samples(copy, checked, next);
            checked = next;
        }
    }
    assert_ok(stash_ring_wait(copy, next, LONG_NS, 0));
    assert_samples(copy, checked, next);
    assert_ok(stash_ring_close(&w)); /* the source ends: so do the publisher and subscriber */
    reap(pub);
    reap(sub);
    assert_int_equal(reports[pub].ended, STASH_E_WRITER_GONE);
    assert_int_equal(reports[pub].stats.samples, next - 5000);
    assert_int_equal(reports[pub].stats.gaps, 0);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    const stash_relay_stats *s = &reports[sub].stats;
    assert_int_equal(s->samples, next - 5000);
    assert_int_equal(s->next_sample, next);
    assert_int_equal(s->gaps, 0);
    assert_int_equal(s->samples_lost, 0);
    assert_int_equal(s->rejected, 0);
    assert_int_equal(s->writer_session, 1);
    assert_ok(stash_ring_close(&copy));
}

static void test_pubsub_over_tcp_relays_every_sample(void **state)
{
    (void)state;
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    relays_every_sample(STASH_RELAY_PUBSUB, ep, "pubsub-tcp");
}

static void test_pubsub_over_ipc_relays_every_sample(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "pubsub");
    relays_every_sample(STASH_RELAY_PUBSUB, ep, "pubsub-ipc");
}

static void test_pushpull_over_tcp_relays_every_sample(void **state)
{
    (void)state;
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    relays_every_sample(STASH_RELAY_PUSHPULL, ep, "pushpull-tcp");
}

static void test_pushpull_over_ipc_relays_every_sample(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "pushpull");
    relays_every_sample(STASH_RELAY_PUSHPULL, ep, "pushpull-ipc");
}

/*
 * The subscriber is stopped (SIGSTOP) while the source writes 4 MiB, far
 * more than the source's capacity and every queue on the way (high-water
 * marks of 8 messages of 256 samples, and a Unix socket's buffers), and
 * continued once the publisher has sent, or dropped, all of it. Its ring
 * must then hold a gap: windows across it and before it report overwritten,
 * windows after it are whole; and what was received and what was counted
 * lost add up to every sample number it passed.
 */
static void test_a_stopped_subscriber_sees_the_gap_as_overwritten(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "stopped");
    const char *src = "stopped-src", *dst = "stopped-copy";
    char src_path[256], dst_path[256];
    snprintf(src_path, sizeof src_path, "%s", ring_at(src));
    snprintf(dst_path, sizeof dst_path, "%s", ring_at(dst));
    stash_ring *w = create_source(src_path, 4096, 0);
    stash_relay_config cfg = {.chunk_samples = 256, .high_water_mark = 8,
                              .source_timeout_ns = LONG_NS, .capacity_samples = 1 << 16};
    int pub = spawn_publisher(src_path, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst_path, &cfg);
    stash_ring *copy = attach_copy(dst_path, sub);
    put_samples(w, 0, 1000);
    assert_ok(stash_ring_wait(copy, 1000, LONG_NS, 0));
    assert_samples(copy, 0, 1000);

    kill(children[sub], SIGSTOP);
    int status;
    assert_int_equal(waitpid(children[sub], &status, WUNTRACED), children[sub]);
    assert_true(WIFSTOPPED(status));
    uint64_t stopped_at = stash_ring_written(copy), next = 1000;
    for (; next < 1000 + (1 << 18); next += 256)
        put_samples(w, next, 256);
    wait_until(&reports[pub].next_sample, next); /* all of it sent or dropped */
    kill(children[sub], SIGCONT);

    /* Writes go on, a little at a time, until the copy has caught up. */
    int64_t give_up = now_ns() + LONG_NS;
    while (stash_ring_wait(copy, next, 20000000, 0) != STASH_OK && now_ns() < give_up) {
        put_samples(w, next, 16);
        next += 16;
    }
    assert_ok(stash_ring_wait(copy, next, 0, 0));
    stash_ring_info info;
    assert_ok(stash_ring_info_get(copy, &info));
    uint64_t gap_end = info.readable_from; /* the last skip: the copy holds far more than since */
    assert_true(gap_end > stopped_at);
    assert_true(next - gap_end < (1 << 16));
    assert_int_equal(stash_ring_check(copy, gap_end - 1, gap_end + 1), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(copy, stopped_at - 10, stopped_at), STASH_RING_OVERWRITTEN);
    const void *frames;
    assert_int_equal(stash_ring_view(copy, gap_end - 5, gap_end, &frames), STASH_E_OVERWRITTEN);
    assert_samples(copy, gap_end, next);

    assert_ok(stash_ring_close(&w));
    reap(pub);
    reap(sub);
    const stash_relay_stats *s = &reports[sub].stats;
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_true(s->gaps >= 1);
    assert_true(s->samples_lost >= 1);
    assert_int_equal(s->samples + s->samples_lost, s->next_sample);
    assert_int_equal(s->next_sample, next);
    assert_int_equal(s->rejected, 0);
    assert_ok(stash_ring_close(&copy));
}

/*
 * PUB past its high-water mark: the publisher's ring holds everything (it
 * is never lapped: no GAP is sent), so every sample lost was a message
 * ZeroMQ dropped, and the subscriber found each from the sample numbers.
 */
static void test_pub_past_its_high_water_mark_drops_are_counted(void **state)
{
    (void)state;
    char ep[128]; /* a Unix socket: its kernel buffers are small beside the burst */
    ipc_endpoint(ep, sizeof ep, "hwm");
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("hwm-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("hwm-copy"));
    uint64_t burst = under_valgrind() ? 1 << 18 : 1 << 20; /* 4 or 16 MiB */
    stash_ring *w = create_source(src, 2 * burst, 0);
    stash_relay_config cfg = {.chunk_samples = 256, .high_water_mark = 2,
                              .source_timeout_ns = LONG_NS, .capacity_samples = 1 << 12};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    kill(children[sub], SIGSTOP);
    int status;
    assert_int_equal(waitpid(children[sub], &status, WUNTRACED), children[sub]);
    uint64_t next = 0;
    for (; next < burst; next += 256)
        put_samples(w, next, 256);
    wait_until(&reports[pub].next_sample, next);
    kill(children[sub], SIGCONT);
    int64_t give_up = now_ns() + LONG_NS;
    while (stash_ring_wait(copy, next, 20000000, 0) != STASH_OK && now_ns() < give_up) {
        put_samples(w, next, 16);
        next += 16;
    }
    assert_ok(stash_ring_wait(copy, next, 0, 0));
    assert_samples(copy, next - 16, next);
    assert_ok(stash_ring_close(&w));
    reap(pub);
    reap(sub);
    assert_int_equal(reports[pub].stats.gaps, 0);
    assert_int_equal(reports[pub].stats.samples, next);
    const stash_relay_stats *s = &reports[sub].stats;
    assert_true(s->gaps >= 1);
    assert_true(s->samples_lost >= 256);
    assert_int_equal(s->samples + s->samples_lost, next);
    assert_int_equal(s->next_sample, next);
    assert_int_equal(s->rejected, 0);
    assert_ok(stash_ring_close(&copy));
}

/*
 * PUSH/PULL: a stopped subscriber holds its publisher back (its queues are
 * full long before the burst ends), the source's writer laps it, and it
 * sends GAP. ZeroMQ drops nothing in this mode, so the subscriber counts
 * exactly the gaps and samples the publisher said it lost.
 */
static void test_a_held_back_push_publisher_is_lapped_and_says_so(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "lapped");
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("lapped-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("lapped-copy"));
    stash_ring *w = create_source(src, 4096, 0);
    stash_relay_config cfg = {.mode = STASH_RELAY_PUSHPULL, .chunk_samples = 256,
                              .high_water_mark = 2, .source_timeout_ns = LONG_NS};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    kill(children[sub], SIGSTOP);
    int status;
    assert_int_equal(waitpid(children[sub], &status, WUNTRACED), children[sub]);
    uint64_t next = 0;
    for (; next < (1 << 18); next += 256)
        put_samples(w, next, 256);
    kill(children[sub], SIGCONT);
    int64_t give_up = now_ns() + LONG_NS;
    while (stash_ring_wait(copy, next, 20000000, 0) != STASH_OK && now_ns() < give_up) {
        put_samples(w, next, 16);
        next += 16;
    }
    assert_ok(stash_ring_wait(copy, next, 0, 0));
    assert_samples(copy, next - 16, next);
    assert_ok(stash_ring_close(&w));
    reap(pub);
    reap(sub);
    const stash_relay_stats *p = &reports[pub].stats, *s = &reports[sub].stats;
    assert_true(p->gaps >= 1);
    assert_int_equal(s->gaps, p->gaps);
    assert_int_equal(s->samples_lost, p->samples_lost);
    assert_int_equal(s->samples, p->samples);
    assert_int_equal(s->samples + s->samples_lost, next);
    assert_int_equal(s->rejected, 0);
    assert_ok(stash_ring_close(&copy));
}

/* Killed, the publisher says nothing: its silence ends the subscriber's run. */
static void test_a_killed_publisher_is_gone_after_its_silence(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "killed");
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("killed-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("killed-copy"));
    stash_ring *w = create_source(src, 1024, 0);
    stash_relay_config cfg = {.source_timeout_ns = under_valgrind() ? 10000000000 : 5000000000};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    put_samples(w, 0, 100);
    assert_ok(stash_ring_wait(copy, 100, LONG_NS, 0));
    kill_child(pub);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_samples(copy, 0, 100);
    assert_ok(stash_ring_close(&copy));
    assert_ok(stash_ring_close(&w));
}

/*
 * Stopped, the publisher says goodbye: the subscriber ends long before its
 * silence timeout (which is longer than this test may wait).
 */
static void test_a_publisher_that_closes_says_goodbye(void **state)
{
    (void)state;
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("bye-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("bye-copy"));
    stash_ring *w = create_source(src, 1024, 0);
    stash_relay_config cfg = {.source_timeout_ns = 10 * LONG_NS};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    put_samples(w, 0, 10);
    assert_ok(stash_ring_wait(copy, 10, LONG_NS, 0));
    stop_child(pub);
    assert_ok(reports[pub].ended);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_ok(stash_ring_close(&copy));
    assert_ok(stash_ring_close(&w));
}

/*
 * A silence timeout as long as an int64_t holds ("never") is a timeout
 * that never comes: the subscriber starts, relays, and ends only at the
 * goodbye (the deadline adding it to the clock once overflowed into the
 * past, and the subscriber gave up at once).
 */
static void test_a_subscriber_that_never_times_out_relays(void **state)
{
    (void)state;
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("never-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("never-copy"));
    stash_ring *w = create_source(src, 1024, 0);
    stash_relay_config cfg = {.source_timeout_ns = INT64_MAX};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    assert_ok(atomic_load(&reports[sub].opened));
    put_samples(w, 0, 10);
    assert_ok(stash_ring_wait(copy, 10, LONG_NS, 0));
    assert_samples(copy, 0, 10);
    stop_child(pub);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_ok(stash_ring_close(&copy));
    assert_ok(stash_ring_close(&w));
}

/*
 * The source's writer is killed and another takes the ring over: the
 * publisher (run again after it reported the departure) relays the new
 * writer's samples, and the subscriber follows its writer session.
 */
static void test_the_relay_follows_a_new_writer_session(void **state)
{
    (void)state;
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("takeover-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("takeover-copy"));
    stash_ring *w = create_source(src, 1024, 0);
    assert_ok(stash_ring_close(&w)); /* the first writer is a child, killed below */
    int *ready = mmap(NULL, sizeof *ready, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    assert_true(ready != MAP_FAILED);
    *ready = 0;
    stash_relay_config cfg = {.source_timeout_ns = LONG_NS};
    int pub = spawn_publisher(src, ep, &cfg, true);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);

    int slot = free_slot();
    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        stash_ring *r;
        if (stash_ring_attach(src, STASH_RING_WRITER, &r) != STASH_OK)
            _exit(1);
        put_samples(r, 0, 300);
        __atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
        for (;;)
            pause(); /* until SIGKILL */
    }
    children[slot] = writer;
    int64_t give_up = now_ns() + LONG_NS;
    while (__atomic_load_n(ready, __ATOMIC_SEQ_CST) == 0 && now_ns() < give_up)
        nap_ms(1);
    assert_ok(stash_ring_wait(copy, 300, LONG_NS, 0));
    kill_child(slot);
    /* The publisher reports the departure (once), and goes on waiting for a new writer. */
    give_up = now_ns() + LONG_NS;
    while (atomic_load(&reports[pub].writer_gone) == 0 && now_ns() < give_up)
        nap_ms(1);
    assert_int_equal(atomic_load(&reports[pub].writer_gone), 1);

    assert_ok(stash_ring_attach(src, STASH_RING_WRITER, &w)); /* the takeover */
    stash_ring_info info;
    assert_ok(stash_ring_info_get(w, &info));
    assert_int_equal(stash_ring_written(w), 300);
    put_samples(w, 300, 500);
    assert_ok(stash_ring_wait(copy, 800, LONG_NS, 0));
    assert_samples(copy, 0, 800);
    stop_child(pub);
    assert_int_equal(reports[pub].writer_gone, 1);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_int_equal(info.writer_sessions, 3); /* the creator, the child, this takeover */
    assert_int_equal(reports[sub].stats.writer_session, 3);
    assert_int_equal(reports[sub].stats.gaps, 0);
    assert_int_equal(reports[sub].stats.samples, 800);
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_close(&copy));
    munmap(ready, sizeof *ready);
}

/*
 * A subscriber started again on its copy takes the ring over where the
 * stream stands now: what passed while nobody subscribed reads overwritten.
 * A copy of another geometry is refused, and so is one ahead of the stream.
 */
static void test_a_copy_ring_is_taken_over_where_the_stream_stands(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "again");
    char src[256], dst[256], other[256], ahead[256];
    snprintf(src, sizeof src, "%s", ring_at("again-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("again-copy"));
    snprintf(other, sizeof other, "%s", ring_at("again-other"));
    snprintf(ahead, sizeof ahead, "%s", ring_at("again-ahead"));
    stash_ring *w = create_source(src, 1024, 0);
    stash_relay_config cfg = {.source_timeout_ns = LONG_NS};
    int pub = spawn_publisher(src, ep, &cfg, false);
    int sub = spawn_subscriber(ep, dst, &cfg);
    stash_ring *copy = attach_copy(dst, sub);
    put_samples(w, 0, 100);
    assert_ok(stash_ring_wait(copy, 100, LONG_NS, 0));
    stop_child(sub);
    assert_ok(reports[sub].ended);
    put_samples(w, 100, 50); /* nobody subscribes: gone for the copy */
    wait_until(&reports[pub].next_sample, 150); /* so the next META starts at 150 */
    sub = spawn_subscriber(ep, dst, &cfg);
    /* Until the new subscriber claims the copy, a wait says its writer has gone. */
    int64_t give_up = now_ns() + LONG_NS;
    while (stash_ring_wait(copy, 150, 20000000, 0) != STASH_OK && now_ns() < give_up)
        nap_ms(5);
    assert_ok(stash_ring_wait(copy, 150, 0, 0)); /* the new writer skipped it forward */
    put_samples(w, 150, 10);
    assert_ok(stash_ring_wait(copy, 160, LONG_NS, 0));
    assert_samples(copy, 150, 160);
    assert_int_equal(stash_ring_check(copy, 100, 150), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(copy, 0, 100), STASH_RING_OVERWRITTEN);

    stash_ring_config three = {.channels = 3, .capacity_samples = 64,
                               .dtype = STASH_DTYPE_FLOAT64};
    stash_ring *r;
    assert_ok(stash_ring_create(other, &three, &r));
    assert_ok(stash_ring_close(&r));
    stash_relay *relay = NULL;
    assert_int_equal(stash_relay_subscribe(ep, other, &cfg, &relay), STASH_E_SHAPE);
    stash_ring_config later = {.channels = CHANNELS, .capacity_samples = 64,
                               .dtype = STASH_DTYPE_FLOAT64, .first_sample = 1 << 30};
    assert_ok(stash_ring_create(ahead, &later, &r));
    assert_ok(stash_ring_close(&r));
    assert_int_equal(stash_relay_subscribe(ep, ahead, &cfg, &relay), STASH_E_RANGE);
    assert_null(relay);

    assert_ok(stash_ring_close(&w));
    reap(pub);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_int_equal(reports[sub].stats.gaps, 0); /* a takeover's skip is not a loss it saw */
    assert_ok(stash_ring_close(&copy));
}

/* ---- Hostile messages, from a raw ZeroMQ socket -------------------------------------- */

struct raw_pub {
    void *context, *socket;
    uint32_t session;
};

static void raw_send(struct raw_pub *p, const void *bytes, size_t len)
{
    assert_int_equal(zmq_send(p->socket, bytes, len, 0), (int)len);
}

static size_t raw_header(unsigned char *out, enum relay_type type, uint32_t session,
                         uint64_t first, uint64_t count)
{
    relay_header_put(out, type, session, first, count);
    return RELAY_HEADER_BYTES;
}

static size_t raw_meta(unsigned char *out, uint32_t session, uint32_t channels, const char *descr,
                       uint64_t first)
{
    const char *labels[] = {"a", "b", "c"}, *units[] = {"", "", ""};
    stash_ring_info info = {.channels = channels, .dtype = STASH_DTYPE_FLOAT64,
                            .capacity_samples = 256, .frame_bytes = channels * 8,
                            .rate_hz = 10, .labels = labels, .units = units};
    size_t body = relay_meta_body_bytes(&info);
    raw_header(out, RELAY_META, session, first, 0);
    relay_meta_put(out + RELAY_HEADER_BYTES, &info, 64);
    if (descr)
        memcpy(out + RELAY_HEADER_BYTES + 8, descr, 4);
    return RELAY_HEADER_BYTES + body;
}

static size_t raw_data(unsigned char *out, uint32_t session, uint64_t first, uint64_t count)
{
    raw_header(out, RELAY_DATA, session, first, count);
    double *frames = (double *)(out + RELAY_HEADER_BYTES);
    for (uint64_t k = 0; k < count; k++)
        for (int c = 0; c < CHANNELS; c++)
            frames[k * CHANNELS + c] = (double)((first + k) * 4 + (uint64_t)c);
    return RELAY_HEADER_BYTES + count * CHANNELS * 8;
}

/* Sends a message and waits until the subscriber has refused it, with the status want. */
static void refused(struct raw_pub *p, int sub, const void *msg, size_t len, stash_status want)
{
    uint64_t before = atomic_load(&reports[sub].rejected);
    raw_send(p, msg, len);
    wait_until(&reports[sub].rejected, before + 1);
    uint64_t seq;
    stash_status last;
    do {
        seq = atomic_load(&reports[sub].stats_seq);
        last = reports[sub].stats.last_rejected;
    } while ((seq & 1) || seq != atomic_load(&reports[sub].stats_seq));
    assert_int_equal(last, want);
}

static void test_hostile_messages_are_refused_and_counted(void **state)
{
    (void)state;
    char ep[128];
    ipc_endpoint(ep, sizeof ep, "hostile");
    char dst[256];
    snprintf(dst, sizeof dst, "%s", ring_at("hostile-copy"));
    stash_relay_config cfg = {.source_timeout_ns = LONG_NS};
    int sub = spawn_subscriber(ep, dst, &cfg); /* first: it inherits no ZeroMQ context */
    struct raw_pub p = {.context = zmq_ctx_new()};
    p.socket = zmq_socket(p.context, ZMQ_XPUB);
    int hwm = 100000, linger = 0;
    zmq_setsockopt(p.socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(p.socket, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(p.socket, ep), 0); /* it connects again until this is here */
    char sub_msg[64];
    int timeout = 120000;
    zmq_setsockopt(p.socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_true(zmq_recv(p.socket, sub_msg, sizeof sub_msg, 0) >= 1); /* its subscription */
    assert_int_equal(sub_msg[0], 1);

    unsigned char *m = calloc(1, 1 << 16);
    assert_non_null(m);
    raw_send(&p, m, raw_meta(m, 1, CHANNELS, NULL, 100));
    stash_ring *copy = attach_copy(dst, sub);
    assert_int_equal(stash_ring_written(copy), 100);
    raw_send(&p, m, raw_data(m, 1, 100, 10));
    assert_ok(stash_ring_wait(copy, 110, LONG_NS, 0));
    assert_samples(copy, 100, 110);

    size_t len = raw_data(m, 1, 110, 3);
    refused(&p, sub, m, 10, STASH_E_CORRUPT); /* shorter than a header */
    m[0] = 'X';
    refused(&p, sub, m, len, STASH_E_CORRUPT); /* magic */
    m[0] = 'S';
    m[4] = 2;
    refused(&p, sub, m, len, STASH_E_VERSION);
    m[4] = 1;
    m[6] = 9;
    refused(&p, sub, m, len, STASH_E_CORRUPT); /* type */
    m[6] = RELAY_DATA;
    m[7] = 1;
    refused(&p, sub, m, len, STASH_E_CORRUPT); /* flags */
    m[7] = 0;
    m[12] = 1;
    refused(&p, sub, m, len, STASH_E_CORRUPT); /* reserved */
    m[12] = 0;
    refused(&p, sub, m, len - 8, STASH_E_CORRUPT); /* a body short of count frames */
    refused(&p, sub, m, len + 16, STASH_E_CORRUPT); /* one frame too many */
    refused(&p, sub, m, raw_data(m, 1, 110, 0), STASH_E_CORRUPT); /* no samples */
    refused(&p, sub, m, raw_data(m, 1, 110, 65), STASH_E_CORRUPT); /* past chunk_samples */
    refused(&p, sub, m, raw_data(m, 1, 105, 3), STASH_E_CORRUPT);  /* backwards */
    refused(&p, sub, m, raw_data(m, 1, 110 + (UINT64_C(1) << 41), 3), STASH_E_CORRUPT);
    refused(&p, sub, m, raw_data(m, 1, (UINT64_C(1) << 62) - 1, 3), STASH_E_CORRUPT);
    refused(&p, sub, m, raw_data(m, 0, 110, 3), STASH_E_CORRUPT); /* an older writer session */
    refused(&p, sub, m, raw_header(m, RELAY_GAP, 1, 110, 0), STASH_E_CORRUPT);
    refused(&p, sub, m, raw_header(m, RELAY_HEARTBEAT, 1, 110, 1), STASH_E_CORRUPT);
    raw_header(m, RELAY_GOODBYE, 1, 110, 0);
    refused(&p, sub, m, RELAY_HEADER_BYTES + 1, STASH_E_CORRUPT); /* a goodbye with a body */
    /* Refused whole: its newer writer session is not taken either (data of session 1 follows). */
    refused(&p, sub, m, raw_meta(m, 5, CHANNELS, ">f8", 110), STASH_E_DTYPE);
    len = raw_meta(m, 1, CHANNELS, NULL, 110);
    refused(&p, sub, m, len - 1, STASH_E_CORRUPT); /* its strings cut short */
    m[RELAY_HEADER_BYTES + 4] = 17;
    refused(&p, sub, m, len, STASH_E_CORRUPT); /* a frame size that is not channels x 8 */

    /* Whatever was refused, the stream goes on: a gap from the numbers, then data. */
    raw_send(&p, m, raw_data(m, 1, 150, 5));
    assert_ok(stash_ring_wait(copy, 155, LONG_NS, 0));
    assert_samples(copy, 150, 155);
    assert_int_equal(stash_ring_check(copy, 108, 110), STASH_RING_OVERWRITTEN);
    raw_send(&p, m, raw_header(m, RELAY_GAP, 2, 155, 45)); /* a new writer session, too */
    raw_send(&p, m, raw_data(m, 2, 200, 1));
    assert_ok(stash_ring_wait(copy, 201, LONG_NS, 0));
    assert_samples(copy, 200, 201);
    /* A heartbeat says where the publisher stands: what it sent before was lost. */
    raw_send(&p, m, raw_header(m, RELAY_HEARTBEAT, 2, 230, 0));
    assert_ok(stash_ring_wait(copy, 230, LONG_NS, 0));
    assert_int_equal(stash_ring_check(copy, 200, 201), STASH_RING_OVERWRITTEN);
    /* META for another geometry: another ring is published there now; the run ends. */
    raw_send(&p, m, raw_meta(m, 2, 3, NULL, 230));
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_SHAPE);
    const stash_relay_stats *s = &reports[sub].stats;
    assert_int_equal(s->rejected, 20);
    assert_int_equal(s->gaps, 3);
    assert_int_equal(s->samples_lost, 40 + 45 + 29);
    assert_int_equal(s->samples, 16);
    assert_int_equal(s->writer_session, 2);
    free(m);
    assert_ok(stash_ring_close(&copy));
    zmq_close(p.socket);
    zmq_ctx_term(p.context);
}

/* A GAP's end is held to the same jump limit as a first sample: one message cannot send the
 * copy 2^61 samples ahead, after which every honest message would be refused as backwards. */
static void test_a_gap_that_jumps_absurdly_far_is_refused(void **state)
{
    (void)state;
    unsigned char bytes[RELAY_HEADER_BYTES];
    struct relay_msg msg;
    uint64_t skip_to = 7, next = 7;
    relay_header_put(bytes, RELAY_GAP, 1, 110, UINT64_C(1) << 61);
    assert_ok(relay_msg_parse(bytes, sizeof bytes, &msg));
    assert_int_equal(relay_sequence(110, 1, &msg, &skip_to, &next), STASH_E_CORRUPT);
    assert_int_equal(skip_to, 7);
    assert_int_equal(next, 7);
    relay_header_put(bytes, RELAY_GAP, 1, 110, RELAY_JUMP_MAX + 1);
    assert_ok(relay_msg_parse(bytes, sizeof bytes, &msg));
    assert_int_equal(relay_sequence(110, 1, &msg, &skip_to, &next), STASH_E_CORRUPT);
    relay_header_put(bytes, RELAY_GAP, 1, 110, RELAY_JUMP_MAX);
    assert_ok(relay_msg_parse(bytes, sizeof bytes, &msg));
    assert_ok(relay_sequence(110, 1, &msg, &skip_to, &next));
    assert_true(skip_to == 110 + RELAY_JUMP_MAX && next == skip_to);
}

/* A META asking a copy of 1.5 TiB gets 1 GiB unless the subscriber asks for a capacity. */
static void test_a_meta_never_sizes_the_copy_past_the_default_alone(void **state)
{
    (void)state;
    struct relay_meta m = {.channels = 3, .frame_bytes = 24, .dtype = STASH_DTYPE_FLOAT64,
                           .capacity_samples = UINT64_C(1) << 36};
    assert_int_equal(relay_copy_capacity(&m, 0), STASH_RELAY_DEFAULT_COPY_BYTES / 24);
    assert_int_equal(relay_copy_capacity(&m, UINT64_C(1) << 36), UINT64_C(1) << 36);
    m.capacity_samples = 4096;
    assert_int_equal(relay_copy_capacity(&m, 0), 4096);
    assert_int_equal(relay_copy_capacity(&m, 100), 100);
}

/* ---- Arguments ----------------------------------------------------------------------- */

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    stash_relay *r = NULL;
    char src[256];
    snprintf(src, sizeof src, "%s", ring_at("args-src"));
    stash_ring *w = create_source(src, 64, 0);
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    assert_int_equal(stash_relay_publish(src, "udp://x", NULL, &r), STASH_E_INVALID);
    assert_int_equal(stash_relay_publish(src, NULL, NULL, &r), STASH_E_INVALID);
    assert_int_equal(stash_relay_publish(NULL, ep, NULL, &r), STASH_E_INVALID);
    stash_relay_config cfg = {.mode = 7};
    assert_int_equal(stash_relay_publish(src, ep, &cfg, &r), STASH_E_INVALID);
    cfg = (stash_relay_config){.server_secret_key = "short"};
    assert_int_equal(stash_relay_publish(src, ep, &cfg, &r), STASH_E_INVALID);
    cfg = (stash_relay_config){.chunk_samples = 65};
    assert_int_equal(stash_relay_publish(src, ep, &cfg, &r), STASH_E_RANGE);
    assert_int_equal(stash_relay_publish(ring_at("no-such-ring"), ep, NULL, &r),
                     STASH_E_NOT_FOUND);
    assert_null(r);
    stash_relay *first;
    assert_ok(stash_relay_publish(src, ep, NULL, &first));
    assert_int_equal(stash_relay_publish(src, ep, NULL, &r), STASH_E_UNAVAILABLE); /* in use */
    stash_relay_stats stats;
    assert_ok(stash_relay_stats_get(first, &stats));
    assert_int_equal(stats.next_sample, 0);
    assert_ptr_not_equal(stash_relay_ring(first), NULL);
    assert_ok(stash_relay_run(first, 0)); /* a timeout is not an error */
    stash_relay_stop(first);
    assert_ok(stash_relay_run(first, -1)); /* a stop asked before the run ends it */
    assert_ok(stash_relay_close(&first));
    assert_null(first);
    assert_ok(stash_relay_close(&first));
    assert_int_equal(stash_relay_run(NULL, 0), STASH_E_CLOSED);
    cfg = (stash_relay_config){.ring_flags = STASH_RING_NO_WRITER};
    assert_int_equal(stash_relay_subscribe(ep, ring_at("x"), &cfg, &r), STASH_E_INVALID);
    cfg = (stash_relay_config){.source_timeout_ns = 200000000}; /* nobody publishes there */
    assert_int_equal(stash_relay_subscribe(ep, ring_at("x"), &cfg, &r), STASH_E_TIMEOUT);
    assert_null(r);
    assert_ok(stash_ring_close(&w));
}

/*
 * CURVE: a subscriber with the server's public key receives the stream; a
 * plain-text one gets nothing (its META never comes).
 */
static void test_curve_keys_encrypt_the_stream(void **state)
{
    (void)state;
    if (!zmq_has("curve"))
        skip();
    char server_public[41], server_secret[41];
    assert_int_equal(zmq_curve_keypair(server_public, server_secret), 0);
    char ep[128];
    tcp_endpoint(ep, sizeof ep);
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s", ring_at("curve-src"));
    snprintf(dst, sizeof dst, "%s", ring_at("curve-copy"));
    stash_ring *w = create_source(src, 1024, 0);
    stash_relay_config pub_cfg = {.server_secret_key = server_secret};
    int pub = spawn_publisher(src, ep, &pub_cfg, false);
    stash_relay *plain = NULL;
    stash_relay_config plain_cfg = {.source_timeout_ns = 1000000000};
    assert_int_equal(stash_relay_subscribe(ep, ring_at("curve-plain"), &plain_cfg, &plain),
                     STASH_E_TIMEOUT);
    stash_relay_config sub_cfg = {.server_public_key = server_public,
                                  .source_timeout_ns = LONG_NS};
    int sub = spawn_subscriber(ep, dst, &sub_cfg);
    stash_ring *copy = attach_copy(dst, sub);
    put_samples(w, 0, 100);
    assert_ok(stash_ring_wait(copy, 100, LONG_NS, 0));
    assert_samples(copy, 0, 100);
    assert_ok(stash_ring_close(&w));
    reap(pub);
    reap(sub);
    assert_int_equal(reports[sub].ended, STASH_E_WRITER_GONE);
    assert_ok(stash_ring_close(&copy));
}

int main(void)
{
    dir = scratch_dir();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pubsub_over_tcp_relays_every_sample, reap_all),
        cmocka_unit_test_teardown(test_pubsub_over_ipc_relays_every_sample, reap_all),
        cmocka_unit_test_teardown(test_pushpull_over_tcp_relays_every_sample, reap_all),
        cmocka_unit_test_teardown(test_pushpull_over_ipc_relays_every_sample, reap_all),
        cmocka_unit_test_teardown(test_a_stopped_subscriber_sees_the_gap_as_overwritten, reap_all),
        cmocka_unit_test_teardown(test_pub_past_its_high_water_mark_drops_are_counted, reap_all),
        cmocka_unit_test_teardown(test_a_held_back_push_publisher_is_lapped_and_says_so, reap_all),
        cmocka_unit_test_teardown(test_a_killed_publisher_is_gone_after_its_silence, reap_all),
        cmocka_unit_test_teardown(test_a_publisher_that_closes_says_goodbye, reap_all),
        cmocka_unit_test_teardown(test_a_subscriber_that_never_times_out_relays, reap_all),
        cmocka_unit_test_teardown(test_the_relay_follows_a_new_writer_session, reap_all),
        cmocka_unit_test_teardown(test_a_copy_ring_is_taken_over_where_the_stream_stands, reap_all),
        cmocka_unit_test_teardown(test_hostile_messages_are_refused_and_counted, reap_all),
        cmocka_unit_test_teardown(test_a_gap_that_jumps_absurdly_far_is_refused, reap_all),
        cmocka_unit_test(test_a_meta_never_sizes_the_copy_past_the_default_alone),
        cmocka_unit_test_teardown(test_bad_arguments_are_refused, reap_all),
        cmocka_unit_test_teardown(test_curve_keys_encrypt_the_stream, reap_all),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
