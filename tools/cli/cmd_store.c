/*
 * stash store put | get | ls | rm | gc | hash: the result store from the shell.
 */
#include "commands.h"
#include "json_out.h"
#include "describe.h"
#include "input.h"
#include "options.h"
#include "save.h"
#include "core/sysio.h"

#include <stash/hash.h>
#include <stash/npy.h>
#include <stash/store.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "stash store"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int fail(const char *what, stash_status status)
{
    fprintf(stderr, WHO ": %s: %s\n", what, stash_strerror(status));
    return 1;
}

/* A key the store would refuse, with the rule it breaks: 1 after saying so. */
static int bad_key(const char *key)
{
    const char *rule = stash_store_key_rule(key);
    if (rule)
        fprintf(stderr, WHO ": key '%s' is refused: %s\n", key, rule);
    return rule != NULL;
}

/* Whether in holds JSON: FILE.json, or for "-" anything but an NPY file. */
static bool holds_json(const struct input *in)
{
    if (strcmp(in->name, "-") != 0)
        return ends_with(in->name, ".json");
    unsigned char magic[6];
    size_t got = 0;
    sysio_pread_full(in->copy_fd, magic, sizeof magic, 0, &got);
    return got < sizeof magic || memcmp(magic, "\x93NUMPY", sizeof magic) != 0;
}

/* The JSON text of in (at most INPUT_JSON_MAX_BYTES) as a value. */
static stash_status json_from_input(const struct input *in, stash_value **value)
{
    char *text = NULL;
    size_t len = 0;
    stash_status status = in->copy_fd >= 0
                              ? sysio_read_all(in->copy_fd, INPUT_JSON_MAX_BYTES, &text, &len)
                              : input_read_all(in->name, INPUT_JSON_MAX_BYTES, &text, &len);
    if (status != STASH_OK) {
        input_complain(WHO, in->name, status, INPUT_JSON_MAX_BYTES);
        return status;
    }
    char who[4200];
    snprintf(who, sizeof who, WHO ": %s", in->name);
    status = json_value(who, text, len, value);
    free(text);
    return status;
}

/* Read, not mapped: the value is a copy anyway, and a file cut meanwhile is
 * then a status, not SIGBUS. */
static stash_status array_from_input(const struct input *in, stash_value **value)
{
    stash_array_desc desc;
    void *data = NULL;
    stash_status status = stash_npy_load(in->use, &desc, &data);
    if (status == STASH_OK)
        status = stash_value_new_array(&desc, data, value);
    free(data);
    if (status != STASH_OK)
        npy_complain(WHO, in, status);
    return status;
}

/* FILE.npy as an array value, FILE.json as whatever it holds ("-" as
 * either); a failure is one line on stderr. */
static stash_status value_from_file(const char *path, stash_value **value)
{
    struct input in;
    stash_status status = input_open(path, &in);
    if (status != STASH_OK) {
        input_complain(WHO, path, status, INPUT_STDIN_MAX_BYTES);
        return status;
    }
    status = holds_json(&in) ? json_from_input(&in, value) : array_from_input(&in, value);
    input_close(&in);
    return status;
}

/* FILE.json gets JSON, any other file NPY; "-" gets an array as NPY and any
 * other value as JSON. */
static stash_status value_to_file(const char *path, const stash_value *value)
{
    const stash_array_desc *desc;
    const void *data;
    bool is_array = stash_value_get_array(value, &desc, &data) == STASH_OK;
    if (ends_with(path, ".json") || (strcmp(path, "-") == 0 && !is_array)) {
        char *text = NULL;
        stash_status status = stash_value_to_json(value, STASH_JSON_INDENT, &text, NULL);
        if (status == STASH_OK)
            status = save_text(path, text);
        free(text);
        return status;
    }
    if (!is_array)
        return STASH_E_UNSUPPORTED;
    return save_npy(path, desc, data);
}

static int put(stash_store *store, const char *key, const stash_value *value)
{
    stash_status status = stash_store_put(store, key, value);
    return status == STASH_OK ? 0 : fail(key, status);
}

static int get(stash_store *store, const char *key, const char *out)
{
    if (bad_key(key))
        return 1;
    stash_value *value = NULL;
    stash_status status = stash_store_get(store, key, &value);
    if (status != STASH_OK)
        return fail(key, status);
    status = value_to_file(out, value);
    if (status == STASH_E_UNSUPPORTED)
        fprintf(stderr, WHO ": %s: the value is a %s, not an array: write it to a .json file\n",
                key, stash_value_kind_name(stash_value_kind_of(value)));
    stash_value_free(&value);
    return status == STASH_OK ? 0 : status == STASH_E_UNSUPPORTED ? 1 : fail(out, status);
}

/* ---- ls: entries collected, then printed sorted by key ---------------------------------- */

struct listing {
    struct listed {
        char *key;
        uint64_t bytes;
    } *items;
    size_t len, cap;
};

static stash_status collect(void *ctx, const char *key, uint64_t bytes)
{
    struct listing *l = ctx;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct listed *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->len].key = strdup(key)))
        return -ENOMEM;
    l->items[l->len++].bytes = bytes;
    return STASH_OK;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct listed *)a)->key, ((const struct listed *)b)->key);
}

static stash_status print_listing_json(const stash_store *store, const struct listing *l)
{
    stash_value *o = json_out_object(), *entries = json_out_list();
    stash_status st = STASH_OK;
    uint64_t total = 0;
    for (size_t i = 0; i < l->len; i++) {
        stash_value *entry = json_out_object();
        json_out_add(entry, "key", json_out_string(l->items[i].key), &st);
        json_out_add(entry, "bytes", json_out_uint(l->items[i].bytes), &st);
        json_out_add(entries, NULL, entry, &st);
        total += l->items[i].bytes;
    }
    json_out_add(o, "backend", json_out_string(stash_store_backend(store)), &st);
    json_out_add(o, "entries", entries, &st);
    json_out_add(o, "bytes", json_out_uint(total), &st);
    return json_out_print(&o, st);
}

static int ls(stash_store *store, bool json)
{
    struct listing l = {0};
    stash_status status = stash_store_list(store, collect, &l);
    if (status == STASH_OK && l.len) /* an empty store's list is NULL, which qsort may not get */
        qsort(l.items, l.len, sizeof *l.items, by_key);
    if (status == STASH_OK && json)
        status = print_listing_json(store, &l);
    for (size_t i = 0; status == STASH_OK && !json && i < l.len; i++)
        printf("%12llu  %s\n", (unsigned long long)l.items[i].bytes, l.items[i].key);
    for (size_t i = 0; i < l.len; i++)
        free(l.items[i].key);
    free(l.items);
    return status == STASH_OK ? 0 : fail("ls", status);
}

static stash_status print_gc_json(const stash_store_gc_stats *s)
{
    stash_value *o = json_out_object();
    stash_status st = STASH_OK;
    json_out_add(o, "entries", json_out_uint(s->entries), &st);
    json_out_add(o, "bytes", json_out_uint(s->bytes), &st);
    json_out_add(o, "evicted_entries", json_out_uint(s->evicted_entries), &st);
    json_out_add(o, "evicted_bytes", json_out_uint(s->evicted_bytes), &st);
    json_out_add(o, "swept_temps", json_out_uint(s->swept_temps), &st);
    return json_out_print(&o, st);
}

static int gc(stash_store *store, uint64_t max_bytes, bool json)
{
    stash_store_gc_stats s;
    stash_status status = stash_store_gc(store, max_bytes, &s);
    if (status == STASH_OK && json)
        status = print_gc_json(&s);
    if (status != STASH_OK)
        return fail("gc", status);
    if (json)
        return 0;
    printf("%llu entries, %llu bytes: evicted %llu entries (%llu bytes), least recently used "
           "first; swept %llu files of crashed writers\n",
           (unsigned long long)s.entries, (unsigned long long)s.bytes,
           (unsigned long long)s.evicted_entries, (unsigned long long)s.evicted_bytes,
           (unsigned long long)s.swept_temps);
    return 0;
}

static int hash(const char *in, const char *meta_arg, bool json)
{
    stash_value *array = NULL, *meta = NULL;
    if (meta_arg && json_argument(WHO " hash: --meta", meta_arg, &meta) != STASH_OK)
        return 1;
    if (value_from_file(in, &array) != STASH_OK) {
        stash_value_free(&meta);
        return 1;
    }
    stash_key key;
    stash_status status = stash_hash_inputs(array, meta, &key);
    stash_value_free(&array);
    stash_value_free(&meta);
    if (status == STASH_OK && json) {
        stash_value *o = json_out_object();
        json_out_add(o, "key", json_out_string(key.text), &status);
        status = json_out_print(&o, status);
    }
    if (status != STASH_OK)
        return fail(in, status);
    if (!json)
        puts(key.text);
    return 0;
}

/* "N", or N with a K, M, G or T suffix (powers of 1024). */
static bool parse_bytes(const char *text, uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-')
        return false;
    const char *units = "KMGT";
    const char *unit = *end ? strchr(units, *end) : NULL;
    if (*end && (!unit || end[1] != '\0'))
        return false;
    for (int shift = unit ? (int)(unit - units) + 1 : 0; shift > 0; shift--) {
        if (n > UINT64_MAX / 1024)
            return false;
        n *= 1024;
    }
    *bytes = n;
    return true;
}

enum { META, MAX_BYTES, JSON, OPTION_COUNT };


static const struct cli_option store_options[OPTION_COUNT] = {
    [META] = {"--meta", true},
    [MAX_BYTES] = {"--max-bytes", true},
    [JSON] = {"--json", false},
};

static const struct cli_verb verbs[] = {
    {"put", "URI KEY IN", 0},
    {"get", "URI KEY OUT", 0},
    {"ls", "URI", 1u << JSON},
    {"rm", "URI KEY", 0},
    {"gc", "URI", 1u << MAX_BYTES | 1u << JSON},
    {"hash", "IN", 1u << META | 1u << JSON},
    {"recover", "URI", 1u << JSON},
};

/* A URI stash_store_open refused as such: say which schemes there are. */
static int bad_uri(const char *uri)
{
    for (size_t i = 0; stash_store_scheme(i); i++) {
        const char *scheme = stash_store_scheme(i);
        if (strncmp(uri, scheme, strlen(scheme)) == 0) {
            fprintf(stderr, WHO ": %s: %s\n", uri,
                    strcmp(scheme, "none:") == 0      ? "none: names nothing: give it alone"
                    : strncmp(scheme, "redis", 5) == 0 ? "not a redis URI (docs/store.md, \"redis:\")"
                                                       : "the scheme needs a path after it");
            return 1;
        }
    }
    fprintf(stderr, WHO ": %s: not a store URI: the schemes are", uri);
    for (size_t i = 0; stash_store_scheme(i); i++)
        fprintf(stderr, "%s %s", i ? "," : "", stash_store_scheme(i));
    fputs(" (a bare path is dir:, but one with a ':' before any '/' needs dir: or ./)\n",
          stderr);
    return 1;
}

/* Rolls back what a killed writer left (hdf5:'s journal), before any other tool reads the file. */
static int recover(const char *uri, bool json)
{
    bool rolled_back = false;
    stash_status status = stash_store_recover(uri, &rolled_back);
    if (status == STASH_E_INVALID)
        return bad_uri(uri);
    if (status == STASH_OK && json) {
        stash_value *o = json_out_object();
        json_out_add(o, "rolled_back", json_out_bool(rolled_back), &status);
        status = json_out_print(&o, status);
    }
    if (status != STASH_OK)
        return fail(uri, status);
    if (!json)
        puts(rolled_back ? "rolled back the put a killed writer left unfinished"
                         : "nothing to recover");
    return 0;
}

/* The verbs that work on an open store. put reads its input first, so a
 * missing input creates no store. */
static int with_store(const char *verb, const struct cli_args *a, uint64_t max_bytes)
{
    bool writes = strcmp(verb, "put") == 0 || strcmp(verb, "rm") == 0 || strcmp(verb, "gc") == 0;
    stash_value *value = NULL;
    if ((strcmp(verb, "put") == 0 || strcmp(verb, "rm") == 0) && bad_key(a->arg[1]))
        return 1;
    if (strcmp(verb, "put") == 0 && value_from_file(a->arg[2], &value))
        return 1;
    /* The program only copies what it gets: it never maps an entry another program could cut. */
    stash_store_options options = {.flags = STASH_STORE_COPY};
    if (!writes)
        options.flags |= STASH_STORE_READ_ONLY;
    stash_store *store;
    stash_status status = stash_store_open(a->arg[0], &options, &store);
    if (status != STASH_OK) {
        stash_value_free(&value);
        return status == STASH_E_INVALID ? bad_uri(a->arg[0]) : fail(a->arg[0], status);
    }
    int rc;
    if (strcmp(verb, "put") == 0)
        rc = put(store, a->arg[1], value);
    else if (strcmp(verb, "get") == 0)
        rc = get(store, a->arg[1], a->arg[2]);
    else if (strcmp(verb, "rm") == 0)
        rc = (status = stash_store_delete(store, a->arg[1])) == STASH_OK
                 ? 0
                 : fail(a->arg[1], status);
    else if (strcmp(verb, "gc") == 0)
        rc = gc(store, max_bytes, a->value[JSON] != NULL);
    else
        rc = ls(store, a->value[JSON] != NULL);
    stash_value_free(&value);
    stash_store_close(&store);
    return rc;
}

static int run(int argc, char **argv)
{
    const struct cli_verb *verb =
        cli_find_verb(WHO, "store", verbs, sizeof verbs / sizeof verbs[0], argc > 1 ? argv[1] : "");
    if (!verb)
        return 2;
    char who[64];
    snprintf(who, sizeof who, WHO " %s", verb->name);
    struct cli_args a;
    if (cli_parse(who, "store", store_options, OPTION_COUNT, verb, argc, argv, 2, &a))
        return 2;
    if (strcmp(verb->name, "hash") == 0)
        return hash(a.arg[0], a.value[META], a.value[JSON] != NULL);
    if (strcmp(verb->name, "recover") == 0)
        return recover(a.arg[0], a.value[JSON] != NULL);
    uint64_t max_bytes = 0;
    /* A redis: server evicts by its own maxmemory: gc there only reports. */
    bool reports_only = strncmp(a.arg[0], "redis", 5) == 0;
    if (strcmp(verb->name, "gc") == 0 && !a.value[MAX_BYTES] && !reports_only)
        return cli_usage_error(who, "store", "--max-bytes N is missing");
    if (a.value[MAX_BYTES] && !parse_bytes(a.value[MAX_BYTES], &max_bytes))
        return cli_usage_error(who, "store",
                               "--max-bytes: '%s' is not a size (N, or N with K, M, G or T)",
                               a.value[MAX_BYTES]);
    return with_store(verb->name, &a, max_bytes);
}

const struct stash_command cmd_store = {
    .name = "store",
    .summary = "put, get, list and evict results in a store; content keys of arrays",
    .usage =
        "usage: stash store put URI KEY IN.npy|IN.json|-\n"
        "       stash store get URI KEY OUT.npy|OUT.json|-\n"
        "       stash store ls URI [--json]\n"
        "       stash store rm URI KEY\n"
        "       stash store gc URI --max-bytes N[K|M|G|T] [--json]\n"
        "       stash store hash IN.npy|- [--meta JSON|@FILE|@-] [--json]\n"
        "       stash store recover URI [--json]\n\n"
        "URI is dir:PATH (the default for a bare path), hdf5:PATH, pickle:PATH\n"
        "(corelay's PickleStorage file), redis://HOST[:PORT][/DB][?prefix=P&\n"
        "timeout_ms=T], redis+unix:///SOCKET or none:. Any other scheme (hdf:,\n"
        "DIR:, file:) is refused; a bare path with a ':' before any '/' needs dir:\n"
        "or ./ in front. A redis: password comes from STASH_REDIS_PASSWORD (or\n"
        "user:password@ in the URI).\n"
        "put stores an NPY file's array, or the value a JSON file holds, under\n"
        "KEY (\"a/b\" makes groups in hdf5:); get writes it back. ls lists the\n"
        "keys and their sizes. gc sweeps files of crashed writers and evicts the\n"
        "least recently used entries of a dir: store until it holds at most N\n"
        "bytes; in pickle: it rewrites the file with each key's last record, then\n"
        "drops the keys put longest ago until at most N bytes remain; of a redis:\n"
        "store it reports what the servers hold, and needs no --max-bytes (the\n"
        "server evicts by its maxmemory-policy). hash prints the content key memoise would store the array (and\n"
        "the metadata) under. recover rolls back the put a killed writer left\n"
        "unfinished in an hdf5: file, from the journal beside it (PATH.journal),\n"
        "as any writable open does: run it before h5py or another HDF5 tool\n"
        "opens a file whose writer crashed. --json prints one JSON object instead.\n\n"
        "- is standard input for put and hash (an NPY file, or else JSON) and\n"
        "standard output for get (an array as NPY, any other value as JSON). An\n"
        "input must be a regular file: a FIFO or device is refused at once, and\n"
        "JSON longer than 64 MiB is refused. An output that is a symlink has the\n"
        "file it names replaced (the link stays); a FIFO or device, /dev/stdout\n"
        "say, is written into, never replaced.\n\n"
        "example:\n"
        "  $ stash store put dir:cache weights weights.npy\n"
        "  $ stash store ls dir:cache\n"
        "           352  weights\n"
        "  $ stash store hash weights.npy --meta '{\"rate\": 1000}'\n"
        "  xxh3-128:6d0f8a1c2e4b3a597f1e0d2c3b4a5968\n",
    .run = run,
};
