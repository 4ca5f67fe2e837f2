/*
 * redis: URIs (docs/store.md, "redis: URIs"):
 *
 *   redis://[user[:password]@]host[:port][,host[:port]...][/db][?params]
 *   redis+unix:///path/to/socket[?params]
 *
 * params: prefix=P, timeout_ms=T, max_entry_bytes=N, db=N. User and
 * password are percent-decoded; a password may instead come from
 * STASH_REDIS_PASSWORD, which keeps it out of process listings. Anything
 * else, or a value out of range, is STASH_E_INVALID: a mistyped parameter
 * must not be ignored.
 */
#include "store/store_redis.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A new string of [text, text + n) with %XX decoded; NULL (and *st) on a bad
 * escape, a NUL or no memory. */
static char *decode(const char *text, size_t n, stash_status *st)
{
    char *out = malloc(n + 1);
    size_t len = 0;
    if (!out) {
        *st = -ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(text[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
            c = lo >= 0 ? hi << 4 | lo : -1;
            i += 2;
        }
        if (c <= 0) {
            free(out);
            *st = STASH_E_INVALID;
            return NULL;
        }
        out[len++] = (char)c;
    }
    out[len] = '\0';
    return out;
}

/* A decimal number in [min, max] from [text, text + n). */
static bool parse_number(const char *text, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static stash_status add_shard(struct redis_config *c, char *host, int port, char *socket)
{
    struct redis_shard *more = realloc(c->shards, (c->shard_count + 1) * sizeof *more);
    if (!more) {
        free(host);
        free(socket);
        return -ENOMEM;
    }
    c->shards = more;
    struct redis_shard *s = &c->shards[c->shard_count++];
    memset(s, 0, sizeof *s);
    s->host = host;
    s->port = port;
    s->socket = socket;
    /* The address names the shard: the same list in another order, or on
     * another machine, puts each key on the same server. */
    char address[320];
    int len = socket ? snprintf(address, sizeof address, "unix:%s", socket)
                     : snprintf(address, sizeof address, "%s:%d", host, port);
    s->seed = XXH3_64bits(address, len > 0 ? (size_t)len : 0);
    return STASH_OK;
}

/* "host[:port]" or "[v6]:port", n bytes. */
static stash_status parse_host(struct redis_config *c, const char *text, size_t n)
{
    const char *end = text + n, *colon = NULL;
    const char *host = text, *host_end;
    if (n && text[0] == '[') {
        const char *close = memchr(text, ']', n);
        if (!close || (close + 1 < end && close[1] != ':'))
            return STASH_E_INVALID;
        host = text + 1;
        host_end = close;
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(text, ':', n);
        host_end = colon ? colon : end;
    }
    uint64_t port = REDIS_DEFAULT_PORT;
    if (host_end == host || (colon && !parse_number(colon + 1, (size_t)(end - colon - 1), 1,
                                                    65535, &port)))
        return STASH_E_INVALID;
    stash_status st = STASH_OK;
    char *name = decode(host, (size_t)(host_end - host), &st);
    return name ? add_shard(c, name, (int)port, NULL) : st;
}

static stash_status parse_param(struct redis_config *c, const char *text, size_t n)
{
    const char *eq = memchr(text, '=', n);
    if (!eq)
        return STASH_E_INVALID;
    size_t name_len = (size_t)(eq - text), value_len = n - name_len - 1;
    const char *value = eq + 1;
    uint64_t number;
#define IS(name) (name_len == sizeof name - 1 && memcmp(text, name, name_len) == 0)
    if (IS("prefix")) {
        stash_status st = STASH_OK;
        char *prefix = decode(value, value_len, &st);
        if (!prefix)
            return st;
        /* Braces would move the hash tag that keeps an entry and its temporary together. */
        if (strpbrk(prefix, "{}") || strlen(prefix) > REDIS_PREFIX_MAX) {
            free(prefix);
            return STASH_E_INVALID;
        }
        free(c->prefix);
        c->prefix = prefix;
    } else if (IS("timeout_ms")) {
        if (!parse_number(value, value_len, 1, 3600000, &number))
            return STASH_E_INVALID;
        c->timeout_ms = (unsigned)number;
    } else if (IS("max_entry_bytes")) {
        if (!parse_number(value, value_len, 0, UINT64_MAX, &number))
            return STASH_E_INVALID;
        c->max_entry_bytes = number;
        c->max_entry_bytes_given = true;
    } else if (IS("db")) {
        if (!parse_number(value, value_len, 0, INT_MAX, &number))
            return STASH_E_INVALID;
        c->db = (unsigned)number;
    } else {
        return STASH_E_INVALID;
    }
#undef IS
    return STASH_OK;
}

static stash_status parse_query(struct redis_config *c, const char *query)
{
    stash_status st = STASH_OK;
    while (st == STASH_OK && query && *query) {
        const char *amp = strchr(query, '&');
        size_t n = amp ? (size_t)(amp - query) : strlen(query);
        st = parse_param(c, query, n);
        query = amp ? amp + 1 : NULL;
    }
    return st;
}

static stash_status parse_userinfo(struct redis_config *c, const char *text, size_t n)
{
    const char *colon = memchr(text, ':', n);
    size_t user_len = colon ? (size_t)(colon - text) : n;
    stash_status st = STASH_OK;
    if (user_len && !(c->user = decode(text, user_len, &st)))
        return st;
    if (colon && !(c->password = decode(colon + 1, n - user_len - 1, &st)))
        return st;
    return STASH_OK;
}

/* host list, "/db" and userinfo of a redis:// URI, up to the query. */
static stash_status parse_network(struct redis_config *c, const char *text, size_t n)
{
    const char *end = text + n;
    const char *slash = memchr(text, '/', n);
    const char *authority_end = slash ? slash : end;
    const char *at = NULL;
    for (const char *p = text; p < authority_end; p++)
        if (*p == '@')
            at = p; /* the last '@': a password may hold one encoded, never bare */
    stash_status st = STASH_OK;
    if (at)
        st = parse_userinfo(c, text, (size_t)(at - text));
    const char *hosts = at ? at + 1 : text;
    while (st == STASH_OK) {
        const char *comma = memchr(hosts, ',', (size_t)(authority_end - hosts));
        const char *host_end = comma ? comma : authority_end;
        st = parse_host(c, hosts, (size_t)(host_end - hosts));
        if (!comma)
            break;
        hosts = comma + 1;
    }
    uint64_t db;
    if (st == STASH_OK && slash && slash + 1 < end) {
        if (!parse_number(slash + 1, (size_t)(end - slash - 1), 0, INT_MAX, &db))
            return STASH_E_INVALID;
        c->db = (unsigned)db;
    }
    return st;
}

static stash_status parse(const char *rest, bool unix_socket, struct redis_config *c)
{
    const char *query = strchr(rest, '?');
    size_t n = query ? (size_t)(query - rest) : strlen(rest);
    stash_status st;
    if (unix_socket) {
        /* An empty authority, then an absolute path: redis+unix:///run/redis.sock. */
        if (n < 2 || rest[0] != '/')
            return STASH_E_INVALID;
        char *path = decode(rest, n, &st);
        st = path ? add_shard(c, NULL, 0, path) : st;
    } else {
        st = parse_network(c, rest, n);
    }
    if (st == STASH_OK)
        st = parse_query(c, query ? query + 1 : NULL);
    return st;
}

stash_status redis_config_parse(const char *rest, bool unix_socket, struct redis_config *c)
{
    memset(c, 0, sizeof *c);
    c->timeout_ms = REDIS_DEFAULT_TIMEOUT_MS;
    c->prefix = strdup(REDIS_DEFAULT_PREFIX);
    stash_status st = c->prefix ? parse(rest, unix_socket, c) : -ENOMEM;
    const char *env = getenv(REDIS_PASSWORD_ENV);
    if (st == STASH_OK && !c->password && env && *env && !(c->password = strdup(env)))
        st = -ENOMEM;
    if (st != STASH_OK)
        redis_config_free(c);
    return st;
}

void redis_config_free(struct redis_config *c)
{
    for (size_t i = 0; i < c->shard_count; i++) {
        redis_disconnect(&c->shards[i]);
        free(c->shards[i].host);
        free(c->shards[i].socket);
    }
    free(c->shards);
    free(c->user);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->prefix);
    memset(c, 0, sizeof *c);
}
