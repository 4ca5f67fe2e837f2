/*
 * The redis: backend: one Redis hash per entry, holding a manifest and the
 * payload (the bytes of a dir: entry, store_entry.c) in chunks of at most
 * 8 MiB. One hash, because a server evicting under allkeys-lru evicts a key
 * whole: chunks kept as separate keys would be evicted one by one.
 *
 * A put writes the chunks into a temporary hash that expires by itself
 * (a crashed writer's leftovers vanish), then a Lua script renames it onto
 * the entry's name only if it holds every field: eviction may have emptied
 * it halfway, and the next HSET would have recreated it partially.
 *
 * A get reads the manifest and the first chunk in one command (most entries
 * are one chunk, so one round trip), the other chunks pipelined, then the
 * manifest again: a different nonce means the entry was replaced meanwhile,
 * and the read starts over rather than mixing two values. Length and XXH3
 * are checked before the payload is decoded.
 */
#include "store/store_redis.h"

#include "core/sysio.h"
#include "nco/nco_internal.h"

#include <stash/stream.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <xxhash.h>

/* Renames the temporary (KEYS[1]) onto the entry (KEYS[2]) if it holds
 * ARGV[1] fields; else removes what is left of it. 1: published. */
static const char publish_script[] =
    "if redis.call('HLEN', KEYS[1]) == tonumber(ARGV[1]) then "
    "redis.call('RENAME', KEYS[1], KEYS[2]) "
    "redis.call('PERSIST', KEYS[2]) "
    "return 1 end "
    "redis.call('DEL', KEYS[1]) "
    "return 0";

#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)

/* Entries up to this size go in one script; larger ones chunk by chunk, because a
 * script's arguments are copied into Lua and again into the hash. */
#define REDIS_ONE_SCRIPT_BYTES (64u << 10)

/* A small entry in one command: written aside and renamed inside one
 * script, which the server runs alone, so no reader sees it half written; a
 * refused HSET (OOM) stops the script before the rename. */
static const char put_one_script[] =
    "redis.call('HSET', KEYS[1], 'm', ARGV[1], '0', ARGV[2]) "
    "redis.call('RENAME', KEYS[1], KEYS[2]) "
    "return 1";

/* A read that saw the entry replaced under it starts over at most this often. */
#define REDIS_READ_TRIES 4

#define NAME_CAP (REDIS_PREFIX_MAX + STASH_STORE_KEY_MAX + 3 + 5 + 2 * REDIS_NONCE_BYTES + 1)

/* ---- Manifests ---------------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void redis_manifest_encode(const struct redis_manifest *m, unsigned char *out)
{
    memcpy(out, REDIS_MANIFEST_MAGIC, 4);
    put_le(out + 4, REDIS_MANIFEST_VERSION, 4);
    put_le(out + 8, m->total_bytes, 8);
    put_le(out + 16, m->chunk_bytes, 4);
    put_le(out + 20, m->chunk_count, 4);
    put_le(out + 24, m->xxh3, 8);
    memcpy(out + 32, m->nonce, REDIS_NONCE_BYTES);
}

stash_status redis_manifest_decode(const void *bytes, size_t len, struct redis_manifest *m)
{
    const unsigned char *p = bytes;
    if (len < 8 || memcmp(p, REDIS_MANIFEST_MAGIC, 4) != 0)
        return STASH_E_CORRUPT;
    if (get_le(p + 4, 4) != REDIS_MANIFEST_VERSION)
        return STASH_E_VERSION;
    if (len != REDIS_MANIFEST_BYTES)
        return STASH_E_CORRUPT;
    m->total_bytes = get_le(p + 8, 8);
    m->chunk_bytes = (uint32_t)get_le(p + 16, 4);
    m->chunk_count = (uint32_t)get_le(p + 20, 4);
    m->xxh3 = get_le(p + 24, 8);
    memcpy(m->nonce, p + 32, REDIS_NONCE_BYTES);
    /* The counts must agree, so a reader never trusts one of them alone. */
    if (m->chunk_bytes == 0 || m->chunk_bytes > REDIS_CHUNK_BYTES || m->total_bytes == 0 ||
        m->total_bytes > SIZE_MAX / 2 ||
        (m->total_bytes + m->chunk_bytes - 1) / m->chunk_bytes != m->chunk_count)
        return STASH_E_CORRUPT;
    return STASH_OK;
}

/* The length of chunk i of m. */
static size_t chunk_len(const struct redis_manifest *m, uint32_t i)
{
    uint64_t start = (uint64_t)i * m->chunk_bytes;
    uint64_t left = m->total_bytes - start;
    return (size_t)(left < m->chunk_bytes ? left : m->chunk_bytes);
}

/* ---- Names -------------------------------------------------------------------- */

/* "P{key}" into name (NAME_CAP bytes); its length. */
static size_t entry_name(const struct redis_store *r, const char *key, char *name)
{
    int n = snprintf(name, NAME_CAP, "%s{%s}", r->config.prefix, key);
    return n > 0 ? (size_t)n : 0;
}

/* "P{key}:tmp:<nonce in hex>". */
static size_t temp_name(const char *entry, size_t len, const unsigned char *nonce, char *name)
{
    static const char hex[] = "0123456789abcdef";
    memcpy(name, entry, len);
    memcpy(name + len, ":tmp:", 5);
    size_t n = len + 5;
    for (int i = 0; i < REDIS_NONCE_BYTES; i++) {
        name[n++] = hex[nonce[i] >> 4];
        name[n++] = hex[nonce[i] & 15];
    }
    name[n] = '\0';
    return n;
}

static struct redis_shard *shard_for(struct redis_store *r, const char *key, stash_status *st)
{
    struct redis_shard *shard = redis_shard_of(r, key, strlen(key));
    *st = redis_connect(r, shard);
    return shard;
}

/* ---- Opening ------------------------------------------------------------------- */

/*
 * Asks the server something, so a refused password fails the open rather
 * than the first put: its maxmemory (for the default entry limit, a quarter
 * of it; 0 where there is none) or, with the limit given, a PING. A server
 * where CONFIG is disabled or renamed leaves the limit at 0.
 */
static stash_status probe(struct redis_shard *shard, bool want_limit, uint64_t *limit)
{
    const char *config[3] = {"CONFIG", "GET", "maxmemory"}, *ping[1] = {"PING"};
    size_t config_lens[3] = {6, 3, 9}, ping_lens[1] = {4};
    redisReply *r = NULL;
    stash_status st = want_limit ? redis_append(shard, 3, config, config_lens)
                                 : redis_append(shard, 1, ping, ping_lens);
    if (st == STASH_OK)
        st = redis_reply(shard, &r);
    if (st == STASH_OK && want_limit && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        *limit = strtoull(r->element[1]->str, NULL, 10) / 4;
    if (r)
        freeReplyObject(r);
    return st == STASH_E_UNAVAILABLE || st == -EACCES || st == -ENOMEM ? st : STASH_OK;
}

static stash_status redis_close(void *impl)
{
    struct redis_store *r = impl;
    if (r)
        redis_config_free(&r->config);
    free(r);
    return STASH_OK;
}

/*
 * Connects to every server. The store opens if at least one answers (a
 * shard that is down costs only its keys); a refusal that is not about
 * reaching the server (a wrong password) fails the open.
 */
static stash_status connect_all(struct redis_store *r)
{
    stash_status unreachable = STASH_OK;
    size_t up = 0;
    for (size_t i = 0; i < r->config.shard_count; i++) {
        struct redis_shard *shard = &r->config.shards[i];
        bool want_limit = up == 0 && !r->config.max_entry_bytes_given;
        uint64_t limit = 0;
        stash_status st = redis_connect(r, shard);
        if (st == STASH_OK)
            st = probe(shard, want_limit, &limit);
        if (st == STASH_E_UNAVAILABLE) {
            unreachable = st;
            continue;
        }
        if (st != STASH_OK)
            return st;
        if (want_limit)
            r->config.max_entry_bytes = limit;
        up++;
    }
    return up ? STASH_OK : unreachable;
}

static stash_status open_any(const char *rest, bool unix_socket,
                             const stash_store_options *options, void **impl)
{
    struct redis_store *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->options = *options;
    stash_status st = redis_config_parse(rest, unix_socket, &r->config);
    if (st != STASH_OK) {
        free(r);
        return st;
    }
    st = connect_all(r);
    if (st != STASH_OK) {
        redis_close(r);
        return st;
    }
    *impl = r;
    return STASH_OK;
}

stash_status store_redis_open(const char *rest, const stash_store_options *options, void **impl)
{
    return open_any(rest, false, options, impl);
}

stash_status store_redis_unix_open(const char *rest, const stash_store_options *options,
                                   void **impl)
{
    return open_any(rest, true, options, impl);
}

/* ---- Putting -------------------------------------------------------------------- */

struct put_job {
    const char *entry, *temp;
    size_t entry_len, temp_len;
    const unsigned char *payload;
    struct redis_manifest manifest;
};

static stash_status queue_expire(struct redis_shard *shard, const struct put_job *job)
{
    static const char ttl[] = TEXT(REDIS_TEMP_TTL_S);
    const char *expire[3] = {"EXPIRE", job->temp, ttl};
    size_t expire_lens[3] = {6, job->temp_len, sizeof ttl - 1};
    return redis_append(shard, 3, expire, expire_lens);
}

/* HSET temp m <manifest>, and its EXPIRE. */
static stash_status queue_manifest(struct redis_shard *shard, const struct put_job *job)
{
    unsigned char manifest[REDIS_MANIFEST_BYTES];
    redis_manifest_encode(&job->manifest, manifest);
    const char *hset[4] = {"HSET", job->temp, REDIS_MANIFEST_FIELD, (const char *)manifest};
    size_t lens[4] = {4, job->temp_len, 1, sizeof manifest};
    stash_status st = redis_append(shard, 4, hset, lens);
    return st == STASH_OK ? queue_expire(shard, job) : st;
}

/*
 * HSET temp <i> <chunk i>, written from the payload with writev (hiredis
 * would copy it, and move what is left after each partial write), then its
 * EXPIRE: a hash that eviction emptied and this HSET recreated gets its
 * expiry back at once.
 */
static stash_status send_chunk(struct redis_shard *shard, const struct put_job *job, uint32_t i)
{
    char head[64], middle[96];
    size_t len = chunk_len(&job->manifest, i);
    int field_len = snprintf(middle, sizeof middle, "%u", i);
    int head_len = snprintf(head, sizeof head, "*4\r\n$4\r\nHSET\r\n$%zu\r\n", job->temp_len);
    int middle_len = snprintf(middle, sizeof middle, "\r\n$%d\r\n%u\r\n$%zu\r\n", field_len,
                              i, len);
    struct iovec iov[5] = {
        {head, (size_t)head_len},
        {(void *)job->temp, job->temp_len},
        {middle, (size_t)middle_len},
        {(void *)(job->payload + (size_t)i * job->manifest.chunk_bytes), len},
        {"\r\n", 2},
    };
    stash_status st = redis_write_raw(shard, iov, 5);
    return st == STASH_OK ? queue_expire(shard, job) : st;
}

/* Queues every field and the publishing script: 2 replies per field, 1 for the script. */
static stash_status queue_put(struct redis_shard *shard, const struct put_job *job,
                              size_t *queued)
{
    stash_status st = queue_manifest(shard, job);
    *queued = st == STASH_OK ? 2 : 0;
    for (uint32_t i = 0; i < job->manifest.chunk_count && st == STASH_OK; i++) {
        st = send_chunk(shard, job, i);
        *queued += st == STASH_OK ? 2 : 0;
    }
    char fields[16];
    snprintf(fields, sizeof fields, "%u", job->manifest.chunk_count + 1);
    const char *eval[6] = {"EVAL", publish_script, "2", job->temp, job->entry, fields};
    size_t lens[6] = {4, sizeof publish_script - 1, 1, job->temp_len, job->entry_len,
                      strlen(fields)};
    if (st == STASH_OK)
        st = redis_append(shard, 6, eval, lens);
    return st == STASH_OK ? redis_flush(shard) : st;
}

/* A small entry: one script, one reply. */
static stash_status queue_put_one(struct redis_shard *shard, const struct put_job *job,
                                  size_t *queued)
{
    unsigned char manifest[REDIS_MANIFEST_BYTES];
    redis_manifest_encode(&job->manifest, manifest);
    const char *eval[7] = {"EVAL", put_one_script, "2", job->temp, job->entry,
                           (const char *)manifest, (const char *)job->payload};
    size_t lens[7] = {4, sizeof put_one_script - 1, 1, job->temp_len, job->entry_len,
                      sizeof manifest, (size_t)job->manifest.total_bytes};
    *queued = 0;
    stash_status st = redis_append(shard, 7, eval, lens);
    return st == STASH_OK ? redis_flush(shard) : st;
}

/* Reads the replies of queue_put; the script's says whether the entry was published. */
static stash_status finish_put(struct redis_shard *shard, size_t fields_replies)
{
    stash_status st = redis_drain(shard, fields_replies);
    redisReply *r = NULL;
    stash_status script = shard->ctx ? redis_reply(shard, &r) : STASH_E_UNAVAILABLE;
    if (st == STASH_OK)
        st = script;
    if (st == STASH_OK && (r->type != REDIS_REPLY_INTEGER || r->integer != 1))
        st = r->type == REDIS_REPLY_INTEGER ? STASH_E_FULL : STASH_E_CORRUPT; /* evicted whole */
    if (r)
        freeReplyObject(r);
    return st;
}

static stash_status send_entry(struct redis_store *r, const char *key, const void *payload,
                               size_t len)
{
    char entry[NAME_CAP], temp[NAME_CAP];
    struct put_job job = {.entry = entry, .temp = temp, .payload = payload};
    job.manifest.total_bytes = len;
    job.manifest.chunk_bytes = REDIS_CHUNK_BYTES;
    job.manifest.chunk_count = (uint32_t)((len + REDIS_CHUNK_BYTES - 1) / REDIS_CHUNK_BYTES);
    job.manifest.xxh3 = XXH3_64bits(payload, len);
    stash_status st = sysio_seams.random_bytes(job.manifest.nonce, REDIS_NONCE_BYTES);
    if (st != STASH_OK)
        return st;
    job.entry_len = entry_name(r, key, entry);
    job.temp_len = temp_name(entry, job.entry_len, job.manifest.nonce, temp);
    struct redis_shard *shard = shard_for(r, key, &st);
    size_t queued = 0;
    if (st == STASH_OK)
        st = len <= REDIS_ONE_SCRIPT_BYTES ? queue_put_one(shard, &job, &queued)
                                           : queue_put(shard, &job, &queued);
    if (st != STASH_OK) {
        redis_disconnect(shard); /* replies may be pending: start clean next time */
        return st;
    }
    return finish_put(shard, queued);
}

static stash_status redis_put(void *impl, const char *key, const stash_value *value)
{
    struct redis_store *r = impl;
    if (r->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    stash_stream *buffer = NULL;
    const void *payload = NULL;
    size_t len = 0;
    stash_status st = stash_stream_open_growable(4096, &buffer);
    if (st == STASH_OK)
        st = store_entry_write_stream(buffer, key, value);
    if (st == STASH_OK)
        st = stash_stream_memory_contents(buffer, &payload, &len);
    if (st == STASH_OK && (len == 0 || len > SIZE_MAX / 2))
        st = STASH_E_LIMIT;
    if (st == STASH_OK && r->config.max_entry_bytes && len > r->config.max_entry_bytes)
        st = STASH_E_LIMIT; /* larger than the server should hold: not stored */
    if (st == STASH_OK)
        st = send_entry(r, key, payload, len);
    stash_stream_close(&buffer);
    return st;
}

/* ---- Getting -------------------------------------------------------------------- */

/* Queues HGET entry field. */
static stash_status queue_hget(struct redis_shard *shard, const char *entry, size_t entry_len,
                               const char *field)
{
    const char *argv[3] = {"HGET", entry, field};
    size_t lens[3] = {4, entry_len, strlen(field)};
    return redis_append(shard, 3, argv, lens);
}

/* The next reply, a manifest again: STASH_E_BUSY unless it has m's nonce. */
static stash_status same_nonce(struct redis_shard *shard, const struct redis_manifest *m)
{
    redisReply *r = NULL;
    stash_status st = redis_reply(shard, &r);
    if (st == STASH_OK)
        st = r->type == REDIS_REPLY_STRING && r->len == REDIS_MANIFEST_BYTES &&
                     memcmp(r->str + 32, m->nonce, REDIS_NONCE_BYTES) == 0
                 ? STASH_OK
                 : STASH_E_BUSY;
    if (r)
        freeReplyObject(r);
    return st;
}

/* The next reply, chunk i, straight into the payload: a missing chunk is a miss, one of
 * the wrong size damage. */
static stash_status read_chunk(struct redis_shard *shard, const struct redis_manifest *m,
                               uint32_t i, unsigned char *payload)
{
    size_t want = chunk_len(m, i), got = 0;
    stash_status st = redis_read_bulk(shard, payload + (size_t)i * m->chunk_bytes, want, &got);
    return st == STASH_OK && got != want ? STASH_E_CORRUPT : st;
}

/*
 * The replies to HGET of chunks [first, end) and of the manifest. A chunk
 * missing or of the wrong size counts only if the manifest did not change
 * meanwhile: else the read raced a replacement, STASH_E_BUSY, and starts over.
 */
static stash_status read_chunks(struct redis_shard *shard, const struct redis_manifest *m,
                                uint32_t first, uint32_t end, unsigned char *payload)
{
    stash_status st = STASH_OK;
    for (uint32_t i = first; i < end && shard->ctx; i++) {
        stash_status got = read_chunk(shard, m, i, payload);
        if (st == STASH_OK)
            st = got;
    }
    stash_status again = shard->ctx ? same_nonce(shard, m) : STASH_E_UNAVAILABLE;
    return again != STASH_OK ? again : st;
}

/*
 * The reply to HMGET entry m 0, one command, so the manifest and chunk 0
 * are of one entry: the manifest, then chunk 0 straight into a new payload.
 */
static stash_status read_first(struct redis_shard *shard, struct redis_manifest *m,
                               unsigned char **payload)
{
    unsigned char manifest[REDIS_MANIFEST_BYTES];
    size_t len = 0;
    stash_status st = redis_read_array(shard, 2);
    if (st != STASH_OK)
        return st;
    st = redis_read_bulk(shard, manifest, sizeof manifest, &len);
    if (st == STASH_OK)
        st = redis_manifest_decode(manifest, len, m);
    if (st != STASH_OK) {
        stash_status skipped = shard->ctx ? redis_read_bulk(shard, NULL, 0, &len) : st;
        return skipped == STASH_OK || skipped == STASH_E_NOT_FOUND || skipped == STASH_E_CORRUPT
                   ? st
                   : skipped;
    }
    if (!(*payload = malloc((size_t)m->total_bytes))) {
        redis_disconnect(shard); /* chunk 0 is still coming: start clean */
        return -ENOMEM;
    }
    return read_chunk(shard, m, 0, *payload);
}

/*
 * One attempt: HMGET of the manifest and chunk 0, one round trip and one
 * consistent snapshot for every entry under 8 MiB; then, for more chunks,
 * HGET of chunks 1 .. n-1 and of the manifest again, whose nonce says
 * whether the entry changed meanwhile (STASH_E_BUSY).
 */
static stash_status read_entry(struct redis_shard *shard, const char *entry, size_t entry_len,
                               unsigned char **payload, size_t *len)
{
    struct redis_manifest m = {0};
    const char *argv[4] = {"HMGET", entry, REDIS_MANIFEST_FIELD, "0"};
    size_t lens[4] = {5, entry_len, 1, 1};
    stash_status st = redis_append(shard, 4, argv, lens);
    if (st == STASH_OK)
        st = read_first(shard, &m, payload);
    for (uint32_t i = 1; i <= m.chunk_count && st == STASH_OK && m.chunk_count > 1; i++) {
        char field[16];
        snprintf(field, sizeof field, "%u", i);
        st = queue_hget(shard, entry, entry_len, i < m.chunk_count ? field : REDIS_MANIFEST_FIELD);
    }
    if (st == STASH_OK && m.chunk_count > 1)
        st = read_chunks(shard, &m, 1, m.chunk_count, *payload);
    if (st == STASH_OK && XXH3_64bits(*payload, (size_t)m.total_bytes) != m.xxh3)
        st = STASH_E_CORRUPT;
    if (st != STASH_OK) {
        free(*payload);
        *payload = NULL;
    }
    *len = (size_t)m.total_bytes;
    return st;
}

static stash_status redis_get(void *impl, const char *key, stash_value **out)
{
    struct redis_store *r = impl;
    char entry[NAME_CAP];
    size_t entry_len = entry_name(r, key, entry);
    stash_status st;
    struct redis_shard *shard = shard_for(r, key, &st);
    unsigned char *payload = NULL;
    size_t len = 0;
    for (int tries = 0; st == STASH_OK || st == STASH_E_BUSY; tries++) {
        if (tries == REDIS_READ_TRIES) {
            st = STASH_E_NOT_FOUND; /* replaced faster than it can be read: a miss */
            break;
        }
        st = read_entry(shard, entry, entry_len, &payload, &len);
        if (st == STASH_OK)
            break;
    }
    if (st != STASH_OK)
        return st;
    stash_nco *nco = NULL;
    st = nco_open_heap(payload, len, &nco); /* takes the payload, also on failure */
    return st == STASH_OK ? store_entry_decode(nco, key, out) : st;
}

/* ---- Has, delete ------------------------------------------------------------------ */

/* One command on key's entry with an integer reply. */
static stash_status entry_command(struct redis_store *r, const char *verb, const char *key,
                                  long long *result)
{
    char entry[NAME_CAP];
    const char *argv[2] = {verb, entry};
    size_t lens[2] = {strlen(verb), entry_name(r, key, entry)};
    stash_status st;
    struct redis_shard *shard = shard_for(r, key, &st);
    redisReply *reply = NULL;
    if (st == STASH_OK)
        st = redis_append(shard, 2, argv, lens);
    if (st == STASH_OK)
        st = redis_reply(shard, &reply);
    if (st == STASH_OK && reply->type != REDIS_REPLY_INTEGER)
        st = STASH_E_CORRUPT;
    if (st == STASH_OK)
        *result = reply->integer;
    if (reply)
        freeReplyObject(reply);
    return st;
}

static stash_status redis_has(void *impl, const char *key)
{
    long long n = 0;
    stash_status st = entry_command(impl, "EXISTS", key, &n);
    return st != STASH_OK ? st : n ? STASH_OK : STASH_E_NOT_FOUND;
}

static stash_status redis_remove(void *impl, const char *key)
{
    struct redis_store *r = impl;
    if (r->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    long long n = 0;
    stash_status st = entry_command(r, "DEL", key, &n);
    return st != STASH_OK ? st : n ? STASH_OK : STASH_E_NOT_FOUND;
}

const struct store_ops store_redis_ops = {
    .name = "redis",
    .put = redis_put,
    .get = redis_get,
    .has = redis_has,
    .remove = redis_remove,
    .list = redis_list,
    .gc = redis_gc,
    .close = redis_close,
};
