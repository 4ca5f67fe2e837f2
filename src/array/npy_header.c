/*
 * NPY headers: formatting exactly as numpy.save does, and parsing the
 * Python dict literal it writes, as NumPy's reader accepts it.
 *
 * The layout: "\x93NUMPY", major, minor, a little-endian length (u16 in 1.0,
 * u32 in 2.0 and 3.0), then that many bytes of header text: a dict literal
 * with exactly the keys 'descr', 'fortran_order' and 'shape', padded with
 * spaces and a newline so that the data starts on a 64-byte boundary.
 */
#include "array/npy_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
/* NumPy leaves room for the growing axis to reach this many digits. */
#define GROWTH_AXIS_MAX_DIGITS 21

static unsigned prefix_len(unsigned major)
{
    return MAGIC_LEN + 2 + (major == 1 ? 2 : 4);
}

/* ---- Formatting --------------------------------------------------------- */

struct text {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->overflow || n > t->cap - t->len) {
        t->overflow = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void put_str(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_u64(struct text *t, uint64_t v)
{
    char digits[24];
    put(t, digits, (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)v));
}

static size_t digit_count(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Python's repr of the shape tuple: "()", "(3,)", "(2, 3)". */
static void put_shape(struct text *t, const stash_array_desc *d)
{
    put_str(t, "(");
    for (unsigned i = 0; i < d->ndim; i++) {
        if (i > 0)
            put_str(t, ", ");
        put_u64(t, d->shape[i]);
    }
    put_str(t, d->ndim == 1 ? ",)" : ")");
}

/* The dict text before the length prefix and the padding. */
static void put_dict(struct text *t, const stash_array_desc *d)
{
    char descr[STASH_DESCR_MAX];
    stash_array_descr(d, descr);
    bool fortran = d->order == STASH_ORDER_F && !stash_array_layout_is_trivial(d);
    put_str(t, "{'descr': '");
    put_str(t, descr);
    put_str(t, fortran ? "', 'fortran_order': True, 'shape': " : "', 'fortran_order': False, 'shape': ");
    put_shape(t, d);
    put_str(t, ", }");
    if (d->ndim > 0) {
        uint64_t growing = d->shape[fortran ? d->ndim - 1 : 0];
        for (size_t i = digit_count(growing); i < GROWTH_AXIS_MAX_DIGITS; i++)
            put_str(t, " ");
    }
}

/* NumPy's _wrap_header: pad with spaces, then '\n', to a multiple of 64. */
static stash_status wrap(const char *dict, size_t dict_len, unsigned major, struct text *t)
{
    size_t hlen = dict_len + 1;
    size_t pad = STASH_NPY_ALIGN - (prefix_len(major) + hlen) % STASH_NPY_ALIGN;
    size_t field = hlen + pad;
    if (major == 1 && field > UINT16_MAX)
        return STASH_E_LIMIT;
    unsigned char prefix[12];
    memcpy(prefix, MAGIC, MAGIC_LEN);
    prefix[6] = (unsigned char)major;
    prefix[7] = 0;
    for (unsigned i = 0; i < prefix_len(major) - 8; i++)
        prefix[8 + i] = (unsigned char)(field >> (8 * i));
    put(t, (const char *)prefix, prefix_len(major));
    put(t, dict, dict_len);
    for (size_t i = 0; i < pad; i++)
        put_str(t, " ");
    put_str(t, "\n");
    return t->overflow ? STASH_E_RANGE : STASH_OK;
}

stash_status stash_npy_header_format(const stash_array_desc *desc, unsigned major, void *buf,
                                     size_t cap, size_t *len)
{
    stash_status status = stash_array_check(desc);
    uint64_t nbytes;
    if (status == STASH_OK)
        status = stash_array_nbytes(desc, &nbytes);
    if (status != STASH_OK)
        return status;
    if (buf == NULL || len == NULL || major > 3)
        return STASH_E_INVALID;
    char dict[STASH_NPY_FORMATTED_MAX];
    struct text d = {dict, 0, sizeof dict, false};
    put_dict(&d, desc);
    struct text out = {buf, 0, cap, false};
    /* Our text is ASCII, so 3.0 (UTF-8) is never needed unless asked for. */
    status = wrap(dict, d.len, major == 0 ? 1 : major, &out);
    if (status == STASH_E_LIMIT && major == 0) {
        out.len = 0;
        status = wrap(dict, d.len, 2, &out);
    }
    if (status == STASH_OK)
        *len = out.len;
    return status;
}

/* ---- Parsing ------------------------------------------------------------ */

struct cursor {
    const char *p, *end;
};

static bool python_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && python_space(*c->p))
        c->p++;
}

/* Consumes ch (after any space) if it is next. */
static bool accept(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool accept_word(struct cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    const char *after = c->p + n;
    if (after < c->end && (after[0] == '_' || (after[0] >= 'a' && after[0] <= 'z') ||
                           (after[0] >= 'A' && after[0] <= 'Z') ||
                           (after[0] >= '0' && after[0] <= '9')))
        return false; /* "Falsey" is a name, not False */
    c->p = after;
    return true;
}

/* A quoted string without escapes: *s and *n point into the header. */
static stash_status parse_string(struct cursor *c, const char **s, size_t *n)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return STASH_E_CORRUPT;
    char quote = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return STASH_E_CORRUPT; /* NumPy never writes escapes in these strings */
        c->p++;
    }
    if (c->p >= c->end)
        return STASH_E_CORRUPT;
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return STASH_OK;
}

/* A non-negative decimal integer, Python 2's "L" suffix allowed. */
static stash_status parse_int(struct cursor *c, uint64_t *v)
{
    skip_space(c);
    const char *start = c->p;
    uint64_t value = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned digit = (unsigned)(*c->p - '0');
        if (value > ((uint64_t)INT64_MAX - digit) / 10)
            return STASH_E_RANGE;
        value = value * 10 + digit;
        c->p++;
    }
    if (c->p == start)
        return STASH_E_CORRUPT;
    if (c->p - start > 1 && *start == '0')
        return STASH_E_CORRUPT; /* Python 3 has no "007" */
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++;
    *v = value;
    return STASH_OK;
}

/* A tuple of integers: "()", "(3,)", "(2, 3)", "(2, 3,)"; "(3)" is an int. */
static stash_status parse_shape(struct cursor *c, stash_array_desc *d)
{
    if (!accept(c, '('))
        return STASH_E_CORRUPT;
    unsigned n = 0;
    bool comma = false;
    while (!accept(c, ')')) {
        if (n > 0 && !comma)
            return STASH_E_CORRUPT;
        if (n == STASH_ARRAY_MAX_DIMS)
            return STASH_E_LIMIT;
        stash_status status = parse_int(c, &d->shape[n++]);
        if (status != STASH_OK)
            return status;
        comma = accept(c, ',');
    }
    if (n == 1 && !comma)
        return STASH_E_CORRUPT;
    d->ndim = n;
    return STASH_OK;
}

static stash_status parse_bool(struct cursor *c, bool *v)
{
    if (accept_word(c, "True"))
        *v = true;
    else if (accept_word(c, "False"))
        *v = false;
    else
        return STASH_E_CORRUPT;
    return STASH_OK;
}

static stash_status parse_descr(struct cursor *c, stash_array_desc *d)
{
    skip_space(c);
    if (c->p < c->end && (*c->p == '[' || *c->p == '('))
        return STASH_E_DTYPE; /* a structured type */
    const char *s;
    size_t n;
    stash_status status = parse_string(c, &s, &n);
    if (status != STASH_OK)
        return status;
    return stash_array_parse_descr(s, n, &d->dtype, &d->byte_order);
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static stash_status parse_entry(struct cursor *c, stash_array_desc *d, unsigned *seen)
{
    const char *key;
    size_t n;
    stash_status status = parse_string(c, &key, &n);
    if (status != STASH_OK)
        return status;
    if (!accept(c, ':'))
        return STASH_E_CORRUPT;
    if (n == 5 && memcmp(key, "descr", 5) == 0) {
        *seen |= KEY_DESCR;
        return parse_descr(c, d);
    }
    if (n == 13 && memcmp(key, "fortran_order", 13) == 0) {
        bool fortran = false;
        *seen |= KEY_FORTRAN;
        status = parse_bool(c, &fortran);
        d->order = fortran ? STASH_ORDER_F : STASH_ORDER_C;
        return status;
    }
    if (n == 5 && memcmp(key, "shape", 5) == 0) {
        *seen |= KEY_SHAPE;
        return parse_shape(c, d);
    }
    return STASH_E_CORRUPT; /* NumPy refuses any other key */
}

/* The dict literal; a repeated key keeps its last value, as in Python. */
static stash_status parse_dict(const char *text, size_t len, stash_array_desc *d)
{
    struct cursor c = {text, text + len};
    unsigned seen = 0;
    if (!accept(&c, '{'))
        return STASH_E_CORRUPT;
    bool comma = true;
    while (!accept(&c, '}')) {
        if (!comma)
            return STASH_E_CORRUPT;
        stash_status status = parse_entry(&c, d, &seen);
        if (status != STASH_OK)
            return status;
        comma = accept(&c, ',');
    }
    skip_space(&c);
    if (c.p != c.end)
        return STASH_E_CORRUPT;
    return seen == (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE) ? STASH_OK : STASH_E_CORRUPT;
}

static uint32_t load_le(const unsigned char *p, unsigned bytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

stash_status npy_prefix_parse(const unsigned char *b, size_t len, size_t *total)
{
    if (len == 0)
        return STASH_E_TRUNCATED;
    if (len < MAGIC_LEN + 2)
        return memcmp(b, MAGIC, len < MAGIC_LEN ? len : MAGIC_LEN) == 0 ? STASH_E_TRUNCATED
                                                                         : STASH_E_CORRUPT;
    if (memcmp(b, MAGIC, MAGIC_LEN) != 0)
        return STASH_E_CORRUPT;
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return STASH_E_VERSION;
    unsigned prefix = prefix_len(major);
    if (len < prefix)
        return STASH_E_TRUNCATED;
    uint32_t text_len = load_le(b + 8, prefix - 8);
    if (text_len > STASH_NPY_MAX_HEADER)
        return STASH_E_LIMIT;
    *total = prefix + (size_t)text_len;
    return STASH_OK;
}

stash_status stash_npy_header_parse(const void *buf, size_t len, stash_npy_header *out)
{
    const unsigned char *b = buf;
    if ((buf == NULL && len > 0) || out == NULL)
        return STASH_E_INVALID;
    size_t total;
    stash_status status = npy_prefix_parse(b, len, &total);
    if (status != STASH_OK)
        return status;
    if (len < total)
        return STASH_E_TRUNCATED;
    stash_npy_header h = {.major = b[6], .minor = b[7], .data_offset = total};
    size_t prefix = prefix_len(h.major);
    status = parse_dict((const char *)b + prefix, total - prefix, &h.desc);
    if (status == STASH_OK)
        status = stash_array_nbytes(&h.desc, &h.data_bytes);
    if (status == STASH_OK)
        *out = h;
    return status;
}
