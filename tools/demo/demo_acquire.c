/*
 * The demo's acquisition process: claims the ring as its writer and streams
 * the synthetic signal into it, chunk by chunk, as fast as the readers allow.
 *
 * A ring never blocks its writer: a slow reader is lapped and learns it from
 * stash_ring_validate. The demo wants every window analysed, so the writer
 * here holds back, by choice, until the slowest analysis process has moved
 * past what the next chunk would overwrite (demo.h: needed_from).
 */
#include "demo.h"
#include "demo_signal.h"

#include <stash/ring.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t oldest_needed(const struct demo_plan *p)
{
    uint64_t oldest = UINT64_MAX;
    for (uint32_t k = 0; k < p->o->workers; k++) {
        uint64_t needed = atomic_load_explicit(&p->shared->workers[k].needed_from,
                                               memory_order_acquire);
        oldest = needed < oldest ? needed : oldest;
    }
    return oldest;
}

/*
 * Waits until samples [.., end) can be written without lapping a reader;
 * false if stopped. The ring's own capacity, not the one asked for: the
 * set-up raises it to hold a window and a chunk, which is what lets the
 * slowest reader always finish its window (with less, both would wait).
 */
static bool wait_for_readers(const struct demo_plan *p, uint64_t end)
{
    uint64_t capacity = p->ring_capacity_samples, started = 0;
    while (oldest_needed(p) < UINT64_MAX && end > oldest_needed(p) + capacity) {
        if (demo_stopping(p))
            return false;
        if (started == 0)
            started = now_ns();
        /* The ring holds far more than a millisecond of reading: no need to poll faster. */
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    if (started != 0)
        atomic_fetch_add(&p->shared->acquire.waited_ns, now_ns() - started);
    return true;
}

static int stream(const struct demo_plan *p, stash_ring *ring, float *chunk)
{
    const struct demo_options *o = p->o;
    struct demo_process_state *me = &p->shared->acquire;
    for (uint64_t written = 0; written < o->samples;) {
        uint64_t n = o->samples - written < o->chunk ? o->samples - written : o->chunk;
        demo_signal(written, n, o->channels, chunk);
        if (demo_stopping(p) || !wait_for_readers(p, written + n)) {
            demo_fail(me, "streaming", STASH_E_CLOSED);
            return 1;
        }
        stash_status st = stash_ring_put(ring, chunk, n);
        if (st != STASH_OK) {
            demo_fail(me, "putting samples into the ring", st);
            return 1;
        }
        written += n;
    }
    return 0;
}

int demo_acquire(const struct demo_plan *p)
{
    struct demo_process_state *me = &p->shared->acquire;
    float *chunk = malloc((size_t)p->o->chunk * p->o->channels * sizeof *chunk);
    if (chunk == NULL) {
        demo_fail(me, "allocating a chunk", -ENOMEM);
        return 1;
    }
    stash_ring *ring = NULL;
    stash_status st = stash_ring_attach(p->ring_name, STASH_RING_WRITER, &ring);
    int rc = 1;
    if (st != STASH_OK)
        demo_fail(me, "attaching to the ring as its writer", st);
    else
        rc = stream(p, ring, chunk);
    st = stash_ring_close(&ring);
    if (rc == 0 && st != STASH_OK) {
        demo_fail(me, "closing the ring", st);
        rc = 1;
    }
    free(chunk);
    return rc;
}
