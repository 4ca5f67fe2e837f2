/*
 * The publisher: an ordinary reader of its ring. It waits for samples,
 * views what has been written since it last sent (up to a chunk), copies
 * it into a ZeroMQ message, validates the view, and sends. The copy is the
 * price of honesty: a message built on the ring's own memory would be read
 * by ZeroMQ's I/O thread after validation, while the writer may already be
 * overwriting it. Lapped by the writer, it sends GAP and goes on from the
 * oldest sample still readable. Besides data it sends META (at start, to
 * each new subscriber, and every second in PUSH/PULL) and HEARTBEAT when idle.
 */
#include "relay/relay_handle.h"
#include "ring/ring_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sends m (consumed on success). A PUB socket never blocks: past its
 * high-water mark ZeroMQ drops the message, which the subscriber sees from
 * the sample numbers. A PUSH socket that cannot take it keeps it pending
 * (data only: control messages are repeated anyway).
 */
static stash_status send_msg(struct stash_relay *r, zmq_msg_t *m, bool keep)
{
    if (zmq_msg_send(m, r->socket, ZMQ_DONTWAIT) >= 0) {
        r->last_send_ns = relay_now_ns();
        return STASH_OK;
    }
    int err = errno;
    if (err == EAGAIN && keep) {
        zmq_msg_init(&r->pending);
        zmq_msg_move(&r->pending, m);
        zmq_msg_close(m);
        r->has_pending = true;
        return STASH_OK;
    }
    zmq_msg_close(m);
    return err == EAGAIN || err == EINTR ? STASH_OK : relay_zmq_status(err);
}

/* A message of the header alone (GAP, HEARTBEAT, GOODBYE). */
static stash_status send_header(struct stash_relay *r, enum relay_type type, uint64_t first,
                                uint64_t count, bool keep)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, RELAY_HEADER_BYTES) != 0)
        return -ENOMEM;
    relay_header_put(zmq_msg_data(&m), type, r->stats.writer_session, first, count);
    return send_msg(r, &m, keep);
}

static stash_status send_meta(struct stash_relay *r)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, r->meta_bytes) != 0)
        return -ENOMEM;
    relay_header_put(r->meta, RELAY_META, r->stats.writer_session, r->stats.next_sample, 0);
    memcpy(zmq_msg_data(&m), r->meta, r->meta_bytes);
    r->last_meta_ns = relay_now_ns();
    return send_msg(r, &m, false);
}

/* XPUB hands up each subscription (a 1 byte, then the topic): each new subscriber gets META. */
static stash_status answer_subscriptions(struct stash_relay *r)
{
    bool asked = false;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        asked |= zmq_msg_size(&m) >= 1 && ((const unsigned char *)zmq_msg_data(&m))[0] == 1;
        zmq_msg_close(&m);
    }
    return asked ? send_meta(r) : STASH_OK;
}

/*
 * What is due besides data: META for new subscribers or on its period,
 * HEARTBEAT when idle. Looked at once a slice, not per message: a receive
 * that finds no subscription costs ZeroMQ a poll(2) on its mailbox.
 */
static stash_status send_control(struct stash_relay *r, int64_t now)
{
    if (r->has_pending || now < r->next_control_ns)
        return STASH_OK; /* a full peer is alive and will hear more soon */
    r->next_control_ns = now + RELAY_SLICE_NS;
    stash_status st = STASH_OK;
    if (r->mode == STASH_RELAY_PUBSUB)
        st = answer_subscriptions(r);
    else if (now - r->last_meta_ns >= RELAY_META_REPEAT_NS)
        st = send_meta(r);
    if (st == STASH_OK && now - r->last_send_ns >= RELAY_HEARTBEAT_NS)
        st = send_header(r, RELAY_HEARTBEAT, r->stats.next_sample, 0, false);
    return st;
}

/* Lapped: GAP for what the writer took, then on from the oldest sample still readable. */
static stash_status send_gap(struct stash_relay *r)
{
    stash_ring_info info;
    stash_status st = stash_ring_info_get(r->ring, &info);
    if (st != STASH_OK)
        return st;
    uint64_t next = r->stats.next_sample;
    if (info.readable_from <= next)
        return STASH_OK; /* nothing lost after all: look again */
    r->stats.gaps++;
    r->stats.samples_lost += info.readable_from - next;
    r->stats.next_sample = info.readable_from;
    return send_header(r, RELAY_GAP, next, info.readable_from - next, true);
}

/* One chunk of what has been written since next: copied, validated, sent. */
static stash_status send_chunk(struct stash_relay *r)
{
    uint64_t first = r->stats.next_sample, written = stash_ring_written(r->ring);
    uint64_t chunk = r->stream.chunk_samples;
    uint64_t n = written - first < chunk ? written - first : chunk;
    if (n == 0)
        return STASH_OK;
    size_t bytes = (size_t)n * r->stream.frame_bytes;
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, RELAY_HEADER_BYTES + bytes) != 0)
        return -ENOMEM;
    unsigned char *out = zmq_msg_data(&m);
    const void *frames;
    stash_status st = stash_ring_view(r->ring, first, first + n, &frames);
    if (st == STASH_OK) {
        memcpy(out + RELAY_HEADER_BYTES, frames, bytes);
        st = stash_ring_validate(r->ring, first);
    }
    if (st != STASH_OK) {
        zmq_msg_close(&m);
        return st == STASH_E_OVERWRITTEN ? send_gap(r) : st;
    }
    r->stats.writer_session = ring_writer_session(r->ring);
    relay_header_put(out, RELAY_DATA, r->stats.writer_session, first, n);
    r->stats.messages++;
    r->stats.samples += n;
    r->stats.bytes += bytes;
    r->stats.next_sample = first + n;
    return send_msg(r, &m, true);
}

/* PUSH/PULL: the message the peer could not take, offered again until it does. */
static void flush_pending(struct stash_relay *r, int64_t slice_ns)
{
    relay_poll(r, ZMQ_POLLOUT, slice_ns);
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_move(&m, &r->pending);
    zmq_msg_close(&r->pending);
    r->has_pending = false;
    (void)send_msg(r, &m, true); /* a socket failed for good: the next send says so */
}

/*
 * The source's writer closed or died with no other in its place: reported
 * once. Until a writer takes the ring over, the publisher only answers
 * subscribers and sends heartbeats, between sleeps of a slice.
 */
static stash_status writer_left(struct stash_relay *r, int64_t slice_ns)
{
    if (!r->writer_left) {
        r->writer_left = true;
        return STASH_E_WRITER_GONE;
    }
    relay_poll(r, 0, slice_ns);
    return STASH_OK;
}

/* One step: a pending message offered again, or the next chunk waited for and sent. */
static stash_status step(struct stash_relay *r, int64_t slice_ns)
{
    if (r->has_pending) {
        flush_pending(r, slice_ns);
        return STASH_OK;
    }
    stash_status st = stash_ring_wait(r->ring, r->stats.next_sample + 1, slice_ns, 0);
    if (st == STASH_E_WRITER_GONE)
        return writer_left(r, slice_ns);
    if (st == STASH_E_TIMEOUT)
        return STASH_OK;
    if (st == STASH_OK) {
        r->writer_left = false;
        st = send_chunk(r);
    }
    return st;
}

stash_status relay_publish_run(struct stash_relay *r, int64_t deadline_ns)
{
    for (;;) {
        if (relay_stop_taken(r))
            return STASH_OK;
        int64_t now = relay_now_ns();
        stash_status st = send_control(r, now);
        int64_t left = deadline_ns - now;
        if (st == STASH_OK)
            st = step(r, left <= 0 ? 0 : left < RELAY_SLICE_NS ? left : RELAY_SLICE_NS);
        if (st != STASH_OK || left <= 0) /* past the deadline: one step, then return */
            return st;
    }
}

void relay_publish_goodbye(struct stash_relay *r)
{
    if (r->has_pending) { /* what the peer never took is lost: the stream ends here */
        zmq_msg_close(&r->pending);
        r->has_pending = false;
    }
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, RELAY_HEADER_BYTES) != 0)
        return;
    relay_header_put(zmq_msg_data(&m), RELAY_GOODBYE, r->stats.writer_session,
                     r->stats.next_sample, 0);
    /* A PUSH socket may be full: wait for room as long as the linger would. */
    if (r->mode == STASH_RELAY_PUSHPULL)
        relay_poll(r, ZMQ_POLLOUT, (int64_t)RELAY_LINGER_MS * 1000000);
    if (zmq_msg_send(&m, r->socket, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&m);
}

stash_status stash_relay_publish(const char *ring_name, const char *endpoint,
                                 const stash_relay_config *cfg, stash_relay **relay)
{
    if (ring_name == NULL || relay == NULL)
        return STASH_E_INVALID;
    struct stash_relay *r;
    stash_status st = relay_open(true, endpoint, cfg, &r);
    if (st != STASH_OK)
        return st;
    st = stash_ring_attach(ring_name, 0, &r->ring);
    stash_ring_info info;
    if (st == STASH_OK)
        st = stash_ring_info_get(r->ring, &info);
    uint64_t chunk = cfg && cfg->chunk_samples ? cfg->chunk_samples : 0;
    if (st == STASH_OK) {
        uint64_t limit = relay_chunk_limit((uint32_t)info.frame_bytes);
        if (limit > info.capacity_samples)
            limit = info.capacity_samples;
        uint64_t fit = 65536 / info.frame_bytes; /* the default: 64 KiB of frames */
        if (chunk == 0)
            chunk = fit < 1 ? 1 : fit > limit ? limit : fit;
        else if (chunk > limit)
            st = STASH_E_RANGE;
    }
    if (st == STASH_OK) {
        r->meta_bytes = RELAY_HEADER_BYTES + relay_meta_body_bytes(&info);
        r->meta = malloc(r->meta_bytes);
        st = r->meta ? STASH_OK : -ENOMEM;
    }
    if (st != STASH_OK) {
        stash_ring_close(&r->ring);
        relay_free(r);
        return st;
    }
    r->stream = (struct relay_meta){.channels = info.channels, .dtype = info.dtype,
                                    .frame_bytes = (uint32_t)info.frame_bytes,
                                    .capacity_samples = info.capacity_samples,
                                    .rate_hz = info.rate_hz, .chunk_samples = (uint32_t)chunk};
    relay_meta_put(r->meta + RELAY_HEADER_BYTES, &info, (uint32_t)chunk);
    r->stats.next_sample = stash_ring_written(r->ring); /* never history: from now on */
    r->stats.writer_session = ring_writer_session(r->ring);
    r->last_send_ns = relay_now_ns();
    send_meta(r); /* to those already connected; each later subscriber asks for it */
    *relay = r;
    return STASH_OK;
}
