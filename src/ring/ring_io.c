/*
 * Moving samples: the writer's put, and the readers' check, view, validate
 * and copy. The memory-ordering argument is in docs/ring.md; in short:
 *
 *   writer: announced = end (relaxed); release fence; copy the data;
 *           written = end (release); full fence; wake if anyone may sleep.
 *   reader: written (acquire) says what exists; use the bytes; acquire
 *           fence; announced (relaxed) says whether any were overwritten.
 *
 * The fence after the announcement keeps it ahead of the data stores, and
 * the reader's fence keeps its data loads ahead of its second look, so a
 * reader that sees an old announcement read bytes the writer had not yet
 * begun to replace. No lock, so a reader can never stall the writer.
 */
#include "core/checked.h"
#include "array/array_internal.h"
#include "ring/ring_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies n (<= capacity) frames to slot: once mirrored, twice in a pocket. */
static void copy_in(struct stash_ring *r, uint64_t slot, const unsigned char *src, uint64_t n)
{
    size_t frame = r->geo.frame_bytes;
    uint64_t capacity = r->geo.capacity;
    unsigned char *data = r->map.data;
    assert(slot < capacity && n > 0 && n <= capacity); /* so slot + n <= 2 x capacity */
    memcpy(data + slot * frame, src, n * frame); /* may run into the mirror: slot + n <= 2cap */
    if (!r->geo.pocket)
        return;
    /* The pocket's other copy of each frame: j < cap also at j + cap, j >= cap at j - cap. */
    uint64_t low = n < capacity - slot ? n : capacity - slot;
    memcpy(data + (slot + capacity) * frame, src, low * frame);
    if (n > low)
        memcpy(data, src + low * frame, (n - low) * frame);
}

static void wake_waiters(struct stash_ring *r)
{
    atomic_thread_fence(memory_order_seq_cst); /* pairs with the reader's registration */
    if (ring_wake_needed(r)) {
        r->wakes++;
        ring_wake_all(r);
    }
}

stash_status stash_ring_put(stash_ring *r, const void *frames, uint64_t n)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (!r->writer)
        return STASH_E_NOT_WRITABLE;
    if (n == 0)
        return STASH_OK;
    if (frames == NULL)
        return STASH_E_INVALID;
    if (!range_within(r->next, n, RING_COUNT_MAX))
        return STASH_E_RANGE; /* 2^63 samples: 292 000 years at 1 MHz */
    struct ring_header *h = r->map.header;
    uint64_t capacity = r->geo.capacity, end = r->next + n;
    const unsigned char *src = frames;
    if (n > capacity) { /* only the last capacity samples survive; all n count */
        src += (n - capacity) * r->geo.frame_bytes;
        n = capacity;
    }
    atomic_store_explicit(&h->announced, end, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    copy_in(r, (end - n) % capacity, src, n);
    atomic_store_explicit(&h->written, end, memory_order_release);
    r->next = end;
    assert(r->next <= RING_COUNT_MAX);
    wake_waiters(r);
    return STASH_OK;
}

/*
 * A skip is a put that writes nothing and leaves nothing before it
 * readable: announced first (so a view of an old window fails validation),
 * then valid_from with release (an attacher that sees it sees the new
 * announced), then the count, which wakes the readers waiting in the gap.
 */
stash_status stash_ring_skip_to(stash_ring *r, uint64_t sample)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (!r->writer)
        return STASH_E_NOT_WRITABLE;
    if (sample < r->next || sample > RING_COUNT_MAX)
        return STASH_E_RANGE;
    if (sample == r->next)
        return STASH_OK;
    struct ring_header *h = r->map.header;
    atomic_store_explicit(&h->announced, sample, memory_order_relaxed);
    atomic_store_explicit(&h->valid_from, sample, memory_order_release);
    atomic_store_explicit(&h->written, sample, memory_order_release);
    r->next = sample;
    wake_waiters(r);
    return STASH_OK;
}

/* True if desc is (n, channels), or (n,) for one channel, of the ring's dtype. */
static bool fits(const struct stash_ring *r, const stash_array_desc *desc)
{
    if (desc->dtype != r->geo.dtype)
        return false;
    if (desc->ndim == 2)
        return desc->shape[1] == r->geo.channels;
    return desc->ndim == 1 && r->geo.channels == 1;
}

stash_status stash_ring_put_array(stash_ring *r, const stash_array_desc *desc, const void *data)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (desc == NULL || (data == NULL && desc->shape[0]))
        return STASH_E_INVALID;
    stash_status st = stash_array_check(desc);
    if (st != STASH_OK)
        return st;
    if (!fits(r, desc))
        return STASH_E_SHAPE;
    bool as_is = (desc->byte_order == STASH_LITTLE_ENDIAN || stash_dtype_size(desc->dtype) == 1) &&
                 (desc->order == STASH_ORDER_C || stash_array_layout_is_trivial(desc));
    if (as_is)
        return stash_ring_put(r, data, desc->shape[0]);
    void *copy; /* big-endian or Fortran order: the frames laid out as the ring holds them */
    st = array_copy_c_order(desc, data, STASH_LITTLE_ENDIAN, &copy);
    if (st == STASH_OK)
        st = stash_ring_put(r, copy, desc->shape[0]);
    free(copy);
    return st;
}

uint64_t stash_ring_written(const stash_ring *r)
{
    return r ? atomic_load_explicit(&r->map.header->written, memory_order_acquire) : 0;
}

stash_ring_availability stash_ring_check(const stash_ring *r, uint64_t first, uint64_t end)
{
    if (r == NULL || first > end || end - first > r->geo.capacity)
        return STASH_RING_INVALID_RANGE;
    if (end > stash_ring_written(r))
        return STASH_RING_NOT_WRITTEN;
    bool lost = first < end && first < ring_oldest(r); /* nothing of an empty window is lost */
    return lost ? STASH_RING_OVERWRITTEN : STASH_RING_AVAILABLE;
}

static stash_status availability_status(stash_ring_availability a)
{
    switch (a) {
    case STASH_RING_AVAILABLE:
        return STASH_OK;
    case STASH_RING_OVERWRITTEN:
        return STASH_E_OVERWRITTEN;
    case STASH_RING_NOT_WRITTEN:
        return STASH_E_NOT_WRITTEN;
    default:
        return STASH_E_RANGE;
    }
}

stash_status stash_ring_view(const stash_ring *r, uint64_t first, uint64_t end,
                             const void **frames)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (frames == NULL)
        return STASH_E_INVALID;
    stash_status st = availability_status(stash_ring_check(r, first, end));
    assert(st != STASH_OK || (first <= end && end - first <= r->geo.capacity));
    if (st == STASH_OK)
        *frames = r->map.data + first % r->geo.capacity * r->geo.frame_bytes;
    return st;
}

stash_status stash_ring_validate(const stash_ring *r, uint64_t first)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    atomic_thread_fence(memory_order_acquire); /* the caller's reads of the view come first */
    return first < ring_oldest(r) ? STASH_E_OVERWRITTEN : STASH_OK;
}

stash_status stash_ring_copy(const stash_ring *r, uint64_t first, uint64_t end, void *dst)
{
    const void *frames;
    if (dst == NULL && r != NULL && end > first)
        return STASH_E_INVALID;
    stash_status st = stash_ring_view(r, first, end, &frames);
    if (st != STASH_OK || end == first)
        return st;
    memcpy(dst, frames, (end - first) * r->geo.frame_bytes);
    return stash_ring_validate(r, first);
}
