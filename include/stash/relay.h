/*
 * stash/relay.h - a ring followed across processes and machines over ZeroMQ.
 *
 * A publisher is an ordinary reader of a local ring (stash/ring.h): it waits
 * for samples, views them, sends them and validates the view, so a slow
 * network slows only the relay, never the ring's writer. A subscriber
 * writes what it receives into a ring of its own that carries the
 * publisher's absolute sample numbers: sample k on the recording machine is
 * sample k on the analysis machine, and readers there get windows by sample
 * number as on the source.
 *
 * Nothing is lost silently. Every data message says which samples it holds.
 * When the publisher is lapped by the ring's writer it sends a GAP and goes
 * on from the oldest sample still readable; when a PUB/SUB subscriber sees
 * messages missing (ZeroMQ drops them past its high-water mark), it sees it
 * from the sample numbers. Either way the subscriber's ring skips forward
 * (stash_ring_skip_to), so a window that spans the gap reports
 * STASH_E_OVERWRITTEN, never zeros, and the gap is counted in the stats.
 *
 * Modes: STASH_RELAY_PUBSUB fans out to any number of subscribers and drops
 * what a slow one cannot take; STASH_RELAY_PUSHPULL has one consumer and
 * applies back-pressure (the publisher waits, and may then be lapped by the
 * ring's writer: that is a GAP, as above). Endpoints are ZeroMQ's:
 * tcp://HOST:PORT, ipc:///path. The publisher binds, the subscriber
 * connects. Optional CURVE keys encrypt and authenticate the stream.
 *
 * The protocol (versioned header, little-endian frames, metadata message,
 * GAP, heartbeat, goodbye) is documented byte by byte in docs/ring.md, so a
 * peer in another language (pyzmq) can speak it.
 *
 * Ownership and lifetimes: open gives a handle the caller closes with
 * stash_relay_close, which also closes the ring and the ZeroMQ sockets it
 * opened. A subscriber's ring stays after close (like any ring, until
 * stash_ring_remove) unless the configuration asks otherwise.
 *
 * Thread-safety: one thread runs a relay (run, stats, close);
 * stash_relay_stop may be called from any thread or a signal handler to make
 * run return.
 *
 * Errors: those of stash/ring.h, and STASH_E_INVALID (bad endpoint or keys),
 * STASH_E_CORRUPT (a received message that does not hold together: sizes,
 * counts, dtype, sample numbers going backwards or jumping absurdly; the
 * message is dropped and counted, the relay goes on), STASH_E_VERSION (a
 * peer speaking another protocol version), STASH_E_SHAPE (the publisher's
 * ring does not match an existing subscriber ring's geometry),
 * STASH_E_UNAVAILABLE (the endpoint cannot be bound or reached),
 * STASH_E_WRITER_GONE (the source has gone: goodbye received, or no message
 * nor heartbeat within the configured timeout), STASH_E_TIMEOUT.
 */
#ifndef STASH_RELAY_H
#define STASH_RELAY_H

#include <stash/error.h>
#include <stash/ring.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stash_relay stash_relay;

typedef enum stash_relay_mode {
    STASH_RELAY_PUBSUB = 1,   /* fan-out; a slow subscriber loses messages (detected) */
    STASH_RELAY_PUSHPULL = 2, /* one consumer; back-pressure on the publisher */
} stash_relay_mode;

/** Z85-encoded CURVE keys are 40 characters (see zmq_curve_keypair). */
#define STASH_RELAY_KEY_CHARS 40u

typedef struct stash_relay_config {
    stash_relay_mode mode;       /* 0 means STASH_RELAY_PUBSUB */
    uint32_t chunk_samples;      /* publisher: most samples per message; 0: a default */
    int high_water_mark;         /* ZeroMQ messages queued per peer; 0: ZeroMQ's default */
    int64_t source_timeout_ns;   /* subscriber: silence that means the source is gone; 0: 2 s */
    /*
     * CURVE (NULL: plain text). The publisher is the server and needs its
     * secret key; a subscriber needs the publisher's public key and a key
     * pair of its own (NULL pair: one made up for the connection).
     */
    const char *server_secret_key;
    const char *server_public_key;
    const char *client_public_key;
    const char *client_secret_key;
    /* subscriber: the local ring's capacity (0: the publisher's) and flags for its creation */
    uint64_t capacity_samples;
    unsigned ring_flags; /* e.g. STASH_RING_REMOVE_ON_CLOSE */
} stash_relay_config;

typedef struct stash_relay_stats {
    uint64_t messages;      /* data messages sent or received */
    uint64_t samples;       /* samples sent or written into the local ring */
    uint64_t bytes;         /* payload bytes sent or received */
    uint64_t gaps;          /* publisher: GAPs sent (lapped); subscriber: gaps seen */
    uint64_t samples_lost;  /* the samples those gaps skipped */
    uint64_t rejected;      /* subscriber: messages refused as malformed */
    uint64_t next_sample;   /* the next sample number to send or expect */
    uint32_t writer_session; /* the source ring's writer session last seen */
    stash_status last_rejected; /* subscriber: why the last refused message was (0: none yet) */
} stash_relay_stats;

/**
 * Attaches to the ring ring_name as a reader and binds endpoint. The first
 * sample sent is the ring's current one (a relay never replays history).
 * Sends the metadata message at once, again to every new subscriber, and
 * then data as the ring's writer publishes it.
 */
STASH_API stash_status stash_relay_publish(const char *ring_name, const char *endpoint,
                                           const stash_relay_config *cfg, stash_relay **relay);

/**
 * Connects to endpoint and, once the publisher's metadata has arrived
 * (within cfg->source_timeout_ns, else STASH_E_TIMEOUT), creates the ring
 * ring_name with the publisher's geometry, labels, units and first sample
 * number, as its writer. If ring_name exists it is taken over as writer when
 * its geometry matches (STASH_E_SHAPE otherwise), and the stream skips it
 * forward. A late subscriber begins at the publisher's current sample.
 */
STASH_API stash_status stash_relay_subscribe(const char *endpoint, const char *ring_name,
                                             const stash_relay_config *cfg, stash_relay **relay);

/**
 * Relays until timeout_ns has passed (negative: no limit), stash_relay_stop
 * is called (then STASH_OK), or the source has gone (STASH_E_WRITER_GONE: a
 * publisher whose ring's writer closed or died with nobody taking over; a
 * subscriber whose publisher said goodbye or fell silent). A timeout is
 * STASH_OK: run again to go on (0: one step, a chunk sent or a message
 * received, without waiting). Malformed messages do not end the run.
 * A publisher reports its writer's departure once and keeps its
 * subscribers (heartbeats go on): run it again to wait for a writer that
 * takes the ring over, and relay its samples under the new writer session.
 * A subscriber ends with STASH_E_SHAPE if the publisher's metadata comes to
 * disagree with its ring (another ring is published at the endpoint).
 */
STASH_API stash_status stash_relay_run(stash_relay *relay, int64_t timeout_ns);

/** Makes a running stash_relay_run return soon; async-signal-safe. */
STASH_API void stash_relay_stop(stash_relay *relay);

/** A snapshot of the relay's counters. */
STASH_API stash_status stash_relay_stats_get(const stash_relay *relay, stash_relay_stats *stats);

/**
 * The relay's ring (the publisher's source or the subscriber's copy), owned
 * by the relay: valid until stash_relay_close; do not close it.
 */
STASH_API stash_ring *stash_relay_ring(stash_relay *relay);

/**
 * Sends goodbye (publisher), closes the sockets and the ring, frees the
 * handle and sets *relay to NULL; NULL is a no-op.
 */
STASH_API stash_status stash_relay_close(stash_relay **relay);

#ifdef __cplusplus
}
#endif
#endif /* STASH_RELAY_H */
