/*
 * The subscriber: writes what it receives into a ring of its own that
 * carries the publisher's sample numbers. Every message is checked
 * (relay_msg.c) before anything is done with it; a message that fails is
 * dropped and counted, and the run goes on. Samples that never came (a GAP,
 * or messages ZeroMQ dropped, seen from the numbers) are skipped over in
 * the ring, so its windows across them report overwritten.
 */
#include "relay/relay_handle.h"

#include <errno.h>
#include <string.h>

static stash_status refuse(struct stash_relay *r, stash_status why)
{
    r->stats.rejected++;
    r->stats.last_rejected = why;
    return STASH_OK;
}

/* Receives one message within timeout_ns: STASH_OK, STASH_E_TIMEOUT, or the socket's failure. */
static stash_status receive(struct stash_relay *r, zmq_msg_t *m, int64_t timeout_ns)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, r->socket, ZMQ_DONTWAIT) >= 0)
        return STASH_OK;
    if (errno == EAGAIN || errno == EINTR) {
        relay_poll(r, ZMQ_POLLIN, timeout_ns);
        if (zmq_msg_recv(m, r->socket, ZMQ_DONTWAIT) >= 0)
            return STASH_OK;
    }
    int err = errno;
    zmq_msg_close(m);
    return err == EAGAIN || err == EINTR ? STASH_E_TIMEOUT : relay_zmq_status(err);
}

/*
 * A later META: the same channels and dtype (its chunk may differ: a
 * restarted publisher), or another ring is published there now.
 */
static stash_status follow_meta(struct stash_relay *r, const struct relay_meta *meta)
{
    if (meta->channels != r->stream.channels || meta->dtype != r->stream.dtype)
        return STASH_E_SHAPE;
    r->stream.chunk_samples = meta->chunk_samples;
    return STASH_OK;
}

/* The ring skips to sample: what lay between was lost on the way. */
static stash_status skip(struct stash_relay *r, uint64_t sample)
{
    uint64_t expected = r->stats.next_sample;
    if (sample == expected)
        return STASH_OK;
    stash_status st = stash_ring_skip_to(r->ring, sample);
    if (st == STASH_OK) {
        r->stats.gaps++;
        r->stats.samples_lost += sample - expected;
        r->stats.next_sample = sample;
    }
    return st;
}

/* Every check of a message, META's body included, before anything is done with it. */
static stash_status check(struct stash_relay *r, zmq_msg_t *m, struct relay_msg *msg,
                          struct relay_meta *meta, uint64_t *skip_to, uint64_t *next)
{
    stash_status st = relay_msg_parse(zmq_msg_data(m), zmq_msg_size(m), msg);
    if (st == STASH_OK && msg->type == RELAY_DATA)
        st = relay_data_check(msg, &r->stream);
    if (st == STASH_OK)
        st = relay_sequence(r->stats.next_sample, r->stats.writer_session, msg, skip_to, next);
    if (st == STASH_OK && msg->type == RELAY_META)
        st = relay_meta_parse(msg->body, msg->body_bytes, meta);
    return st;
}

/* One message: checked, then acted on. Only the end of the stream or the ring's failure return. */
static stash_status handle(struct stash_relay *r, zmq_msg_t *m)
{
    struct relay_msg msg;
    struct relay_meta meta = {0};
    uint64_t skip_to, next;
    stash_status st = check(r, m, &msg, &meta, &skip_to, &next);
    if (st != STASH_OK)
        return refuse(r, st);
    if (msg.type == RELAY_META) {
        st = follow_meta(r, &meta);
        relay_meta_free(&meta);
        if (st != STASH_OK)
            return st;
    }
    r->stats.writer_session = msg.writer_session; /* a new writer on the source: followed */
    if (msg.type == RELAY_GOODBYE)
        return STASH_E_WRITER_GONE;
    st = skip(r, skip_to);
    if (st == STASH_OK && msg.type == RELAY_DATA) {
        st = stash_ring_put(r->ring, msg.body, msg.count);
        r->stats.messages++;
        r->stats.samples += msg.count;
        r->stats.bytes += msg.body_bytes;
    }
    if (st == STASH_OK)
        r->stats.next_sample = next;
    return st;
}

stash_status relay_subscribe_run(struct stash_relay *r, int64_t deadline_ns)
{
    for (;;) {
        if (relay_stop_taken(r))
            return STASH_OK;
        int64_t now = relay_now_ns();
        int64_t silent_until = r->last_heard_ns + r->source_timeout_ns;
        if (now >= silent_until)
            return STASH_E_WRITER_GONE;
        int64_t left = (deadline_ns < silent_until ? deadline_ns : silent_until) - now;
        zmq_msg_t m;
        stash_status st = receive(r, &m, left <= 0 ? 0 : left < 5 * RELAY_SLICE_NS ? left
                                                                          : 5 * RELAY_SLICE_NS);
        if (st == STASH_OK) {
            r->last_heard_ns = relay_now_ns();
            st = handle(r, &m);
            zmq_msg_close(&m);
        } else if (st == STASH_E_TIMEOUT) {
            st = STASH_OK;
        }
        if (st != STASH_OK || now >= deadline_ns) /* past the deadline: one message at most */
            return st;
    }
}

/* The copy ring: created like the source, or an existing one taken over and moved to first. */
static stash_status open_copy(struct stash_relay *r, const char *name, const stash_relay_config *c,
                              uint64_t first)
{
    const struct relay_meta *m = &r->stream;
    stash_ring_config rc = {.channels = m->channels, .dtype = m->dtype, .rate_hz = m->rate_hz,
                            .capacity_samples = c->capacity_samples ? c->capacity_samples
                                                                    : m->capacity_samples,
                            .labels = m->strings, .units = m->strings + m->channels,
                            .flags = c->ring_flags, .first_sample = first};
    stash_status st = stash_ring_create(name, &rc, &r->ring);
    if (st != -EEXIST)
        return st;
    st = stash_ring_attach(name, STASH_RING_WRITER, &r->ring);
    stash_ring_info info;
    if (st == STASH_OK)
        st = stash_ring_info_get(r->ring, &info);
    if (st == STASH_OK && (info.channels != m->channels || info.dtype != m->dtype))
        st = STASH_E_SHAPE;
    if (st == STASH_OK)
        st = stash_ring_skip_to(r->ring, first); /* STASH_E_RANGE if the copy is ahead */
    return st;
}

/*
 * Waits for the first META (refusing, and counting, what does not hold
 * together; ignoring data, which cannot be checked before it), then opens
 * the copy ring with its geometry, labels and units at its first sample.
 */
static stash_status start_stream(struct stash_relay *r, const char *name,
                                 const stash_relay_config *c)
{
    int64_t deadline = relay_now_ns() + r->source_timeout_ns;
    for (;;) {
        int64_t left = deadline - relay_now_ns();
        if (left <= 0)
            return STASH_E_TIMEOUT;
        zmq_msg_t m;
        stash_status st = receive(r, &m, left < 5 * RELAY_SLICE_NS ? left : 5 * RELAY_SLICE_NS);
        if (st == STASH_E_TIMEOUT)
            continue;
        if (st != STASH_OK)
            return st;
        struct relay_msg msg;
        st = relay_msg_parse(zmq_msg_data(&m), zmq_msg_size(&m), &msg);
        bool meta = st == STASH_OK && msg.type == RELAY_META;
        if (meta)
            st = relay_meta_parse(msg.body, msg.body_bytes, &r->stream);
        if (st != STASH_OK)
            refuse(r, st);
        if (st == STASH_OK && meta) {
            st = open_copy(r, name, c, msg.first_sample);
            relay_meta_free(&r->stream); /* its strings pointed into the message */
            r->stats.next_sample = msg.first_sample;
            r->stats.writer_session = msg.writer_session;
            r->last_heard_ns = relay_now_ns();
            zmq_msg_close(&m);
            return st;
        }
        zmq_msg_close(&m);
    }
}

stash_status stash_relay_subscribe(const char *endpoint, const char *ring_name,
                                   const stash_relay_config *cfg, stash_relay **relay)
{
    if (ring_name == NULL || relay == NULL)
        return STASH_E_INVALID;
    stash_relay_config defaults = {0};
    struct stash_relay *r;
    stash_status st = relay_open(false, endpoint, cfg, &r);
    if (st != STASH_OK)
        return st;
    st = start_stream(r, ring_name, cfg ? cfg : &defaults);
    if (st != STASH_OK) {
        stash_ring_close(&r->ring);
        relay_free(r);
        return st;
    }
    *relay = r;
    return STASH_OK;
}
