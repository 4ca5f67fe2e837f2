/*
 * redis: listing and gc. ls walks each server with SCAN (never KEYS, which
 * blocks a server for as long as it takes to walk every key), matching the
 * store's names "P{...}", and reads each entry's manifest for its size, a
 * batch per SCAN reply. Temporaries ("P{K}:tmp:...") never end in '}', so
 * they are never listed. Like SCAN itself, a listing may give a key twice
 * if the server resizes its tables meanwhile.
 *
 * gc evicts nothing: the server does, by its maxmemory-policy
 * (docs/store.md says how to set allkeys-lru). It reports what the servers
 * hold under the prefix.
 */
#include "store/store_redis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_COUNT "500"

/* The SCAN pattern "P{*}" with P's glob characters escaped, in a new string. */
static char *pattern_of(const char *prefix)
{
    char *out = malloc(2 * strlen(prefix) + 4);
    if (!out)
        return NULL;
    size_t n = 0;
    for (const char *p = prefix; *p; p++) {
        if (strchr("*?[]\\", *p))
            out[n++] = '\\';
        out[n++] = *p;
    }
    memcpy(out + n, "{*}", 4);
    return out;
}

/* The key in a name "P{key}", in key (STASH_STORE_KEY_MAX + 1 bytes); false if not an entry. */
static bool key_of(const char *prefix, const redisReply *name, char *key)
{
    size_t plen = strlen(prefix), len = (size_t)name->len;
    if (name->type != REDIS_REPLY_STRING || len < plen + 3 || len - plen - 2 > STASH_STORE_KEY_MAX ||
        memcmp(name->str, prefix, plen) != 0 || name->str[plen] != '{' || name->str[len - 1] != '}')
        return false;
    memcpy(key, name->str + plen + 1, len - plen - 2);
    key[len - plen - 2] = '\0';
    return strlen(key) == len - plen - 2 && store_key_check(key) == STASH_OK;
}

struct batch_ctx {
    stash_store_list_fn fn;
    void *ctx;
    uint64_t entries, bytes;
};

/* The manifests of one SCAN reply's names, then fn for each entry still there. */
static stash_status list_batch(struct redis_store *r, struct redis_shard *shard,
                               const redisReply *names, struct batch_ctx *b)
{
    stash_status st = STASH_OK;
    for (size_t i = 0; i < names->elements && st == STASH_OK; i++) {
        const char *argv[3] = {"HGET", names->element[i]->str, REDIS_MANIFEST_FIELD};
        size_t lens[3] = {4, (size_t)names->element[i]->len, 1};
        st = redis_append(shard, 3, argv, lens);
    }
    if (st == STASH_OK)
        st = redis_flush(shard);
    char key[STASH_STORE_KEY_MAX + 1];
    for (size_t i = 0; i < names->elements && shard->ctx; i++) {
        redisReply *m = NULL;
        stash_status got = redis_reply(shard, &m);
        struct redis_manifest manifest;
        /* A name that is not an entry's, or an entry gone since SCAN saw it, is skipped. */
        if (st == STASH_OK && got == STASH_OK && m->type == REDIS_REPLY_STRING &&
            redis_manifest_decode(m->str, (size_t)m->len, &manifest) == STASH_OK &&
            key_of(r->config.prefix, names->element[i], key)) {
            b->entries++;
            b->bytes += manifest.total_bytes;
            st = b->fn ? b->fn(b->ctx, key, manifest.total_bytes) : STASH_OK;
        } else if (st == STASH_OK && got != STASH_OK && got != STASH_E_CORRUPT) {
            st = got;
        }
        if (m)
            freeReplyObject(m);
    }
    return shard->ctx ? st : STASH_E_UNAVAILABLE;
}

static stash_status scan_shard(struct redis_store *r, struct redis_shard *shard,
                               const char *pattern, struct batch_ctx *b)
{
    char cursor[32] = "0";
    stash_status st = redis_connect(r, shard);
    do {
        const char *argv[6] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
        size_t lens[6] = {4, strlen(cursor), 5, strlen(pattern), 5, sizeof SCAN_COUNT - 1};
        redisReply *reply = NULL;
        if (st == STASH_OK)
            st = redis_append(shard, 6, argv, lens);
        if (st == STASH_OK)
            st = redis_reply(shard, &reply);
        if (st == STASH_OK &&
            (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
             reply->element[0]->type != REDIS_REPLY_STRING ||
             reply->element[0]->len >= (int)sizeof cursor ||
             reply->element[1]->type != REDIS_REPLY_ARRAY))
            st = STASH_E_CORRUPT;
        if (st == STASH_OK) {
            memcpy(cursor, reply->element[0]->str, (size_t)reply->element[0]->len + 1);
            st = list_batch(r, shard, reply->element[1], b);
        }
        if (reply)
            freeReplyObject(reply);
    } while (st == STASH_OK && strcmp(cursor, "0") != 0);
    return st;
}

static stash_status walk(struct redis_store *r, struct batch_ctx *b)
{
    char *pattern = pattern_of(r->config.prefix);
    if (!pattern)
        return -ENOMEM;
    stash_status st = STASH_OK;
    for (size_t i = 0; i < r->config.shard_count && st == STASH_OK; i++)
        st = scan_shard(r, &r->config.shards[i], pattern, b);
    free(pattern);
    return st;
}

stash_status redis_list(void *impl, stash_store_list_fn fn, void *ctx)
{
    struct batch_ctx b = {.fn = fn, .ctx = ctx};
    return walk(impl, &b);
}

stash_status redis_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    struct redis_store *r = impl;
    (void)max_bytes; /* the server's maxmemory is the limit */
    if (r->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    struct batch_ctx b = {0};
    stash_status st = walk(r, &b);
    if (st == STASH_OK)
        *stats = (stash_store_gc_stats){.entries = b.entries, .bytes = b.bytes};
    return st;
}
