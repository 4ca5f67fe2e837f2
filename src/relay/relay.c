/*
 * What both sides of a relay share: the configuration's checks, ZeroMQ's
 * context and socket with their options (high-water marks, CURVE, the
 * largest message a subscriber accepts), stop, stats and close. The
 * protocol is specified in docs/ring.md ("Relaying a ring").
 */
#include "relay/relay_handle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t relay_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

stash_status relay_zmq_status(int err)
{
    switch (err) {
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case ENAMETOOLONG:
        return STASH_E_INVALID;
    case ETERM:
        return STASH_E_CLOSED;
    case ENOMEM:
    case EMFILE:
    case EACCES:
        return -err;
    default: /* address in use or not here, no such device, and ZeroMQ's own codes */
        return STASH_E_UNAVAILABLE;
    }
}

/* A Z85 CURVE key: 40 characters that decode. */
static bool key_is_valid(const char *key)
{
    uint8_t raw[32];
    return key && strlen(key) == STASH_RELAY_KEY_CHARS && zmq_z85_decode(raw, key) != NULL;
}

static bool endpoint_is_valid(const char *endpoint)
{
    return endpoint && strlen(endpoint) < 4096 &&
           (strncmp(endpoint, "tcp://", 6) == 0 || strncmp(endpoint, "ipc://", 6) == 0) &&
           endpoint[6] != '\0';
}

static stash_status check_config(bool publisher, const stash_relay_config *c)
{
    if (c->mode != 0 && c->mode != STASH_RELAY_PUBSUB && c->mode != STASH_RELAY_PUSHPULL)
        return STASH_E_INVALID;
    if (c->high_water_mark < 0 || c->source_timeout_ns < 0)
        return STASH_E_INVALID;
    unsigned ring_flags = STASH_RING_FORCE_POCKET | STASH_RING_REMOVE_ON_CLOSE;
    if (c->ring_flags & ~ring_flags)
        return STASH_E_INVALID;
    bool curve = publisher ? c->server_secret_key != NULL : c->server_public_key != NULL;
    if (!curve)
        return STASH_OK;
    if (!zmq_has("curve"))
        return STASH_E_UNSUPPORTED;
    if (publisher)
        return key_is_valid(c->server_secret_key) ? STASH_OK : STASH_E_INVALID;
    bool pair = c->client_public_key || c->client_secret_key;
    if (!key_is_valid(c->server_public_key) ||
        (pair && !(key_is_valid(c->client_public_key) && key_is_valid(c->client_secret_key))))
        return STASH_E_INVALID;
    return STASH_OK;
}

static stash_status set_option(void *socket, int option, const void *value, size_t len)
{
    return zmq_setsockopt(socket, option, value, len) == 0 ? STASH_OK : relay_zmq_status(errno);
}

static stash_status set_int(void *socket, int option, int value)
{
    return set_option(socket, option, &value, sizeof value);
}

static stash_status set_curve(void *s, bool publisher, const stash_relay_config *c)
{
    if (publisher) {
        if (c->server_secret_key == NULL)
            return STASH_OK;
        stash_status st = set_int(s, ZMQ_CURVE_SERVER, 1);
        if (st == STASH_OK)
            st = set_option(s, ZMQ_CURVE_SECRETKEY, c->server_secret_key, STASH_RELAY_KEY_CHARS);
        return st;
    }
    if (c->server_public_key == NULL)
        return STASH_OK;
    char public_key[41], secret_key[41];
    if (c->client_public_key) {
        memcpy(public_key, c->client_public_key, 41);
        memcpy(secret_key, c->client_secret_key, 41);
    } else if (zmq_curve_keypair(public_key, secret_key) != 0) {
        return relay_zmq_status(errno);
    }
    stash_status st = set_option(s, ZMQ_CURVE_SERVERKEY, c->server_public_key,
                                 STASH_RELAY_KEY_CHARS);
    if (st == STASH_OK)
        st = set_option(s, ZMQ_CURVE_PUBLICKEY, public_key, STASH_RELAY_KEY_CHARS);
    if (st == STASH_OK)
        st = set_option(s, ZMQ_CURVE_SECRETKEY, secret_key, STASH_RELAY_KEY_CHARS);
    memset(secret_key, 0, sizeof secret_key);
    return st;
}

static int socket_type(bool publisher, stash_relay_mode mode)
{
    if (mode == STASH_RELAY_PUSHPULL)
        return publisher ? ZMQ_PUSH : ZMQ_PULL;
    return publisher ? ZMQ_XPUB : ZMQ_SUB;
}

/* The socket's options, before it binds or connects. */
static stash_status configure(struct stash_relay *r, const stash_relay_config *c)
{
    void *s = r->socket;
    stash_status st = set_int(s, ZMQ_LINGER, r->publisher ? RELAY_LINGER_MS : 0);
    if (st == STASH_OK && c->high_water_mark > 0)
        st = set_int(s, r->publisher ? ZMQ_SNDHWM : ZMQ_RCVHWM, c->high_water_mark);
    if (st == STASH_OK && r->publisher && r->mode == STASH_RELAY_PUBSUB)
        st = set_int(s, ZMQ_XPUB_VERBOSE, 1); /* every subscription, even a repeated one */
    if (st == STASH_OK && !r->publisher) {
        int64_t most = RELAY_HEADER_BYTES + RELAY_META_FIXED_BYTES + RELAY_BODY_MAX;
        st = set_option(s, ZMQ_MAXMSGSIZE, &most, sizeof most);
    }
    if (st == STASH_OK && !r->publisher && r->mode == STASH_RELAY_PUBSUB)
        st = set_option(s, ZMQ_SUBSCRIBE, "", 0);
    if (st == STASH_OK)
        st = set_curve(s, r->publisher, c);
    return st;
}

stash_status relay_open(bool publisher, const char *endpoint, const stash_relay_config *cfg,
                        struct stash_relay **out)
{
    stash_relay_config defaults = {0};
    const stash_relay_config *c = cfg ? cfg : &defaults;
    if (!endpoint_is_valid(endpoint))
        return STASH_E_INVALID;
    stash_status st = check_config(publisher, c);
    if (st != STASH_OK)
        return st;
    struct stash_relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->publisher = publisher;
    r->mode = c->mode ? c->mode : STASH_RELAY_PUBSUB;
    r->source_timeout_ns = c->source_timeout_ns ? c->source_timeout_ns : RELAY_DEFAULT_TIMEOUT_NS;
    atomic_init(&r->stop_requested, 0);
    r->context = zmq_ctx_new();
    r->socket = r->context ? zmq_socket(r->context, socket_type(publisher, r->mode)) : NULL;
    st = r->socket ? configure(r, c) : relay_zmq_status(errno);
    if (st == STASH_OK) {
        int rc = publisher ? zmq_bind(r->socket, endpoint) : zmq_connect(r->socket, endpoint);
        if (rc != 0)
            st = relay_zmq_status(errno);
    }
    if (st != STASH_OK) {
        relay_free(r);
        return st;
    }
    *out = r;
    return STASH_OK;
}

void relay_free(struct stash_relay *r)
{
    if (r->has_pending)
        zmq_msg_close(&r->pending);
    if (r->socket)
        zmq_close(r->socket);
    if (r->context)
        while (zmq_ctx_term(r->context) != 0 && errno == EINTR)
            ;
    relay_meta_free(&r->stream);
    free(r->meta);
    free(r);
}

void relay_poll(struct stash_relay *r, short events, int64_t timeout_ns)
{
    zmq_pollitem_t item = {.socket = r->socket, .events = events};
    long ms = timeout_ns <= 0 ? 0 : (long)((timeout_ns + 999999) / 1000000);
    zmq_poll(&item, 1, ms); /* EINTR: the caller looks again */
}

bool relay_stop_taken(struct stash_relay *r)
{
    return atomic_exchange(&r->stop_requested, 0) != 0;
}

stash_status stash_relay_run(stash_relay *r, int64_t timeout_ns)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    int64_t now = relay_now_ns();
    int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
    return r->publisher ? relay_publish_run(r, deadline) : relay_subscribe_run(r, deadline);
}

void stash_relay_stop(stash_relay *r)
{
    if (r)
        atomic_store(&r->stop_requested, 1);
}

stash_status stash_relay_stats_get(const stash_relay *r, stash_relay_stats *stats)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (stats == NULL)
        return STASH_E_INVALID;
    *stats = r->stats;
    return STASH_OK;
}

stash_ring *stash_relay_ring(stash_relay *r)
{
    return r ? r->ring : NULL;
}

stash_status stash_relay_close(stash_relay **relay)
{
    if (relay == NULL || *relay == NULL)
        return STASH_OK;
    struct stash_relay *r = *relay;
    if (r->publisher)
        relay_publish_goodbye(r);
    stash_status st = stash_ring_close(&r->ring);
    relay_free(r);
    *relay = NULL;
    return st;
}
