/*
 * The store interop test's view of the result store, for what stash's own
 * CLI cannot say in JSON (tuples) or do (memoise):
 *   store_tool put URI KEY FILE.json          puts the value FILE.json holds
 *   store_tool get URI KEY                    prints the value as JSON
 *   store_tool memo URI INPUTS.json META.json|- RESULT.json
 *                                             memoises RESULT for (INPUTS, META)
 *                                             and prints {"key", "hit", "stored", "result"}
 * JSON is stash's mapping (stash/value.h) plus {"$tuple": [...]} for a
 * tuple, both ways, so Python can tell tuples from lists.
 * Exit 0 on success, 2 on a refused operation ("refused CODE MESSAGE" on stdout).
 */
#include <stash/store.h>
#include <stash/value.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurp.h"

#define TUPLE_TAG "$tuple"

static stash_status retag(const stash_value *v, bool to_tuples, stash_value **out);

/* A container's items, each retagged, appended to (or set in) a new container. */
static stash_status retag_items(const stash_value *v, bool to_tuples, stash_value *into)
{
    bool dict = stash_value_kind_of(into) == STASH_VALUE_DICT;
    stash_status st = STASH_OK;
    for (size_t i = 0; i < stash_value_length(v) && st == STASH_OK; i++) {
        stash_value *item = NULL;
        st = retag(stash_value_item(v, i), to_tuples, &item);
        const char *key = NULL;
        if (st == STASH_OK && dict)
            st = stash_value_dict_key(v, i, &key, NULL);
        if (st == STASH_OK)
            st = dict ? stash_value_dict_set(into, key, item) : stash_value_append(into, item);
        if (st != STASH_OK)
            stash_value_free(&item);
    }
    return st;
}

/* {"$tuple": [...]}: one key, holding a list. */
static bool is_tuple_tag(const stash_value *v)
{
    const char *key;
    return stash_value_kind_of(v) == STASH_VALUE_DICT && stash_value_length(v) == 1 &&
           stash_value_dict_key(v, 0, &key, NULL) == STASH_OK && strcmp(key, TUPLE_TAG) == 0 &&
           stash_value_kind_of(stash_value_item(v, 0)) == STASH_VALUE_LIST;
}

static stash_status retag_container(const stash_value *v, bool to_tuples, stash_value **out)
{
    stash_value_kind kind = stash_value_kind_of(v);
    if (to_tuples && is_tuple_tag(v)) {
        stash_status st = stash_value_new_tuple(out);
        return st == STASH_OK ? retag_items(stash_value_item(v, 0), true, *out) : st;
    }
    if (!to_tuples && kind == STASH_VALUE_TUPLE) {
        stash_value *items = NULL;
        stash_status st = stash_value_new_list(&items);
        if (st == STASH_OK)
            st = retag_items(v, false, items);
        if (st == STASH_OK)
            st = stash_value_new_dict(out);
        if (st == STASH_OK && (st = stash_value_dict_set(*out, TUPLE_TAG, items)) == STASH_OK)
            items = NULL;
        stash_value_free(&items);
        return st;
    }
    stash_status st = kind == STASH_VALUE_DICT   ? stash_value_new_dict(out)
                      : kind == STASH_VALUE_LIST ? stash_value_new_list(out)
                                                 : stash_value_new_tuple(out);
    return st == STASH_OK ? retag_items(v, to_tuples, *out) : st;
}

/* A copy of a scalar, bytes or array value. */
static stash_status copy_leaf(const stash_value *v, stash_value **out)
{
    bool b = false;
    int64_t i = 0;
    double f = 0;
    const char *s = NULL;
    const void *data = NULL;
    size_t len = 0;
    const stash_array_desc *desc = NULL;
    switch (stash_value_kind_of(v)) {
    case STASH_VALUE_NULL: return stash_value_new_null(out);
    case STASH_VALUE_BOOL: stash_value_get_bool(v, &b); return stash_value_new_bool(b, out);
    case STASH_VALUE_INT: stash_value_get_int(v, &i); return stash_value_new_int(i, out);
    case STASH_VALUE_FLOAT: stash_value_get_float(v, &f); return stash_value_new_float(f, out);
    case STASH_VALUE_STRING:
        stash_value_get_string(v, &s, &len);
        return stash_value_new_string(s, len, out);
    case STASH_VALUE_BYTES:
        stash_value_get_bytes(v, &data, &len);
        return stash_value_new_bytes(data, len, out);
    default:
        if (stash_value_get_array(v, &desc, &data) != STASH_OK)
            return STASH_E_INVALID;
        return stash_value_new_array(desc, data, out);
    }
}

/* A copy of v with tuples tagged (to_tuples: untagged) into *out, or NULL on failure. */
static stash_status retag(const stash_value *v, bool to_tuples, stash_value **out)
{
    *out = NULL;
    stash_value_kind kind = stash_value_kind_of(v);
    bool container =
        kind == STASH_VALUE_LIST || kind == STASH_VALUE_TUPLE || kind == STASH_VALUE_DICT;
    stash_status st = container ? retag_container(v, to_tuples, out) : copy_leaf(v, out);
    if (st != STASH_OK)
        stash_value_free(out);
    return st;
}

/* FILE.json's value with its tuples made, or NULL (after printing why). */
static stash_value *load(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    stash_value *tagged = NULL, *v = NULL;
    stash_status st = text ? stash_value_from_json(text, len, &tagged, NULL) : STASH_E_INVALID;
    free(text);
    if (st == STASH_OK)
        st = retag(tagged, true, &v);
    stash_value_free(&tagged);
    if (st != STASH_OK)
        printf("refused %d %s: %s\n", st, path, stash_strerror(st));
    return v;
}

/* v as JSON with tuples tagged, into a new string. */
static char *to_json(const stash_value *v)
{
    stash_value *tagged = NULL;
    char *text = NULL;
    if (retag(v, false, &tagged) != STASH_OK ||
        stash_value_to_json(tagged, 0, &text, NULL) != STASH_OK)
        text = NULL;
    stash_value_free(&tagged);
    return text;
}

static int refused(stash_status st)
{
    printf("refused %d %s\n", st, stash_strerror(st));
    return 2;
}

static int put(stash_store *store, const char *key, const char *path)
{
    stash_value *v = load(path);
    if (!v)
        return 2;
    stash_status st = stash_store_put(store, key, v);
    stash_value_free(&v);
    return st == STASH_OK ? 0 : refused(st);
}

static int get(stash_store *store, const char *key)
{
    stash_value *v = NULL;
    stash_status st = stash_store_get(store, key, &v);
    if (st != STASH_OK)
        return refused(st);
    char *text = to_json(v);
    stash_value_free(&v);
    if (!text)
        return 1;
    puts(text);
    free(text);
    return 0;
}

/* memoise's compute: a copy of the result the command line named. */
static stash_status copy_result(void *ctx, const stash_value *inputs, const stash_value *meta,
                                stash_value **result)
{
    (void)inputs, (void)meta;
    return retag(ctx, true, result);
}

static int memo(stash_store *store, const char *inputs_path, const char *meta_path,
                const char *result_path)
{
    stash_value *inputs = load(inputs_path), *result = load(result_path), *got = NULL;
    stash_value *meta = strcmp(meta_path, "-") != 0 ? load(meta_path) : NULL;
    stash_store_memo m;
    stash_status st = inputs && result && (meta || strcmp(meta_path, "-") == 0)
                          ? stash_store_memoise(store, inputs, meta, copy_result, result, &got, &m)
                          : STASH_E_INVALID;
    char *text = st == STASH_OK ? to_json(got) : NULL;
    if (text)
        printf("{\"key\": \"%s\", \"hit\": %s, \"stored\": %s, \"result\": %s}\n", m.key.text,
               m.hit ? "true" : "false", m.stored ? "true" : "false", text);
    int rc = st != STASH_OK ? refused(st) : text ? 0 : 1;
    free(text);
    stash_value_free(&inputs);
    stash_value_free(&result);
    stash_value_free(&meta);
    stash_value_free(&got);
    return rc;
}

int main(int argc, char **argv)
{
    const char *verb = argc > 2 ? argv[1] : "";
    bool reads = strcmp(verb, "get") == 0 && argc == 4;
    bool writes =
        (strcmp(verb, "put") == 0 && argc == 5) || (strcmp(verb, "memo") == 0 && argc == 6);
    if (!reads && !writes) {
        fprintf(stderr, "usage: store_tool put URI KEY FILE.json | get URI KEY |"
                        " memo URI INPUTS.json META.json|- RESULT.json\n");
        return 64;
    }
    stash_store_options options = {.flags = reads ? STASH_STORE_READ_ONLY : 0};
    stash_store *store = NULL;
    stash_status st = stash_store_open(argv[2], &options, &store);
    if (st != STASH_OK)
        return refused(st);
    int rc = reads                        ? get(store, argv[3])
             : strcmp(verb, "put") == 0   ? put(store, argv[3], argv[4])
                                          : memo(store, argv[3], argv[4], argv[5]);
    stash_store_close(&store);
    return rc;
}
