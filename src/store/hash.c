/*
 * Content keys: XXH3-128 over the canonical encoding of a value tree
 * (docs/store.md, "Content keys", is the specification this follows).
 *
 * The encoding is streamed into the hash: small fields gather in a buffer so
 * the hasher sees few calls, and array data goes straight from the caller's
 * memory when it is already in C order and little-endian (the usual case),
 * else through array_emit_c_order's small buffer.
 */
#include <stash/hash.h>

#include "array/array_internal.h"
#include "value/value_internal.h"

#include <stash/bytes.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAGIC "STASHKEY"

enum tag {
    TAG_NULL = 'N', TAG_BOOL = 'B', TAG_INT = 'I', TAG_FLOAT = 'F', TAG_STRING = 'S',
    TAG_BYTES = 'Y', TAG_LIST = 'L', TAG_TUPLE = 'T', TAG_DICT = 'D', TAG_ARRAY = 'A',
};

struct encoder {
    XXH3_state_t *state;
    unsigned char buf[256];
    size_t used;
};

static void flush(struct encoder *e)
{
    if (e->used)
        XXH3_128bits_update(e->state, e->buf, e->used);
    e->used = 0;
}

static stash_status put_bytes(void *ctx, const void *p, size_t n)
{
    struct encoder *e = ctx;
    if (n > sizeof e->buf - e->used) {
        flush(e);
        if (n >= sizeof e->buf) {
            XXH3_128bits_update(e->state, p, n);
            return STASH_OK;
        }
    }
    memcpy(e->buf + e->used, p, n);
    e->used += n;
    return STASH_OK;
}

static void put_u8(struct encoder *e, unsigned v)
{
    unsigned char b = (unsigned char)v;
    put_bytes(e, &b, 1);
}

static void put_u64(struct encoder *e, uint64_t v)
{
    unsigned char b[8];
    stash_bytes_store_u64le(b, v);
    put_bytes(e, b, 8);
}

static void put_tagged_blob(struct encoder *e, enum tag tag, const void *p, size_t n)
{
    put_u8(e, tag);
    put_u64(e, n);
    put_bytes(e, p, n);
}

/* One NaN, and no negative zero: equal values, equal keys. */
static uint64_t canonical_float_bits(double f)
{
    if (f != f)
        return UINT64_C(0x7ff8000000000000);
    if (f == 0.0)
        return 0;
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static stash_status put_array(struct encoder *e, const stash_array_desc *desc, const void *data)
{
    stash_array_desc little = *desc;
    little.byte_order = STASH_LITTLE_ENDIAN;
    char descr[STASH_DESCR_MAX];
    stash_status status = stash_array_descr(&little, descr);
    if (status != STASH_OK)
        return status;
    put_u8(e, TAG_ARRAY);
    put_u8(e, (unsigned)strlen(descr));
    put_bytes(e, descr, strlen(descr));
    put_u8(e, desc->ndim);
    for (unsigned d = 0; d < desc->ndim; d++)
        put_u64(e, desc->shape[d]);
    return array_emit_c_order(desc, data, STASH_LITTLE_ENDIAN, put_bytes, e);
}

static int entry_order(const void *a, const void *b)
{
    const struct value_entry *x = *(const struct value_entry *const *)a;
    const struct value_entry *y = *(const struct value_entry *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static stash_status put_value(struct encoder *e, const stash_value *v);

static stash_status put_dict(struct encoder *e, const stash_value *v)
{
    size_t n = v->u.dict.len;
    const struct value_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &v->u.dict.entries[i];
    qsort(sorted, n, sizeof *sorted, entry_order);
    put_u8(e, TAG_DICT);
    put_u64(e, n);
    stash_status status = STASH_OK;
    for (size_t i = 0; i < n && status == STASH_OK; i++) {
        put_u64(e, sorted[i]->key_len);
        put_bytes(e, sorted[i]->key, sorted[i]->key_len);
        status = put_value(e, sorted[i]->value);
    }
    free(sorted);
    return status;
}

static stash_status put_sequence(struct encoder *e, enum tag tag, const stash_value *v)
{
    put_u8(e, tag);
    put_u64(e, v->u.seq.len);
    stash_status status = STASH_OK;
    for (size_t i = 0; i < v->u.seq.len && status == STASH_OK; i++)
        status = put_value(e, v->u.seq.items[i]);
    return status;
}

static stash_status put_value(struct encoder *e, const stash_value *v)
{
    switch (v->kind) {
    case STASH_VALUE_NULL:
        put_u8(e, TAG_NULL);
        return STASH_OK;
    case STASH_VALUE_BOOL:
        put_u8(e, TAG_BOOL);
        put_u8(e, v->u.b ? 1 : 0);
        return STASH_OK;
    case STASH_VALUE_INT:
        put_u8(e, TAG_INT);
        put_u64(e, (uint64_t)v->u.i);
        return STASH_OK;
    case STASH_VALUE_FLOAT:
        put_u8(e, TAG_FLOAT);
        put_u64(e, canonical_float_bits(v->u.f));
        return STASH_OK;
    case STASH_VALUE_STRING:
        put_tagged_blob(e, TAG_STRING, v->u.blob.data, v->u.blob.len);
        return STASH_OK;
    case STASH_VALUE_BYTES:
        put_tagged_blob(e, TAG_BYTES, v->u.blob.data, v->u.blob.len);
        return STASH_OK;
    case STASH_VALUE_ARRAY:
        return put_array(e, v->u.array.desc, v->u.array.data);
    case STASH_VALUE_LIST:
        return put_sequence(e, TAG_LIST, v);
    case STASH_VALUE_TUPLE:
        return put_sequence(e, TAG_TUPLE, v);
    case STASH_VALUE_DICT:
        return put_dict(e, v);
    }
    return STASH_E_INVALID;
}

static void format_key(XXH128_hash_t h, stash_key *key)
{
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, h);
    static const char hex[] = "0123456789abcdef";
    char *out = key->text + sizeof STASH_KEY_PREFIX - 1;
    memcpy(key->text, STASH_KEY_PREFIX, sizeof STASH_KEY_PREFIX - 1);
    for (size_t i = 0; i < sizeof canon.digest; i++) {
        *out++ = hex[canon.digest[i] >> 4];
        *out++ = hex[canon.digest[i] & 15];
    }
    *out = '\0';
}

/* Hashes the magic, the version, then whatever encode puts. */
static stash_status hash_encoded(stash_status (*encode)(struct encoder *, const void *),
                                 const void *what, stash_key *key)
{
    struct encoder e = {.state = XXH3_createState()};
    if (!e.state)
        return -ENOMEM;
    XXH3_128bits_reset(e.state);
    put_bytes(&e, MAGIC, sizeof MAGIC - 1);
    put_u8(&e, STASH_KEY_ENCODING_VERSION);
    stash_status status = encode(&e, what);
    if (status == STASH_OK) {
        flush(&e);
        format_key(XXH3_128bits_digest(e.state), key);
    }
    XXH3_freeState(e.state);
    return status;
}

static stash_status encode_value(struct encoder *e, const void *v)
{
    return put_value(e, v);
}

stash_status stash_hash_value(const stash_value *v, stash_key *key)
{
    if (!v || !key)
        return STASH_E_INVALID;
    return hash_encoded(encode_value, v, key);
}

struct inputs_and_meta {
    const stash_value *inputs, *meta;
};

static stash_status encode_inputs(struct encoder *e, const void *what)
{
    const struct inputs_and_meta *im = what;
    put_u8(e, TAG_TUPLE);
    put_u64(e, 2);
    stash_status status = put_value(e, im->inputs);
    if (status != STASH_OK)
        return status;
    if (im->meta)
        return put_value(e, im->meta);
    put_u8(e, TAG_NULL);
    return STASH_OK;
}

stash_status stash_hash_inputs(const stash_value *inputs, const stash_value *meta, stash_key *key)
{
    if (!inputs || !key)
        return STASH_E_INVALID;
    struct inputs_and_meta im = {inputs, meta};
    return hash_encoded(encode_inputs, &im, key);
}

struct bare_array {
    const stash_array_desc *desc;
    const void *data;
};

static stash_status encode_array(struct encoder *e, const void *what)
{
    const struct bare_array *a = what;
    return put_array(e, a->desc, a->data);
}

stash_status stash_hash_array(const stash_array_desc *desc, const void *data, stash_key *key)
{
    if (!desc || !key)
        return STASH_E_INVALID;
    uint64_t nbytes;
    stash_status status = stash_array_check(desc);
    if (status == STASH_OK)
        status = stash_array_nbytes(desc, &nbytes);
    if (status != STASH_OK)
        return status;
    if (nbytes && !data)
        return STASH_E_INVALID;
    struct bare_array a = {desc, data};
    return hash_encoded(encode_array, &a, key);
}

bool stash_key_is_content(const char *text)
{
    size_t prefix = sizeof STASH_KEY_PREFIX - 1;
    if (!text || strncmp(text, STASH_KEY_PREFIX, prefix) != 0)
        return false;
    for (size_t i = prefix; i < STASH_KEY_CHARS; i++) {
        char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return text[STASH_KEY_CHARS] == '\0';
}
