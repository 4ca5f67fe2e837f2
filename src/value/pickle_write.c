/*
 * The pickle writer: the opcodes Python's own pickler chooses for plain
 * values (smallest integer and length forms, batched APPENDS and SETITEMS of
 * 1000), without memo or frames, which readers do not need.
 */
#include "value/pickle_internal.h"
#include "value/pickle_opcodes.h"
#include "value/value_internal.h"

#include <stash/bytes.h>
#include <stash/pickle.h>

#include <string.h>


#define BATCH 1000 /* items per APPENDS / SETITEMS, as Python's pickler */

struct pickler {
    stash_stream *s;
    int protocol;
    pickle_array_fn on_array; /* NULL: arrays are unsupported */
    void *array_ctx;
    int64_t arrays; /* persistent ids handed out */
};

static stash_status put_op(struct pickler *p, int op)
{
    uint8_t b = (uint8_t)op;
    return stash_stream_write(p->s, &b, 1);
}

static stash_status put_le(struct pickler *p, int op, uint64_t v, size_t bytes)
{
    uint8_t buf[9];
    buf[0] = (uint8_t)op;
    for (size_t i = 0; i < bytes; i++)
        buf[1 + i] = (uint8_t)(v >> (8 * i));
    return stash_stream_write(p->s, buf, 1 + bytes);
}

static stash_status put_int(struct pickler *p, int64_t i)
{
    if (i >= 0 && i <= 0xFF)
        return put_le(p, OP_BININT1, (uint64_t)i, 1);
    if (i >= 0 && i <= 0xFFFF)
        return put_le(p, OP_BININT2, (uint64_t)i, 2);
    if (i >= INT32_MIN && i <= INT32_MAX)
        return put_le(p, OP_BININT, (uint32_t)(int32_t)i, 4);
    /* LONG1: the fewest two's complement bytes that keep the sign. */
    uint8_t n = 8;
    while (n > 1) {
        int64_t shorter = (int64_t)((uint64_t)i << (64 - 8 * (n - 1))) >> (64 - 8 * (n - 1));
        if (shorter != i)
            break;
        n--;
    }
    stash_status st = put_le(p, OP_LONG1, n, 1);
    uint8_t bytes[8];
    for (int b = 0; b < n; b++)
        bytes[b] = (uint8_t)((uint64_t)i >> (8 * b));
    return st == STASH_OK ? stash_stream_write(p->s, bytes, n) : st;
}

static stash_status put_float(struct pickler *p, double f)
{
    uint8_t buf[9] = {OP_BINFLOAT};
    stash_bytes_store_f64be(buf + 1, f);
    return stash_stream_write(p->s, buf, sizeof buf);
}

/* A length-prefixed string or bytes in its shortest form. */
static stash_status put_blob(struct pickler *p, const stash_value *v)
{
    bool text = v->kind == STASH_VALUE_STRING;
    size_t n = v->u.blob.len;
    stash_status st;
    if (n <= 0xFF && (!text || p->protocol >= 4))
        st = put_le(p, text ? OP_SHORT_BINUNICODE : OP_SHORT_BINBYTES, n, 1);
    else if (n <= 0xFFFFFFFFu)
        st = put_le(p, text ? OP_BINUNICODE : OP_BINBYTES, n, 4);
    else if (p->protocol >= 4)
        st = put_le(p, text ? OP_BINUNICODE8 : OP_BINBYTES8, n, 8);
    else
        return STASH_E_LIMIT; /* protocol 3 cannot hold 4 GiB in one object */
    return st == STASH_OK ? stash_stream_write(p->s, v->u.blob.data, n) : st;
}

static stash_status put_value(struct pickler *p, const stash_value *v);

static stash_status put_key(struct pickler *p, const char *key, size_t len)
{
    bool short_form = p->protocol >= 4 && len <= 0xFF;
    stash_status st = put_le(p, short_form ? OP_SHORT_BINUNICODE : OP_BINUNICODE, len,
                             short_form ? 1 : 4);
    return st == STASH_OK ? stash_stream_write(p->s, key, len) : st;
}

/* Items [from, to) of a list or tuple, or entries of a dict as key, value. */
static stash_status put_items(struct pickler *p, const stash_value *v, size_t from, size_t to)
{
    stash_status st = STASH_OK;
    for (size_t i = from; i < to && st == STASH_OK; i++) {
        if (v->kind == STASH_VALUE_DICT) {
            const struct value_entry *e = &v->u.dict.entries[i];
            st = put_key(p, e->key, e->key_len);
            if (st == STASH_OK)
                st = put_value(p, e->value);
        } else {
            st = put_value(p, v->u.seq.items[i]);
        }
    }
    return st;
}

static stash_status put_tuple(struct pickler *p, const stash_value *v)
{
    size_t n = v->u.seq.len;
    if (n == 0)
        return put_op(p, OP_EMPTY_TUPLE);
    stash_status st = n > 3 ? put_op(p, OP_MARK) : STASH_OK;
    if (st == STASH_OK)
        st = put_items(p, v, 0, n);
    if (st == STASH_OK)
        st = put_op(p, n > 3 ? OP_TUPLE : OP_TUPLE1 + (int)n - 1);
    return st;
}

/* Lists and dicts: the empty container, then batches of MARK items APPENDS. */
static stash_status put_batched(struct pickler *p, const stash_value *v)
{
    bool dict = v->kind == STASH_VALUE_DICT;
    size_t n = stash_value_length(v);
    stash_status st = put_op(p, dict ? OP_EMPTY_DICT : OP_EMPTY_LIST);
    for (size_t from = 0; from < n && st == STASH_OK; from += BATCH) {
        size_t to = n - from > BATCH ? from + BATCH : n;
        bool single = to - from == 1;
        if (!single)
            st = put_op(p, OP_MARK);
        if (st == STASH_OK)
            st = put_items(p, v, from, to);
        if (st == STASH_OK)
            st = put_op(p, dict ? (single ? OP_SETITEM : OP_SETITEMS)
                                : (single ? OP_APPEND : OP_APPENDS));
    }
    return st;
}

/* ---- Arrays, as NumPy writes them ---------------------------------------------------- */

static stash_status put_text(struct pickler *p, const char *text)
{
    size_t n = strlen(text);
    bool short_form = p->protocol >= 4 && n <= 0xFF;
    stash_status st = put_le(p, short_form ? OP_SHORT_BINUNICODE : OP_BINUNICODE, n,
                             short_form ? 1 : 4);
    return st == STASH_OK ? stash_stream_write(p->s, text, n) : st;
}

/* module.name: GLOBAL's text line before protocol 4, STACK_GLOBAL's two strings after. */
static stash_status put_global(struct pickler *p, const char *module, const char *name)
{
    if (p->protocol < 4) {
        stash_status st = put_op(p, OP_GLOBAL);
        const char nl = '\n';
        for (int i = 0; i < 2 && st == STASH_OK; i++) {
            const char *part = i ? name : module;
            st = stash_stream_write(p->s, part, strlen(part));
            if (st == STASH_OK)
                st = stash_stream_write(p->s, &nl, 1);
        }
        return st;
    }
    stash_status st = put_text(p, module);
    if (st == STASH_OK)
        st = put_text(p, name);
    return st == STASH_OK ? put_op(p, OP_STACK_GLOBAL) : st;
}

/* The ops in order, stopping at the first failure (0 ends the list). */
static stash_status put_ops(struct pickler *p, const int *ops)
{
    stash_status st = STASH_OK;
    for (; *ops && st == STASH_OK; ops++)
        st = put_op(p, *ops);
    return st;
}

/* dtype("f8", False, True) with the state (3, "<", None, None, None, -1, -1, 0). */
static stash_status put_dtype(struct pickler *p, const stash_array_desc *desc)
{
    char descr[STASH_DESCR_MAX];
    stash_status st = stash_array_descr(desc, descr);
    if (st == STASH_OK)
        st = put_global(p, "numpy", "dtype");
    if (st == STASH_OK)
        st = put_text(p, descr + 1); /* the code without its byte order: "f8" */
    if (st == STASH_OK)
        st = put_ops(p, (const int[]){OP_NEWFALSE, OP_NEWTRUE, OP_TUPLE3, OP_REDUCE, OP_MARK, 0});
    if (st == STASH_OK)
        st = put_int(p, 3);
    if (st == STASH_OK)
        st = put_text(p, (char[]){descr[0], '\0'});
    if (st == STASH_OK)
        st = put_ops(p, (const int[]){OP_NONE, OP_NONE, OP_NONE, 0});
    if (st == STASH_OK)
        st = put_int(p, -1);
    if (st == STASH_OK)
        st = put_int(p, -1);
    if (st == STASH_OK)
        st = put_int(p, 0);
    return st == STASH_OK ? put_ops(p, (const int[]){OP_TUPLE, OP_BUILD, 0}) : st;
}

static stash_status put_shape(struct pickler *p, const stash_array_desc *desc)
{
    unsigned n = desc->ndim;
    stash_status st = n == 0 ? put_op(p, OP_EMPTY_TUPLE) : n > 3 ? put_op(p, OP_MARK) : STASH_OK;
    for (unsigned i = 0; i < n && st == STASH_OK; i++)
        st = put_int(p, (int64_t)desc->shape[i]);
    if (st == STASH_OK && n > 0)
        st = put_op(p, n > 3 ? OP_TUPLE : OP_TUPLE1 + (int)n - 1);
    return st;
}

/* The raw bytes: BYTEARRAY8 for _frombuffer, else the shortest bytes form. */
static stash_status put_raw(struct pickler *p, const void *data, size_t n, bool bytearray)
{
    stash_status st;
    if (bytearray)
        st = put_le(p, OP_BYTEARRAY8, n, 8);
    else if (n <= 0xFF)
        st = put_le(p, OP_SHORT_BINBYTES, n, 1);
    else if (n <= 0xFFFFFFFFu)
        st = put_le(p, OP_BINBYTES, n, 4);
    else if (p->protocol >= 4)
        st = put_le(p, OP_BINBYTES8, n, 8);
    else
        return STASH_E_LIMIT;
    return st == STASH_OK && n ? stash_stream_write(p->s, data, n) : st;
}

/*
 * Protocol 5: _frombuffer(bytearray, dtype, shape, order), as NumPy's
 * __reduce_ex__(5) writes contiguous arrays. Before: _reconstruct(ndarray,
 * (0,), b"b") with the state (1, shape, dtype, is_fortran, bytes), as
 * __reduce__ writes them. The bytes are the array's own, in its order.
 */
static stash_status put_array(struct pickler *p, const stash_value *v)
{
    const stash_array_desc *desc = v->u.array.desc;
    bool fortran = desc->order == STASH_ORDER_F && !stash_array_layout_is_trivial(desc);
    stash_status st;
    if (p->protocol >= 5) {
        st = put_global(p, "numpy.core.numeric", "_frombuffer");
        if (st == STASH_OK)
            st = put_op(p, OP_MARK);
        if (st == STASH_OK)
            st = put_raw(p, v->u.array.data, v->u.array.nbytes, true);
        if (st == STASH_OK)
            st = put_dtype(p, desc);
        if (st == STASH_OK)
            st = put_shape(p, desc);
        if (st == STASH_OK)
            st = put_text(p, fortran ? "F" : "C");
        return st == STASH_OK ? put_ops(p, (const int[]){OP_TUPLE, OP_REDUCE, 0}) : st;
    }
    st = put_global(p, "numpy.core.multiarray", "_reconstruct");
    if (st == STASH_OK)
        st = put_global(p, "numpy", "ndarray");
    if (st == STASH_OK)
        st = put_int(p, 0);
    if (st == STASH_OK)
        st = put_op(p, OP_TUPLE1);
    if (st == STASH_OK)
        st = put_raw(p, "b", 1, false);
    if (st == STASH_OK)
        st = put_ops(p, (const int[]){OP_TUPLE3, OP_REDUCE, OP_MARK, 0});
    if (st == STASH_OK)
        st = put_int(p, 1);
    if (st == STASH_OK)
        st = put_shape(p, desc);
    if (st == STASH_OK)
        st = put_dtype(p, desc);
    if (st == STASH_OK)
        st = put_op(p, fortran ? OP_NEWTRUE : OP_NEWFALSE);
    if (st == STASH_OK)
        st = put_raw(p, v->u.array.data, v->u.array.nbytes, false);
    return st == STASH_OK ? put_ops(p, (const int[]){OP_TUPLE, OP_BUILD, 0}) : st;
}

/* An array goes outside the pickle (its number, then BINPERSID), or inline as NumPy's. */
static stash_status put_array_reference(struct pickler *p, const stash_value *v)
{
    if (!p->on_array)
        return put_array(p, v);
    stash_status st = p->on_array(p->array_ctx, v);
    if (st == STASH_OK)
        st = put_int(p, p->arrays++);
    return st == STASH_OK ? put_op(p, OP_BINPERSID) : st;
}

/* Recursion is bounded by STASH_VALUE_MAX_DEPTH. */
static stash_status put_value(struct pickler *p, const stash_value *v)
{
    switch (v->kind) {
    case STASH_VALUE_NULL:
        return put_op(p, OP_NONE);
    case STASH_VALUE_BOOL:
        return put_op(p, v->u.b ? OP_NEWTRUE : OP_NEWFALSE);
    case STASH_VALUE_INT:
        return put_int(p, v->u.i);
    case STASH_VALUE_FLOAT:
        return put_float(p, v->u.f);
    case STASH_VALUE_STRING:
    case STASH_VALUE_BYTES:
        return put_blob(p, v);
    case STASH_VALUE_TUPLE:
        return put_tuple(p, v);
    case STASH_VALUE_LIST:
    case STASH_VALUE_DICT:
        return put_batched(p, v);
    case STASH_VALUE_ARRAY:
        return put_array_reference(p, v);
    }
    return STASH_E_INVALID;
}

static stash_status write_pickle(struct pickler *p, const stash_value *v)
{
    stash_status st = put_le(p, OP_PROTO, (uint64_t)p->protocol, 1);
    if (st == STASH_OK)
        st = put_value(p, v);
    if (st == STASH_OK)
        st = put_op(p, OP_STOP);
    return st;
}

stash_status stash_pickle_write(stash_stream *s, const stash_value *v, int protocol)
{
    if (protocol == 0)
        protocol = STASH_PICKLE_PROTOCOL_DEFAULT;
    if (!s || !v || protocol < 3 || protocol > STASH_PICKLE_PROTOCOL_MAX)
        return STASH_E_INVALID;
    struct pickler p = {.s = s, .protocol = protocol};
    return write_pickle(&p, v);
}

static stash_status write_dict(struct pickler p, size_t n, const char *const keys[],
                               const stash_value *const values[])
{
    stash_status st = put_le(&p, OP_PROTO, (uint64_t)p.protocol, 1);
    if (st == STASH_OK)
        st = put_op(&p, OP_EMPTY_DICT);
    if (st == STASH_OK)
        st = put_op(&p, OP_MARK);
    for (size_t i = 0; i < n && st == STASH_OK; i++) {
        st = put_key(&p, keys[i], strlen(keys[i]));
        if (st == STASH_OK)
            st = put_value(&p, values[i]);
    }
    if (st == STASH_OK)
        st = put_op(&p, OP_SETITEMS);
    return st == STASH_OK ? put_op(&p, OP_STOP) : st;
}

stash_status pickle_write_dict_refs(stash_stream *s, size_t n, const char *const keys[],
                                    const stash_value *const values[], pickle_array_fn on_array,
                                    void *ctx)
{
    if (!s || !keys || !values || !on_array)
        return STASH_E_INVALID;
    struct pickler p = {.s = s, .protocol = STASH_PICKLE_PROTOCOL_DEFAULT, .on_array = on_array,
                        .array_ctx = ctx};
    return write_dict(p, n, keys, values);
}

stash_status pickle_write_dict(stash_stream *s, int protocol, size_t n, const char *const keys[],
                               const stash_value *const values[])
{
    if (protocol == 0)
        protocol = STASH_PICKLE_PROTOCOL_DEFAULT;
    if (!s || !keys || !values || protocol < 3 || protocol > STASH_PICKLE_PROTOCOL_MAX)
        return STASH_E_INVALID;
    struct pickler p = {.s = s, .protocol = protocol};
    return write_dict(p, n, keys, values);
}
