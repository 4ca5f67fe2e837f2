/*
 * Waiting for samples, and knowing whether the writer lives.
 *
 * A reader first spins on the shared count (if asked), then registers in
 * the wake segment (ring_wake.c) and sleeps on a futex on the count's low
 * 32 bits, until a deadline at most one slice away. Registering is two
 * words: a count of sleepers, and a lease, the latest instant until which
 * any of them may sleep. The writer, after publishing, makes the one
 * FUTEX_WAKE system call only if the count is non-zero and the lease has
 * not run out. Either the writer sees the registration or the reader sees
 * the new count: both sides put a sequentially consistent operation between
 * their store and their load (Dekker's pattern), and the kernel compares
 * the futex word before sleeping, so no wake-up is lost. A reader killed in
 * its sleep leaves the count raised, but its lease runs out within a slice,
 * and from then on the writer pays nothing for it.
 *
 * The writer's claim is an open file description lock on byte 0 of the
 * object. The kernel drops it when the writer's process dies, so a reader
 * asks the kernel (F_OFD_GETLK) whether anyone still holds it. A writer
 * that closes says so in the header and wakes everyone; one that dies
 * cannot, so sleeps are cut into slices of RING_LIVENESS_NS and the claim
 * is looked at between them (one fcntl per slice, never on the hot path).
 * With no writer, a reader sleeps on the writer_sessions word instead,
 * which the next writer's claim moves and wakes.
 *
 * Before all that, a reader may wait for the ring itself to appear
 * (stash_ring_attach_wait): an inotify watch on its directory, set before
 * the first look, so no creation falls between a look and the sleep.
 */
#include "ring/ring_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_LIVENESS_NS 50000000 /* a dead writer is noticed within 50 ms */
/* A reader that cannot register (no access to the wake segment) sleeps this long at most. */
#define RING_UNREGISTERED_NS 1000000

bool ring_writer_alive(const struct stash_ring *r)
{
    return r->writer || ring_lock_held(r->fd, RING_LOCK_WRITER);
}

/* The count's low half: little-endian, so it sits at the count's own address. */
static const uint32_t *written_word(const struct stash_ring *r)
{
    return (const uint32_t *)&r->map.header->written;
}

static void futex_wake_all(const uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Sleeps while *word holds value, until woken or until_ns (CLOCK_MONOTONIC) at the latest. */
static void futex_wait_until(const uint32_t *word, uint32_t value, uint64_t until_ns)
{
    struct timespec until = {.tv_sec = (time_t)(until_ns / 1000000000u),
                             .tv_nsec = (long)(until_ns % 1000000000u)};
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET, value, &until, NULL, FUTEX_BITSET_MATCH_ANY);
}

void ring_wake_all(struct stash_ring *r)
{
    futex_wake_all(written_word(r));
}

void ring_wake_claimed(struct stash_ring *r)
{
    futex_wake_all((const uint32_t *)&r->map.header->writer_sessions);
    futex_wake_all(written_word(r));
}

static int64_t now_ns(void)
{
    return (int64_t)ring_now_ns();
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

enum writer_now {
    WRITER_LIVE,    /* a live writer holds the claim */
    WRITER_AWAITED, /* none yet: this handle waits for one to come */
    WRITER_LEFT,    /* the writer this handle has known is gone, with no other in its place */
};

/*
 * The writer as this handle sees it. Gone means: no live writer now, and
 * one was alive at attach or has claimed the ring since. A reader that
 * attached to a ring with no writer yet waits for one to come (it may be
 * started after the readers); a new writer taking over from a dead one
 * keeps the wait going.
 */
static enum writer_now writer_now(const struct stash_ring *r)
{
    const struct ring_header *h = r->map.header;
    uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_seq_cst);
    uint32_t sessions = atomic_load_explicit(&h->writer_sessions, memory_order_relaxed);
    if (state == RING_WRITER_ATTACHED && ring_writer_alive(r))
        return WRITER_LIVE;
    return r->writer_at_attach || sessions != r->sessions_at_attach ? WRITER_LEFT
                                                                   : WRITER_AWAITED;
}

static bool spin_until(const struct stash_ring *r, uint64_t end, int64_t deadline)
{
    for (unsigned i = 0;; i++) {
        if (stash_ring_written(r) >= end)
            return true;
        if (i % 64 == 63 && now_ns() >= deadline)
            return false;
        cpu_relax();
    }
}

/* A sleep while a writer lives, registered if the wake segment lets this handle in. */
static void sleep_for_samples(const struct stash_ring *r, uint64_t end, uint64_t until_ns)
{
    struct ring_wake *w = ring_wake_segment(r);
    if (w)
        ring_wake_register(w, until_ns);
    else if (until_ns > ring_now_ns() + RING_UNREGISTERED_NS)
        until_ns = ring_now_ns() + RING_UNREGISTERED_NS; /* the writer cannot know of it */
    uint64_t written = atomic_load_explicit(&r->map.header->written, memory_order_seq_cst);
    if (written < end)
        futex_wait_until(written_word(r), (uint32_t)written, until_ns);
    if (w)
        ring_wake_unregister(w);
}

/* One sleep, until until_ns at the latest: true if the samples arrived. */
static bool sleep_once(const struct stash_ring *r, uint64_t end, uint64_t until_ns, bool *gone)
{
    const _Atomic uint32_t *sessions_word = &r->map.header->writer_sessions;
    /* Read before the writer's state: a claim moves the state first, then this word. */
    uint32_t sessions = atomic_load_explicit(sessions_word, memory_order_seq_cst);
    enum writer_now writer = writer_now(r);
    if (stash_ring_written(r) >= end)
        return true;
    if (writer == WRITER_LEFT)
        *gone = true;
    else if (writer == WRITER_AWAITED)
        futex_wait_until((const uint32_t *)sessions_word, sessions, until_ns);
    else
        sleep_for_samples(r, end, until_ns);
    return stash_ring_written(r) >= end;
}

stash_status stash_ring_wait(const stash_ring *r, uint64_t end, int64_t timeout_ns,
                             int64_t spin_ns)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (stash_ring_written(r) >= end)
        return STASH_OK;
    int64_t start = now_ns();
    int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - start ? INT64_MAX
                                                                    : start + timeout_ns;
    if (spin_ns > 0 && spin_until(r, end, spin_ns < deadline - start ? start + spin_ns : deadline))
        return STASH_OK;
    for (;;) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return STASH_E_TIMEOUT;
        bool gone = false;
        int64_t slice = left < RING_LIVENESS_NS ? left : RING_LIVENESS_NS;
        uint64_t until = ring_now_ns() + (uint64_t)slice;
        if (sleep_once(r, end, until, &gone))
            return STASH_OK;
        if (gone)
            return STASH_E_WRITER_GONE;
    }
}

/* ---- Waiting for a ring to appear ------------------------------------------------------ */

#define RING_APPEAR_LOOK_NS 1000000000 /* with a watch: look again at least this often */
#define RING_APPEAR_POLL_NS 20000000   /* without one: look this often */

/*
 * An inotify descriptor watching the directory path will be created in
 * (nonblocking), or -1 where inotify is refused: no watches left, or no
 * such directory yet.
 */
static int watch_directory_of(const char *path)
{
    char dir[RING_PATH_MAX];
    sysio_directory_of(path, dir, sizeof dir);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0 &&
        inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sleeps until the directory watched by watch changes, or for at most limit_ns. */
static void wait_for_change(int watch, int64_t limit_ns)
{
    if (watch < 0) {
        int64_t ns = limit_ns < RING_APPEAR_POLL_NS ? limit_ns : RING_APPEAR_POLL_NS;
        struct timespec nap = {.tv_sec = 0, .tv_nsec = (long)ns};
        nanosleep(&nap, NULL); /* a signal cuts it short: the caller looks again */
        return;
    }
    int64_t ns = limit_ns < RING_APPEAR_LOOK_NS ? limit_ns : RING_APPEAR_LOOK_NS;
    struct pollfd p = {.fd = watch, .events = POLLIN};
    int ms = (int)((ns + 999999) / 1000000);
    if (poll(&p, 1, ms) > 0) {
        char events[4096]; /* drained: the caller looks at the name itself */
        while (read(watch, events, sizeof events) > 0)
            continue;
    }
}

/* Worth waiting for: the name is missing, or (for a reader) the ring is still being built. */
static bool may_appear(stash_status st, unsigned flags)
{
    return st == STASH_E_NOT_FOUND || (st == STASH_E_BUSY && !(flags & STASH_RING_WRITER));
}

stash_status stash_ring_attach_wait(const char *name, unsigned flags, int64_t timeout_ns,
                                    stash_ring **ring)
{
    char path[RING_PATH_MAX];
    if (ring == NULL)
        return STASH_E_INVALID;
    stash_status st = ring_path(name, path);
    if (st != STASH_OK)
        return st;
    int64_t start = now_ns();
    int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - start ? INT64_MAX
                                                                    : start + timeout_ns;
    int watch = watch_directory_of(path); /* before the first look, so no creation is missed */
    for (;;) {
        st = stash_ring_attach(name, flags, ring);
        if (!may_appear(st, flags))
            break;
        int64_t left = deadline - now_ns();
        if (left <= 0) {
            st = STASH_E_TIMEOUT;
            break;
        }
        wait_for_change(watch, left);
    }
    if (watch >= 0)
        close(watch);
    return st;
}
