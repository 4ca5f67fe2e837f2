/*
 * Value trees to and from JSON, through jansson (which does the parsing, the
 * escaping and the number syntax; this file only maps types).
 *
 * The tagged objects {"$bytes": ...}, {"$array": ...} and {"$float": ...}
 * carry what JSON lacks; see stash/value.h.
 */
#include "core/base64.h"
#include "value/value_internal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON -> value ----------------------------------------------------------- */

static stash_status from_json(json_t *j, unsigned depth, stash_value **out);

static stash_status bytes_from_base64(const char *text, size_t len, void **data, size_t *n)
{
    void *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return -ENOMEM;
    if (!base64_decode(text, len, buf, n)) {
        free(buf);
        return STASH_E_CORRUPT;
    }
    *data = buf;
    return STASH_OK;
}

static stash_status tagged_bytes(json_t *tag, stash_value **out)
{
    void *data;
    size_t n;
    stash_status st = bytes_from_base64(json_string_value(tag), json_string_length(tag), &data, &n);
    if (st == STASH_OK) {
        st = stash_value_new_bytes(data, n, out);
        free(data);
    }
    return st;
}

static stash_status tagged_float(json_t *tag, stash_value **out)
{
    const char *s = json_string_value(tag);
    if (strcmp(s, "nan") == 0)
        return stash_value_new_float(NAN, out);
    if (strcmp(s, "inf") == 0)
        return stash_value_new_float(INFINITY, out);
    if (strcmp(s, "-inf") == 0)
        return stash_value_new_float(-INFINITY, out);
    return STASH_E_CORRUPT;
}

static stash_status array_desc_from_json(json_t *tag, stash_array_desc *desc)
{
    json_t *descr = json_object_get(tag, "descr");
    json_t *fortran = json_object_get(tag, "fortran_order");
    json_t *shape = json_object_get(tag, "shape");
    if (!json_is_string(descr) || !json_is_boolean(fortran) || !json_is_array(shape) ||
        json_array_size(shape) > STASH_ARRAY_MAX_DIMS)
        return STASH_E_CORRUPT;
    stash_array_desc d;
    stash_array_desc_init(&d, STASH_DTYPE_UINT8, 0, NULL);
    stash_status st = stash_array_parse_descr(json_string_value(descr), json_string_length(descr),
                                              &d.dtype, &d.byte_order);
    if (st != STASH_OK)
        return st;
    d.order = json_is_true(fortran) ? STASH_ORDER_F : STASH_ORDER_C;
    d.ndim = (unsigned)json_array_size(shape);
    for (unsigned i = 0; i < d.ndim; i++) {
        json_t *extent = json_array_get(shape, i);
        if (!json_is_integer(extent) || json_integer_value(extent) < 0)
            return STASH_E_CORRUPT;
        d.shape[i] = (uint64_t)json_integer_value(extent);
    }
    *desc = d;
    return STASH_OK;
}

static stash_status tagged_array(json_t *tag, stash_value **out)
{
    json_t *data = json_object_get(tag, "data");
    stash_array_desc desc;
    uint64_t nbytes;
    stash_status st = json_is_object(tag) && json_is_string(data) && json_object_size(tag) == 4
                          ? array_desc_from_json(tag, &desc)
                          : STASH_E_CORRUPT;
    if (st == STASH_OK)
        st = stash_array_nbytes(&desc, &nbytes);
    if (st != STASH_OK)
        return st;
    void *bytes;
    size_t n;
    st = bytes_from_base64(json_string_value(data), json_string_length(data), &bytes, &n);
    if (st != STASH_OK)
        return st;
    st = n == nbytes ? stash_value_new_array(&desc, bytes, out) : STASH_E_TRUNCATED;
    free(bytes);
    return st;
}

/* {"$bytes": "..."} and friends: *out stays NULL when obj is a plain dict. */
static stash_status from_tagged(json_t *obj, stash_value **out)
{
    if (json_object_size(obj) != 1)
        return STASH_OK;
    json_t *tag;
    if ((tag = json_object_get(obj, "$bytes")) && json_is_string(tag))
        return tagged_bytes(tag, out);
    if ((tag = json_object_get(obj, "$float")) && json_is_string(tag))
        return tagged_float(tag, out);
    if ((tag = json_object_get(obj, "$array")) && json_is_object(tag))
        return tagged_array(tag, out);
    return STASH_OK;
}

static stash_status dict_from_json(json_t *obj, unsigned depth, stash_value **out)
{
    stash_value *dict = NULL;
    stash_status st = from_tagged(obj, &dict);
    if (st != STASH_OK || dict) {
        *out = dict;
        return st;
    }
    if ((st = stash_value_new_dict(&dict)) != STASH_OK)
        return st;
    for (void *it = json_object_iter(obj); it && st == STASH_OK;
         it = json_object_iter_next(obj, it)) {
        stash_value *item = NULL;
        st = from_json(json_object_iter_value(it), depth + 1, &item);
        if (st == STASH_OK)
            st = value_dict_adopt(dict, json_object_iter_key(it), json_object_iter_key_len(it),
                                  item);
        if (st != STASH_OK)
            stash_value_free(&item);
    }
    if (st != STASH_OK)
        stash_value_free(&dict);
    *out = dict;
    return st;
}

static stash_status list_from_json(json_t *array, unsigned depth, stash_value **out)
{
    stash_value *list;
    stash_status st = stash_value_new_list(&list);
    for (size_t i = 0; st == STASH_OK && i < json_array_size(array); i++) {
        stash_value *item = NULL;
        st = from_json(json_array_get(array, i), depth + 1, &item);
        if (st == STASH_OK && (st = value_adopt(list, item)) != STASH_OK)
            stash_value_free(&item);
    }
    if (st != STASH_OK)
        stash_value_free(&list);
    *out = list;
    return st;
}

/* depth counts the containers above j; recursion stops at the tree's limit. */
static stash_status from_json(json_t *j, unsigned depth, stash_value **out)
{
    if ((json_is_object(j) || json_is_array(j)) && depth >= STASH_VALUE_MAX_DEPTH)
        return STASH_E_LIMIT;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return dict_from_json(j, depth, out);
    case JSON_ARRAY:
        return list_from_json(j, depth, out);
    case JSON_STRING:
        /* jansson has checked the UTF-8 already. */
        return value_new_string_unchecked(json_string_value(j), json_string_length(j), out);
    case JSON_INTEGER:
        return stash_value_new_int(json_integer_value(j), out);
    case JSON_REAL:
        return stash_value_new_float(json_real_value(j), out);
    case JSON_TRUE:
        return stash_value_new_bool(true, out);
    case JSON_FALSE:
        return stash_value_new_bool(false, out);
    case JSON_NULL:
        return stash_value_new_null(out);
    }
    return STASH_E_CORRUPT;
}

static void report(stash_json_error *err, const json_error_t *je, const char *message)
{
    if (!err)
        return;
    err->line = je && je->line > 0 ? (size_t)je->line : 0;
    err->column = je && je->column > 0 ? (size_t)je->column : 0;
    err->position = je && je->position > 0 ? (size_t)je->position : 0;
    snprintf(err->message, sizeof err->message, "%s", message);
}

stash_status stash_value_from_json(const char *text, size_t len, stash_value **out,
                                   stash_json_error *err)
{
    if (!out || (!text && len))
        return STASH_E_INVALID;
    json_error_t je;
    json_t *root = json_loadb(text ? text : "", len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!root) {
        report(err, &je, je.text);
        return json_error_code(&je) == json_error_numeric_overflow ? STASH_E_RANGE
                                                                    : STASH_E_CORRUPT;
    }
    stash_value *v = NULL;
    stash_status st = from_json(root, 0, &v);
    json_decref(root);
    if (st == STASH_OK)
        *out = v;
    else
        report(err, NULL, st == STASH_E_LIMIT ? "nested deeper than stash's value limit"
                                              : stash_strerror(st));
    return st;
}

/* ---- value -> JSON ----------------------------------------------------------- */

static json_t *to_json(const stash_value *v);

/* A JSON string of the base64 of data (jansson copies it). */
static json_t *base64_json(const void *data, size_t len)
{
    size_t n = base64_encoded_length(len);
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    base64_encode(data, len, text);
    json_t *s = json_stringn(text, n);
    free(text);
    return s;
}

static json_t *tag(const char *name, json_t *value)
{
    json_t *obj = value ? json_object() : NULL;
    if (obj && json_object_set_new(obj, name, value) == 0)
        return obj;
    json_decref(obj);
    return NULL;
}

static json_t *float_json(double f)
{
    if (isfinite(f))
        return json_real(f);
    return tag("$float", json_string(isnan(f) ? "nan" : f > 0 ? "inf" : "-inf"));
}

static json_t *array_json(const stash_value *v)
{
    const stash_array_desc *d = v->u.array.desc;
    char descr[STASH_DESCR_MAX];
    json_t *shape = json_array();
    for (unsigned i = 0; shape && i < d->ndim; i++)
        if (json_array_append_new(shape, json_integer((json_int_t)d->shape[i])) != 0) {
            json_decref(shape);
            shape = NULL;
        }
    json_t *body = shape && stash_array_descr(d, descr) == STASH_OK
                       ? json_pack("{s:s, s:b, s:o, s:o?}", "descr", descr, "fortran_order",
                                   d->order == STASH_ORDER_F, "shape", shape, "data",
                                   base64_json(v->u.array.data, v->u.array.nbytes))
                       : NULL;
    if (!body || !json_object_get(body, "data")) {
        json_decref(body);
        return NULL;
    }
    return tag("$array", body);
}

static json_t *container_json(const stash_value *v)
{
    bool dict = v->kind == STASH_VALUE_DICT;
    json_t *j = dict ? json_object() : json_array();
    for (size_t i = 0; j && i < stash_value_length(v); i++) {
        json_t *item = to_json(stash_value_item(v, i));
        int failed = !item;
        if (!failed && dict)
            failed = json_object_setn_new(j, v->u.dict.entries[i].key,
                                          v->u.dict.entries[i].key_len, item);
        else if (!failed)
            failed = json_array_append_new(j, item);
        if (failed) {
            json_decref(j);
            j = NULL;
        }
    }
    return j;
}

static json_t *to_json(const stash_value *v)
{
    switch (v->kind) {
    case STASH_VALUE_NULL:
        return json_null();
    case STASH_VALUE_BOOL:
        return json_boolean(v->u.b);
    case STASH_VALUE_INT:
        return json_integer(v->u.i);
    case STASH_VALUE_FLOAT:
        return float_json(v->u.f);
    case STASH_VALUE_STRING:
        return json_stringn_nocheck(v->u.blob.data, v->u.blob.len);
    case STASH_VALUE_BYTES:
        return tag("$bytes", base64_json(v->u.blob.data, v->u.blob.len));
    case STASH_VALUE_ARRAY:
        return array_json(v);
    case STASH_VALUE_LIST:
    case STASH_VALUE_TUPLE:
    case STASH_VALUE_DICT:
        return container_json(v);
    }
    return NULL;
}

/* The fewest significant digits that give f back exactly. */
static int digits_for(double f)
{
    char buf[32];
    for (int p = 15; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, f);
        if (strtod(buf, NULL) == f)
            return p;
    }
    return 17;
}

/* jansson takes one precision per document: the most any float needs. */
static int precision_for(const stash_value *v)
{
    if (v->kind == STASH_VALUE_FLOAT)
        return isfinite(v->u.f) ? digits_for(v->u.f) : 1;
    int p = 1;
    for (size_t i = 0; p < 17 && i < stash_value_length(v); i++) {
        int q = precision_for(stash_value_item(v, i));
        p = q > p ? q : p;
    }
    return p;
}

stash_status stash_value_to_json(const stash_value *v, unsigned flags, char **text, size_t *len)
{
    if (!v || !text)
        return STASH_E_INVALID;
    json_t *j = to_json(v);
    if (!j)
        return -ENOMEM;
    size_t dump_flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision_for(v));
    if (flags & STASH_JSON_INDENT)
        dump_flags |= JSON_INDENT(2);
    char *s = json_dumps(j, dump_flags);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    *text = s;
    if (len)
        *len = strlen(s);
    return STASH_OK;
}
