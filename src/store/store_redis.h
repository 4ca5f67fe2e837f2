/*
 * The redis: backend's state, shared by its parts: store_redis_uri.c (the
 * URI), store_redis_conn.c (connections, commands, timeouts, sharding) and
 * store_redis.c (entries: put, get, list).
 *
 * Layout in a server (docs/store.md, "redis: layout"), for a key K under
 * the prefix P (default "stash:"):
 *   P{K}                  a hash: field "m" the manifest (REDIS_MANIFEST_BYTES),
 *                         fields "0", "1", ... the payload's chunks
 *   P{K}:tmp:<32 hex>     the same hash being written, with an EXPIRE;
 *                         renamed onto P{K} by a Lua script once whole
 * The payload is the bytes of a dir: entry (store_entry.c).
 */
#ifndef STASH_STORE_REDIS_H
#define STASH_STORE_REDIS_H

#include "store/store_internal.h"

#include <hiredis/hiredis.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DEFAULT_PREFIX "stash:"
#define REDIS_PREFIX_MAX 256
#define REDIS_DEFAULT_TIMEOUT_MS 1000
#define REDIS_PASSWORD_ENV "STASH_REDIS_PASSWORD"

/* The manifest field: "stRE", version, total bytes, chunk bytes, chunk count,
 * XXH3-64 of the payload, a 16-byte nonce; little-endian (docs/store.md). */
#define REDIS_MANIFEST_FIELD "m"
#define REDIS_MANIFEST_MAGIC "stRE"
#define REDIS_MANIFEST_VERSION 1
#define REDIS_MANIFEST_BYTES 48
#define REDIS_NONCE_BYTES 16
#define REDIS_CHUNK_BYTES (8u << 20)
/* A crashed writer's temporary hash vanishes this long after its last chunk. */
#define REDIS_TEMP_TTL_S 120

struct redis_manifest {
    uint64_t total_bytes;
    uint32_t chunk_bytes, chunk_count;
    uint64_t xxh3;
    unsigned char nonce[REDIS_NONCE_BYTES];
};

/* One server: a TCP host and port, or a Unix socket; connected lazily. */
struct redis_shard {
    char *host;       /* NULL for a Unix socket */
    int port;
    char *socket;     /* NULL for TCP */
    uint64_t seed;    /* its rendezvous-hashing weight seed: XXH3 of its address */
    redisContext *ctx; /* NULL until connected, and after a failure */
};

struct redis_config {
    struct redis_shard *shards;
    size_t shard_count;
    char *user, *password; /* NULL: none */
    unsigned db;
    char *prefix;
    unsigned timeout_ms;
    uint64_t max_entry_bytes; /* 0: a quarter of the server's maxmemory, if set */
    bool max_entry_bytes_given;
};

struct redis_store {
    struct redis_config config;
    stash_store_options options;
};

/* Parses the part of a URI after "redis://" (unix false) or "redis+unix://"
 * (unix true) into *config; STASH_E_INVALID for anything malformed. */
stash_status redis_config_parse(const char *rest, bool unix_socket, struct redis_config *config);
void redis_config_free(struct redis_config *config);

/* The shard that holds key: the highest rendezvous weight. */
struct redis_shard *redis_shard_of(struct redis_store *r, const char *key, size_t len);

/* Connects the shard if it is not (AUTH, SELECT), within the timeout. */
stash_status redis_connect(struct redis_store *r, struct redis_shard *shard);

/* Drops the shard's connection (after an error: the next call reconnects). */
void redis_disconnect(struct redis_shard *shard);

/* Queues a command (argv with lengths) on the shard's connection. */
stash_status redis_append(struct redis_shard *shard, int argc, const char **argv,
                          const size_t *lens);

/* Writes what is queued without waiting for replies. */
stash_status redis_flush(struct redis_shard *shard);

/*
 * The next reply into *reply (the caller frees it with freeReplyObject), or
 * a status: a connection that failed or timed out is STASH_E_UNAVAILABLE and
 * dropped; an error reply is mapped by redis_error_status and freed.
 */
stash_status redis_reply(struct redis_shard *shard, redisReply **reply);

/* The status an error reply's text stands for (OOM: STASH_E_FULL, MOVED: UNSUPPORTED, ...). */
stash_status redis_error_status(const char *text);

/* Reads and frees n replies, returning the first failure. */
stash_status redis_drain(struct redis_shard *shard, size_t n);

/* Writes the iovecs whole to the socket, after what hiredis has queued
 * (large chunks, from the caller's memory). */
struct iovec;
stash_status redis_write_raw(struct redis_shard *shard, struct iovec *iov, int count);

/*
 * Reads the next reply, a bulk string of at most cap bytes, straight into
 * dest, and its length into *len. STASH_E_NOT_FOUND for a nil, an error
 * reply's status, STASH_E_CORRUPT for a longer string (read past, so the
 * next reply can be read) or another type (the connection dropped).
 */
stash_status redis_read_bulk(struct redis_shard *shard, void *dest, size_t cap, size_t *len);

/* Reads the next reply's header, which must be an array of count items. */
stash_status redis_read_array(struct redis_shard *shard, size_t count);

/* Manifest bytes <-> struct. */
void redis_manifest_encode(const struct redis_manifest *m, unsigned char *out);
stash_status redis_manifest_decode(const void *bytes, size_t len, struct redis_manifest *m);

stash_status redis_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats);
stash_status redis_list(void *impl, stash_store_list_fn fn, void *ctx);

#endif
