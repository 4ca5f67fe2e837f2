/*
 * The ring under fire: one writer process and three reader processes at
 * full speed over a fixed number of samples. Every frame carries a pattern
 * derived from its sample number, so a reader can tell a torn or stale
 * frame from a good one. The rule under test: every window the ring
 * accepts as valid (copy, or view + validate) is verified frame by frame;
 * every window the writer overwrote is reported, never returned.
 *
 * Then writers are SIGKILLed at random instants in the middle of puts, and
 * after each kill a new writer takes over and everything readable must
 * still be exactly right.
 */
#include "test_util.h"

#include <stash/ring.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#define CHANNELS 16
#define CAPACITY 256 /* 16 KiB: small, so the writer laps slow readers often */
#define READERS 3

static const char *dir;

/* Channel c of sample k. Channel 0 is k itself (low 32 bits). */
static uint32_t pattern(uint64_t k, uint32_t c)
{
    uint64_t x = (k + 1) * 0x9E3779B97F4A7C15u ^ (uint64_t)c * 0xBF58476D1CE4E5B9u;
    return c == 0 ? (uint32_t)k : (uint32_t)(x >> 29);
}

static void fill(uint32_t *frames, uint64_t first, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        for (uint32_t c = 0; c < CHANNELS; c++)
            frames[k * CHANNELS + c] = pattern(first + k, c);
}

/* Frames that do not hold their pattern. */
static uint64_t bad_frames(const uint32_t *frames, uint64_t first, uint64_t n)
{
    uint64_t bad = 0;
    for (uint64_t k = 0; k < n; k++)
        for (uint32_t c = 0; c < CHANNELS; c++)
            if (frames[k * CHANNELS + c] != pattern(first + k, c)) {
                bad++;
                break;
            }
    return bad;
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* ---- The writer ------------------------------------------------------------------------ */

/* Puts total samples in chunks of 1 to 1.2 x capacity, as fast as it can. */
static int run_writer(const char *name, uint64_t total, uint64_t seed)
{
    stash_ring *w;
    if (stash_ring_attach(name, STASH_RING_WRITER, &w) != STASH_OK)
        return 1;
    uint32_t *frames = malloc(CAPACITY * 2 * CHANNELS * sizeof *frames);
    uint64_t written = stash_ring_written(w);
    while (written < total) {
        uint64_t n = 1 + next_random(&seed) % (CAPACITY * 6 / 5);
        n = n < total - written ? n : total - written;
        fill(frames, written, n);
        if (stash_ring_put(w, frames, n) != STASH_OK)
            return 1;
        written += n;
    }
    free(frames);
    stash_ring_close(&w);
    return 0;
}

/* ---- The readers --------------------------------------------------------------------------- */

struct tally {
    uint64_t accepted;     /* windows returned as valid, and verified */
    uint64_t frames;       /* frames verified in them */
    uint64_t overwritten;  /* windows the ring reported as overwritten */
    uint64_t corrupt;      /* accepted windows with a bad frame: must stay 0 */
};

static void spin_a_little(uint64_t iterations)
{
    for (volatile uint64_t i = 0; i < iterations; i++)
        ;
}

/* One window read one of three ways; the tally says what came of it. */
static void read_window(const stash_ring *r, uint64_t first, uint64_t end, uint64_t how,
                        uint32_t *buf, struct tally *t)
{
    stash_status st;
    const uint32_t *frames = buf;
    uint64_t bad = 0;
    if (how == 0) {
        st = stash_ring_copy(r, first, end, buf);
        if (st == STASH_OK)
            bad = bad_frames(buf, first, end - first);
    } else {
        st = stash_ring_view(r, first, end, (const void **)&frames);
        if (st == STASH_OK) {
            if (how == 2)
                spin_a_little(20000); /* a slow reader: the writer laps it */
            bad = bad_frames(frames, first, end - first);
            st = stash_ring_validate(r, first);
        }
    }
    if (st == STASH_OK) {
        t->accepted++;
        t->frames += end - first;
        t->corrupt += bad != 0;
    } else if (st == STASH_E_OVERWRITTEN) {
        t->overwritten++;
    } else if (st != STASH_E_NOT_WRITTEN) {
        t->corrupt++; /* no other status is expected */
    }
}

static int run_reader(const char *name, uint64_t seed, int out)
{
    stash_ring *r;
    if (stash_ring_attach(name, 0, &r) != STASH_OK)
        return 1;
    uint32_t *buf = malloc(CAPACITY * CHANNELS * sizeof *buf);
    struct tally t = {0};
    for (;;) {
        uint64_t written = stash_ring_written(r);
        stash_status st = stash_ring_wait(r, written + 1, 10000000000, 20000);
        if (st == STASH_E_WRITER_GONE)
            break;
        if (st != STASH_OK)
            return 2;
        written = stash_ring_written(r);
        uint64_t len = 1 + next_random(&seed) % CAPACITY;
        uint64_t lag = next_random(&seed) % (CAPACITY / 2);
        uint64_t end = written > lag ? written - lag : written;
        uint64_t first = end > len ? end - len : 0;
        read_window(r, first, end, next_random(&seed) % 3, buf, &t);
    }
    free(buf);
    stash_ring_close(&r);
    return write(out, &t, sizeof t) == sizeof t ? 0 : 3;
}

static pid_t spawn(int (*body)(const char *, uint64_t, uint64_t), const char *name,
                   uint64_t a, uint64_t b)
{
    pid_t child = fork();
    if (child == 0)
        _exit(body(name, a, b));
    assert_true(child > 0);
    return child;
}

static int writer_body(const char *name, uint64_t total, uint64_t seed)
{
    return run_writer(name, total, seed);
}

static int reader_body(const char *name, uint64_t seed, uint64_t fd)
{
    return run_reader(name, seed, (int)fd);
}

static void wait_ok(pid_t child)
{
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A fixed number of samples through one writer and three readers; then the end state. */
static void torture(unsigned flags, uint64_t total)
{
    const char *name = path_in(dir, flags ? "torture-pocket" : "torture-mirror");
    stash_ring_config cfg = {.channels = CHANNELS, .capacity_samples = CAPACITY,
                             .dtype = STASH_DTYPE_UINT32, .flags = flags};
    stash_ring *ring;
    assert_ok(stash_ring_create(name, &cfg, &ring));
    assert_ok(stash_ring_close(&ring)); /* the readers attach before anything is written */

    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    pid_t readers[READERS];
    for (int i = 0; i < READERS; i++)
        readers[i] = spawn(reader_body, name, 88172645463325252u + (uint64_t)i, (uint64_t)pipes[1]);
    usleep(20000);
    pid_t writer = spawn(writer_body, name, total, 2463534242u);
    wait_ok(writer);
    struct tally sum = {0};
    for (int i = 0; i < READERS; i++) {
        wait_ok(readers[i]);
        struct tally t;
        assert_int_equal(read(pipes[0], &t, sizeof t), (ssize_t)sizeof t);
        sum.accepted += t.accepted;
        sum.frames += t.frames;
        sum.overwritten += t.overwritten;
        sum.corrupt += t.corrupt;
    }
    close(pipes[0]);
    close(pipes[1]);
    print_message("  %s: %llu windows accepted and verified (%llu frames), %llu overwrites "
                  "reported, %llu corrupt\n", flags ? "pocket" : "mirrored",
                  (unsigned long long)sum.accepted, (unsigned long long)sum.frames,
                  (unsigned long long)sum.overwritten, (unsigned long long)sum.corrupt);
    assert_int_equal(sum.corrupt, 0);
    assert_true(sum.accepted > 0);
    assert_true(sum.overwritten > 0); /* the slow readers were lapped, and were told */

    assert_ok(stash_ring_attach(name, 0, &ring));
    assert_int_equal(stash_ring_written(ring), total);
    uint32_t *buf = malloc(CAPACITY * CHANNELS * sizeof *buf);
    assert_ok(stash_ring_copy(ring, total - CAPACITY, total, buf));
    assert_int_equal(bad_frames(buf, total - CAPACITY, CAPACITY), 0);
    free(buf);
    assert_ok(stash_ring_close(&ring));
}

static void test_one_writer_three_readers_mirrored(void **state)
{
    (void)state;
    torture(0, 4000000);
}

static void test_one_writer_three_readers_pocket(void **state)
{
    (void)state;
    torture(STASH_RING_FORCE_POCKET, 2000000);
}

/* ---- Kills -------------------------------------------------------------------------------- */

static void test_writers_killed_mid_put_leave_only_whole_samples(void **state)
{
    (void)state;
    const char *name = path_in(dir, "kills");
    stash_ring_config cfg = {.channels = CHANNELS, .capacity_samples = CAPACITY,
                             .dtype = STASH_DTYPE_UINT32};
    stash_ring *ring;
    assert_ok(stash_ring_create(name, &cfg, &ring));
    assert_ok(stash_ring_close(&ring));
    assert_ok(stash_ring_attach(name, 0, &ring));
    uint32_t *buf = malloc(CAPACITY * CHANNELS * sizeof *buf);
    uint64_t seed = 0x2545F4914F6CDD1Du, torn = 0;
    for (int kill_no = 0; kill_no < 40; kill_no++) {
        uint64_t before = stash_ring_written(ring);
        pid_t writer = spawn(writer_body, name, UINT64_C(1) << 40, next_random(&seed));
        while (stash_ring_written(ring) < before + CAPACITY) /* it is writing */
            assert_int_equal(waitpid(writer, NULL, WNOHANG), 0);
        usleep((useconds_t)(next_random(&seed) % 2000));
        kill(writer, SIGKILL);
        waitpid(writer, NULL, 0);
        /* Whatever the ring calls readable is exactly right, before and after a takeover. */
        for (int takeover = 0; takeover < 2; takeover++) {
            stash_ring_info info;
            assert_ok(stash_ring_info_get(ring, &info));
            uint64_t first = info.readable_from, end = info.written_samples;
            if (end - first > CAPACITY)
                first = end - CAPACITY;
            stash_status st = stash_ring_copy(ring, first, end, buf);
            assert_int_equal(st, STASH_OK);
            assert_int_equal(bad_frames(buf, first, end - first), 0);
            if (takeover == 0) {
                stash_ring *w;
                assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &w));
                torn += info.written_samples != stash_ring_written(ring);
                assert_ok(stash_ring_close(&w));
            }
        }
    }
    print_message("  40 writers killed; %llu of them in the middle of a put\n",
                  (unsigned long long)torn);
    free(buf);
    assert_ok(stash_ring_close(&ring));
}

int main(void)
{
    dir = scratch_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_writer_three_readers_mirrored),
        cmocka_unit_test(test_one_writer_three_readers_pocket),
        cmocka_unit_test(test_writers_killed_mid_put_leave_only_whole_samples),
    };
    return cmocka_run_group_tests_name("ring_torture", tests, NULL, NULL);
}
