/*
 * Waiting for samples, and knowing whether the writer lives.
 *
 * A reader first spins on the shared count (if asked), then registers in
 * the header's waiter count and sleeps on a futex on the count's low 32
 * bits. The writer, after publishing, looks at the waiter count and makes
 * the one FUTEX_WAKE system call only if someone is registered. Either the
 * writer sees the registration or the reader sees the new count: both sides
 * put a full fence between their store and their load (Dekker's pattern),
 * and the kernel compares the futex word before sleeping, so no wake-up is
 * lost.
 *
 * The writer's claim is an open file description lock on byte 0 of the
 * object. The kernel drops it when the writer's process dies, so a reader
 * asks the kernel (F_OFD_GETLK) whether anyone still holds it. A writer
 * that closes says so in the header and wakes everyone; one that dies
 * cannot, so sleeps are cut into slices of RING_LIVENESS_NS and the claim
 * is looked at between them (one fcntl per slice, never on the hot path).
 */
#include "ring_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_LIVENESS_NS 50000000 /* a dead writer is noticed within 50 ms */

static struct flock writer_lock_range(short type)
{
    return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
}

stash_status ring_writer_lock(int fd)
{
    struct flock lock = writer_lock_range(F_WRLCK);
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0)
        return STASH_OK;
    return errno == EAGAIN || errno == EACCES ? STASH_E_BUSY : -errno;
}

bool ring_writer_alive(const struct stash_ring *r)
{
    if (r->writer)
        return true;
    struct flock lock = writer_lock_range(F_WRLCK);
    if (fcntl(r->fd, F_OFD_GETLK, &lock) != 0)
        return true; /* cannot tell: keep waiting rather than give up */
    return lock.l_type != F_UNLCK;
}

static long futex(_Atomic uint64_t *word, int op, uint32_t value, const struct timespec *timeout)
{
    /* The count's low half: little-endian, so it sits at the count's own address. */
    return syscall(SYS_futex, (uint32_t *)word, op, value, timeout, NULL, 0);
}

void ring_wake_all(struct stash_ring *r)
{
    futex(&r->map.header->written, FUTEX_WAKE, INT_MAX, NULL);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * True once the writer this handle has known is gone: no live writer now,
 * and one was alive at attach or has claimed the ring since. A reader that
 * attached to a ring with no writer yet waits for one to come (it may be
 * started after the readers); a new writer taking over from a dead one
 * keeps the wait going.
 */
static bool writer_left(const struct stash_ring *r)
{
    const struct ring_header *h = r->map.header;
    uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_acquire);
    uint32_t sessions = atomic_load_explicit(&h->writer_sessions, memory_order_relaxed);
    if (state == RING_WRITER_ATTACHED && ring_writer_alive(r))
        return false;
    return r->writer_at_attach || sessions != r->sessions_at_attach;
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

/* One registered sleep of at most slice_ns: true if the samples arrived. */
static bool sleep_once(const struct stash_ring *r, uint64_t end, int64_t slice_ns, bool *gone)
{
    struct ring_header *h = r->map.header;
    atomic_fetch_add_explicit(&h->waiters, 1, memory_order_seq_cst);
    uint64_t written = atomic_load_explicit(&h->written, memory_order_seq_cst);
    bool arrived = written >= end;
    if (!arrived && writer_left(r))
        *gone = true;
    else if (!arrived) {
        struct timespec t = {.tv_sec = slice_ns / 1000000000, .tv_nsec = slice_ns % 1000000000};
        futex(&h->written, FUTEX_WAIT, (uint32_t)written, &t);
    }
    atomic_fetch_sub_explicit(&h->waiters, 1, memory_order_relaxed);
    return arrived || stash_ring_written(r) >= end;
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
        if (sleep_once(r, end, left < RING_LIVENESS_NS ? left : RING_LIVENESS_NS, &gone))
            return STASH_OK;
        if (gone)
            return STASH_E_WRITER_GONE;
    }
}
