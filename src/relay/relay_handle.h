/*
 * A relay handle, shared by relay.c (sockets, options, stats, close),
 * relay_publish.c and relay_subscribe.c. One thread runs a relay; only
 * stop_requested is touched from elsewhere (stash_relay_stop).
 */
#ifndef STASH_RELAY_HANDLE_H
#define STASH_RELAY_HANDLE_H

#include <stash/relay.h>

#include "relay/relay_msg.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <zmq.h>

#define RELAY_HEARTBEAT_NS 250000000    /* the publisher's idle message */
#define RELAY_META_REPEAT_NS 1000000000 /* PUSH/PULL: META again, since PUSH sees no peer */
#define RELAY_SLICE_NS 10000000         /* the longest a run sleeps between looks */
#define RELAY_LINGER_MS 500             /* close: how long GOODBYE may take to leave */
#define RELAY_DEFAULT_TIMEOUT_NS 2000000000

struct stash_relay {
    bool publisher;
    stash_relay_mode mode;
    void *context; /* ZeroMQ's, one per relay */
    void *socket;
    stash_ring *ring;
    stash_relay_stats stats;
    atomic_int stop_requested; /* lock-free, so the store is async-signal-safe */
    int64_t source_timeout_ns;

    /* The stream's geometry: the publisher's ring's, or the subscriber's first META. */
    struct relay_meta stream;

    /* The publisher's side. */
    unsigned char *meta;   /* a whole META message: its header is rewritten at each send */
    size_t meta_bytes;
    int64_t last_send_ns;  /* any message */
    int64_t last_meta_ns;
    int64_t next_control_ns; /* when to look for subscriptions and due messages again */
    bool writer_left;      /* reported once; the next run waits for a new writer */
    zmq_msg_t pending;     /* PUSH/PULL: a message the peer could not take yet */
    bool has_pending;

    /* The subscriber's side. */
    int64_t last_heard_ns; /* any message, refused ones included */
};

int64_t relay_now_ns(void);

/* Validates cfg (NULL: defaults) and endpoint, and makes the handle, its context and socket. */
stash_status relay_open(bool publisher, const char *endpoint, const stash_relay_config *cfg,
                        struct stash_relay **out);

/* Frees what relay_open and the sides made (sockets closed without waiting). */
void relay_free(struct stash_relay *r);

/* A ZeroMQ failure (errno) as a status. */
stash_status relay_zmq_status(int err);

/* Sleeps until the socket has events (ZMQ_POLLIN or ZMQ_POLLOUT) or for timeout_ns at most. */
void relay_poll(struct stash_relay *r, short events, int64_t timeout_ns);

/* True once, for a stop requested since the last run began to return. */
bool relay_stop_taken(struct stash_relay *r);

/* Each side's run and close (relay.c dispatches). */
stash_status relay_publish_run(struct stash_relay *r, int64_t deadline_ns);
void relay_publish_goodbye(struct stash_relay *r);
stash_status relay_subscribe_run(struct stash_relay *r, int64_t deadline_ns);

#endif
