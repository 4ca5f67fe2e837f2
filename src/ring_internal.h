/*
 * A ring handle, shared by ring.c (lifecycle, puts, views) and ring_wait.c
 * (blocking until samples arrive, and whether the writer lives).
 */
#ifndef STASH_RING_INTERNAL_H
#define STASH_RING_INTERNAL_H

#include "ring_map.h"

struct stash_ring {
    struct ring_geometry geo; /* checked once at attach; never re-read */
    struct ring_mapping map;
    int fd;                   /* holds the writer's lock, if this is the writer */
    bool writer;
    uint64_t next;            /* the writer's count: what it has written */
    bool writer_at_attach;    /* a live writer held the ring when this handle attached */
    uint32_t sessions_at_attach;
    char *meta;               /* a private copy of the labels and units */
    const char **strings;     /* 2 x channels pointers into meta */
};

/* The oldest sample that has not been, and is not being, overwritten. */
static inline uint64_t ring_oldest(const struct stash_ring *r)
{
    const struct ring_header *h = r->map.header;
    uint64_t announced = atomic_load_explicit(&h->announced, memory_order_relaxed);
    uint64_t valid_from = atomic_load_explicit(&h->valid_from, memory_order_relaxed);
    uint64_t lapped = announced > r->geo.capacity ? announced - r->geo.capacity : 0;
    return lapped > valid_from ? lapped : valid_from;
}

/* True if a live writer holds the ring's writer lock (one fcntl). */
bool ring_writer_alive(const struct stash_ring *r);

/* Takes the writer's lock: STASH_E_BUSY if a live writer has it. */
stash_status ring_writer_lock(int fd);

/* Wakes every reader blocked in stash_ring_wait (one futex call). */
void ring_wake_all(struct stash_ring *r);

#endif
