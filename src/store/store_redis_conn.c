/*
 * redis: connections. Each shard (server) has at most one connection,
 * made when first needed and dropped after any failure, so the next call
 * reconnects: a server that restarts is used again without reopening the
 * store.
 *
 * Every wait is bounded by the store's timeout: the connect itself, and
 * each send and receive (SO_SNDTIMEO / SO_RCVTIMEO, which hiredis sets). A
 * server that is down, paused or unreachable is STASH_E_UNAVAILABLE within
 * about the timeout, never a hang.
 *
 * Keys go to shards by rendezvous hashing: each (key, server) pair gets a
 * weight, and the key lives on the server of the highest weight. Losing a
 * server moves only its own keys (they miss); every other key stays put.
 */
#include "store/store_redis.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

struct redis_shard *redis_shard_of(struct redis_store *r, const char *key, size_t len)
{
    struct redis_shard *best = &r->config.shards[0];
    uint64_t best_weight = 0;
    for (size_t i = 0; i < r->config.shard_count; i++) {
        struct redis_shard *s = &r->config.shards[i];
        uint64_t weight = XXH3_64bits_withSeed(key, len, s->seed);
        if (i == 0 || weight > best_weight) {
            best = s;
            best_weight = weight;
        }
    }
    return best;
}

void redis_disconnect(struct redis_shard *shard)
{
    if (shard->ctx)
        redisFree(shard->ctx);
    shard->ctx = NULL;
}

static bool starts(const char *text, const char *word)
{
    return strncmp(text, word, strlen(word)) == 0;
}

stash_status redis_error_status(const char *text)
{
    if (!text)
        return -EIO;
    if (starts(text, "OOM"))
        return STASH_E_FULL; /* maxmemory reached and nothing may be evicted */
    if (starts(text, "MOVED") || starts(text, "ASK") || starts(text, "CROSSSLOT") ||
        starts(text, "CLUSTERDOWN"))
        return STASH_E_UNSUPPORTED; /* a Redis Cluster: docs/store.md says why not */
    if (starts(text, "NOAUTH") || starts(text, "WRONGPASS") || starts(text, "NOPERM") ||
        starts(text, "ERR invalid password") || starts(text, "ERR AUTH"))
        return -EACCES;
    if (starts(text, "READONLY"))
        return STASH_E_NOT_WRITABLE; /* a replica */
    if (starts(text, "LOADING") || starts(text, "BUSY") || starts(text, "MASTERDOWN") ||
        starts(text, "TRYAGAIN") || starts(text, "ERR max number of clients"))
        return STASH_E_UNAVAILABLE;
    if (starts(text, "WRONGTYPE"))
        return STASH_E_CORRUPT; /* a key under the prefix that is not an entry's hash */
    if (starts(text, "ERR DB index"))
        return STASH_E_INVALID;
    return -EIO;
}

/* The status a failed hiredis call on ctx stands for; the connection is dropped. */
static stash_status failed(struct redis_shard *shard)
{
    int err = shard->ctx ? shard->ctx->err : REDIS_ERR_IO;
    redis_disconnect(shard);
    if (err == REDIS_ERR_OOM)
        return -ENOMEM;
    if (err == REDIS_ERR_PROTOCOL)
        return STASH_E_CORRUPT; /* not a Redis server */
    return STASH_E_UNAVAILABLE; /* refused, reset, timed out, closed */
}

/*
 * hiredis writes with write(2), and a write to a server that has gone
 * raises SIGPIPE, which would kill the caller: the library never does that.
 * So SIGPIPE is blocked in this thread around each hiredis call that may
 * write, and one it raised is taken off the pending set before unblocking
 * (one that was pending before is left for the caller).
 */
struct pipe_guard {
    sigset_t old;
    bool was_pending;
};

static void guard_begin(struct pipe_guard *g)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &g->old);
}

static void guard_end(struct pipe_guard *g)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec none = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &none) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

stash_status redis_append(struct redis_shard *shard, int argc, const char **argv,
                          const size_t *lens)
{
    if (!shard->ctx)
        return STASH_E_UNAVAILABLE;
    return redisAppendCommandArgv(shard->ctx, argc, argv, lens) == REDIS_OK ? STASH_OK
                                                                            : failed(shard);
}

stash_status redis_flush(struct redis_shard *shard)
{
    int done = 0, ok = REDIS_OK;
    struct pipe_guard guard;
    guard_begin(&guard);
    while (shard->ctx && !done && ok == REDIS_OK)
        ok = redisBufferWrite(shard->ctx, &done);
    guard_end(&guard);
    if (ok != REDIS_OK)
        return failed(shard);
    return shard->ctx ? STASH_OK : STASH_E_UNAVAILABLE;
}

stash_status redis_reply(struct redis_shard *shard, redisReply **reply)
{
    void *got = NULL;
    if (!shard->ctx)
        return STASH_E_UNAVAILABLE;
    struct pipe_guard guard;
    guard_begin(&guard); /* a reply is read after what is queued is written */
    int ok = redisGetReply(shard->ctx, &got);
    guard_end(&guard);
    if (ok != REDIS_OK || !got)
        return failed(shard);
    redisReply *r = got;
    if (r->type == REDIS_REPLY_ERROR) {
        stash_status st = redis_error_status(r->str);
        freeReplyObject(r);
        return st;
    }
    *reply = r;
    return STASH_OK;
}

stash_status redis_drain(struct redis_shard *shard, size_t n)
{
    stash_status first = STASH_OK;
    for (size_t i = 0; i < n && shard->ctx; i++) {
        redisReply *r = NULL;
        stash_status st = redis_reply(shard, &r);
        if (r)
            freeReplyObject(r);
        if (first == STASH_OK)
            first = st;
    }
    return first;
}

/* One command and its reply, which must be of type want (or an error). */
static stash_status command(struct redis_shard *shard, int argc, const char **argv, int want)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    stash_status st = redis_append(shard, argc, argv, lens);
    redisReply *r = NULL;
    if (st == STASH_OK)
        st = redis_reply(shard, &r);
    if (st == STASH_OK && r->type != want)
        st = STASH_E_CORRUPT;
    if (r)
        freeReplyObject(r);
    return st;
}

static stash_status authenticate(const struct redis_config *c, struct redis_shard *shard)
{
    const char *argv[3] = {"AUTH"};
    int argc = 1;
    if (c->user)
        argv[argc++] = c->user;
    argv[argc++] = c->password;
    return command(shard, argc, argv, REDIS_REPLY_STATUS);
}

static stash_status select_db(const struct redis_config *c, struct redis_shard *shard)
{
    char db[16];
    snprintf(db, sizeof db, "%u", c->db);
    const char *argv[2] = {"SELECT", db};
    return command(shard, 2, argv, REDIS_REPLY_STATUS);
}

stash_status redis_connect(struct redis_store *r, struct redis_shard *shard)
{
    if (shard->ctx && !shard->ctx->err)
        return STASH_OK;
    redis_disconnect(shard);
    const struct redis_config *c = &r->config;
    struct timeval tv = {(time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000};
    redisContext *ctx = shard->socket ? redisConnectUnixWithTimeout(shard->socket, tv)
                                      : redisConnectWithTimeout(shard->host, shard->port, tv);
    if (!ctx)
        return -ENOMEM;
    shard->ctx = ctx;
    if (ctx->err || redisSetTimeout(ctx, tv) != REDIS_OK)
        return failed(shard);
    stash_status st = c->password ? authenticate(c, shard) : STASH_OK;
    if (st == STASH_OK && c->db)
        st = select_db(c, shard);
    if (st != STASH_OK)
        redis_disconnect(shard);
    return st;
}

/* ---- Large values: from the caller's memory, into the caller's memory ------------- */

/*
 * hiredis 0.14 formats every command into one buffer (a copy of the value)
 * and, after each partial write, moves what is left to the buffer's start:
 * a 64 MiB SET is copied once and moved hundreds of times. Its reader takes
 * 16 KiB a read and copies each bulk reply twice. So large chunks bypass
 * both: a chunk's HSET goes out with writev straight from the payload, and a
 * chunk's bulk reply is read straight into the destination. hiredis still
 * formats and parses everything small, and the two never overlap: what
 * hiredis has queued is written first, and what its reader has buffered is
 * taken first.
 */

stash_status redis_write_raw(struct redis_shard *shard, struct iovec *iov, int count)
{
    stash_status st = redis_flush(shard);
    if (st != STASH_OK)
        return st;
    struct pipe_guard guard;
    guard_begin(&guard);
    while (count > 0 && st == STASH_OK) {
        ssize_t n = writev(shard->ctx->fd, iov, count);
        if (n < 0) {
            if (errno != EINTR)
                st = STASH_E_UNAVAILABLE; /* EAGAIN: the send timeout; EPIPE, ECONNRESET */
            continue;
        }
        size_t done = (size_t)n;
        while (count > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    guard_end(&guard);
    if (st != STASH_OK)
        redis_disconnect(shard);
    return st;
}

/* The bytes hiredis's reader holds and has not parsed. */
static size_t buffered(const redisContext *ctx, const char **at)
{
    *at = ctx->reader->buf + ctx->reader->pos;
    return ctx->reader->len - ctx->reader->pos;
}

static void consume(redisContext *ctx, size_t n)
{
    ctx->reader->pos += n;
}

/* Exactly n bytes of the socket into dest, the reader's buffered bytes first. */
static stash_status read_exact(struct redis_shard *shard, char *dest, size_t n)
{
    const char *at;
    size_t have = buffered(shard->ctx, &at);
    size_t take = have < n ? have : n;
    memcpy(dest, at, take);
    consume(shard->ctx, take);
    for (size_t done = take; done < n;) {
        ssize_t got = read(shard->ctx->fd, dest + done, n - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            redis_disconnect(shard); /* EAGAIN: the receive timeout; 0: closed */
            return STASH_E_UNAVAILABLE;
        }
        done += (size_t)got;
    }
    return STASH_OK;
}

/* Reads and drops n bytes. */
static stash_status skip(struct redis_shard *shard, unsigned long long n)
{
    char scrap[16384];
    stash_status st = STASH_OK;
    while (n > 0 && st == STASH_OK) {
        size_t part = n < sizeof scrap ? (size_t)n : sizeof scrap;
        st = read_exact(shard, scrap, part);
        n -= part;
    }
    return st;
}

/* The reply's first line (without "\r\n") into line; the reader buffers what follows. */
static stash_status read_line(struct redis_shard *shard, char *line, size_t cap)
{
    for (;;) {
        const char *at;
        size_t have = buffered(shard->ctx, &at);
        const char *end = have > 1 ? memchr(at, '\r', have - 1) : NULL;
        if (end && end[1] == '\n') {
            size_t len = (size_t)(end - at);
            if (len >= cap) {
                redis_disconnect(shard);
                return STASH_E_CORRUPT;
            }
            memcpy(line, at, len);
            line[len] = '\0';
            consume(shard->ctx, len + 2);
            return STASH_OK;
        }
        if (have >= cap) {
            redis_disconnect(shard);
            return STASH_E_CORRUPT;
        }
        if (redisBufferRead(shard->ctx) != REDIS_OK)
            return failed(shard);
    }
}

/* The next reply's first line: its type ('$' or '*') and number ("$-1": '$', -1).
 * An error reply is its status, and the connection stays in step. */
static stash_status read_header(struct redis_shard *shard, char *type, long long *n)
{
    char line[256], *end;
    if (!shard->ctx)
        return STASH_E_UNAVAILABLE;
    stash_status st = redis_flush(shard);
    if (st == STASH_OK)
        st = read_line(shard, line, sizeof line);
    if (st != STASH_OK)
        return st;
    if (line[0] == '-')
        return redis_error_status(line + 1);
    *type = line[0];
    *n = strtoll(line + 1, &end, 10);
    if ((*type != '$' && *type != '*') || *end || end == line + 1 || *n < -1) {
        redis_disconnect(shard); /* not a reply to what was sent: start clean */
        return STASH_E_CORRUPT;
    }
    return STASH_OK;
}

/* A bulk reply's bytes, n of them and "\r\n", into dest (n bytes); NULL: dropped. */
static stash_status read_body(struct redis_shard *shard, void *dest, long long n)
{
    char crlf[2];
    stash_status st = dest ? read_exact(shard, dest, (size_t)n) : skip(shard, (unsigned long long)n);
    return st == STASH_OK ? read_exact(shard, crlf, 2) : st;
}

stash_status redis_read_bulk(struct redis_shard *shard, void *dest, size_t cap, size_t *len)
{
    char type;
    long long n;
    stash_status st = read_header(shard, &type, &n);
    if (st == STASH_OK && type != '$') {
        redis_disconnect(shard);
        st = STASH_E_CORRUPT;
    }
    if (st != STASH_OK)
        return st;
    if (n < 0)
        return STASH_E_NOT_FOUND;
    bool fits = (unsigned long long)n <= cap;
    st = read_body(shard, fits ? dest : NULL, n); /* one too long is read past */
    *len = (size_t)n;
    return st != STASH_OK ? st : fits ? STASH_OK : STASH_E_CORRUPT;
}

stash_status redis_read_array(struct redis_shard *shard, size_t count)
{
    char type;
    long long n;
    stash_status st = read_header(shard, &type, &n);
    if (st == STASH_OK && (type != '*' || n != (long long)count)) {
        redis_disconnect(shard);
        st = STASH_E_CORRUPT;
    }
    return st;
}
