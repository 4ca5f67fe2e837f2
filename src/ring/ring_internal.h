/*
 * A ring handle, shared by ring.c (lifecycle, puts, views) and ring_wait.c
 * (blocking until samples arrive, and whether the writer lives).
 */
#ifndef STASH_RING_INTERNAL_H
#define STASH_RING_INTERNAL_H

#include "ring/ring_map.h"

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

/* One attachment of a wake segment: a handle keeps every one until it closes. */
struct ring_wake_link {
    struct ring_wake *segment;
    uint64_t cookie;
    struct ring_wake_link *older;
};

struct stash_ring {
    struct ring_geometry geo; /* checked once at attach; never re-read */
    struct ring_mapping map;
    int fd;                   /* holds the writer's lock, if this is the writer */
    bool writer;
    pid_t claimer;            /* the process that claimed the writer's role */
    uint64_t next;            /* the writer's count: what it has written */
    bool writer_at_attach;    /* a live writer held the ring when this handle attached */
    uint32_t sessions_at_attach;
    char *remove_path;        /* STASH_RING_REMOVE_ON_CLOSE: the name's path, else NULL */
    dev_t dev;                /* the object's device and inode, for remove_path */
    ino_t ino;
    pid_t creator;            /* the process whose close removes it (not a forked child's) */
    char *meta;               /* a private copy of the labels and units */
    const char **strings;     /* 2 x channels pointers into meta */

    /* Waking (ring_wake.c). Attaching is serialised by wake_lock; reading is lock-free. */
    struct ring_wake_link *_Atomic wake; /* the newest attachment, or NULL */
    pthread_mutex_t wake_lock;
    _Atomic uint64_t wake_refused;       /* the cookie of a segment this handle cannot attach */
    /* The writer's side, used by put alone. */
    struct ring_wake *writer_wake; /* its segment; NULL: none, so every put wakes */
    uint64_t clock_seen_ns;        /* a past CLOCK_MONOTONIC reading */
    uint64_t wakes;                /* FUTEX_WAKE calls made by puts (the tests count them) */
};

static inline uint64_t ring_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * After a put has published and fenced: may a reader be asleep? Yes if the
 * writer has no wake segment; else only while readers are counted in it and
 * the latest lease has not run out. No system call: the clock is read only
 * when the lease is later than the last reading (a vDSO call, not a trap).
 */
static inline bool ring_wake_needed(struct stash_ring *r)
{
    const struct ring_wake *w = r->writer_wake;
    if (w == NULL)
        return true;
    if (atomic_load_explicit(&w->waiters, memory_order_relaxed) == 0)
        return false;
    uint64_t lease = atomic_load_explicit(&w->lease_ns, memory_order_relaxed);
    if (lease <= r->clock_seen_ns)
        return false; /* ran out before a reading already taken */
    r->clock_seen_ns = ring_now_ns();
    return r->clock_seen_ns < lease;
}

/* The oldest sample that has not been, and is not being, overwritten. */
static inline uint64_t ring_oldest(const struct stash_ring *r)
{
    const struct ring_header *h = r->map.header;
    uint64_t announced = atomic_load_explicit(&h->announced, memory_order_relaxed);
    uint64_t valid_from = atomic_load_explicit(&h->valid_from, memory_order_relaxed);
    uint64_t lapped = announced > r->geo.capacity ? announced - r->geo.capacity : 0;
    return lapped > valid_from ? lapped : valid_from;
}

/*
 * For the relay (src/relay, the layer above), which carries a ring's
 * geometry and samples to another ring: this header's ring_oldest and
 * ring_writer_session, and, from ring_layout.h (included through
 * ring_map.h), ring_dtype_field and ring_dtype_parse (the dtype as the
 * header spells it), ring_meta_split (labels and units checked) and
 * ring_geometry_plan (a configuration's sizes checked against the limits).
 */

/* The claims of the writer's role so far: which writer wrote what is read now. */
static inline uint32_t ring_writer_session(const struct stash_ring *r)
{
    return atomic_load_explicit(&r->map.header->writer_sessions, memory_order_acquire);
}

/* True if a live writer holds the ring's writer lock (one fcntl). */
bool ring_writer_alive(const struct stash_ring *r);

/* Wakes every reader blocked in stash_ring_wait (one futex call). */
void ring_wake_all(struct stash_ring *r);

/* After a claim: wakes every reader, those waiting for a writer to come included. */
void ring_wake_claimed(struct stash_ring *r);

/*
 * The claiming writer's wake segment: the one the header names if it is
 * still there (readers hold it), else a new one; published in the header.
 * A failure is not fatal: writer_wake stays NULL and every put wakes.
 */
void ring_wake_claim(struct stash_ring *r);

/* The segment a reader registers in now (attached on first use), or NULL. */
struct ring_wake *ring_wake_segment(const struct stash_ring *r);

/* Counts a reader in w that will sleep until until_ns at the latest (seq_cst). */
void ring_wake_register(struct ring_wake *w, uint64_t until_ns);
void ring_wake_unregister(struct ring_wake *w);

/* Detaches every segment the handle attached. */
void ring_wake_detach_all(struct stash_ring *r);

#endif
