/*
 * The pickle reader: a stack machine like Python's Unpickler, restricted to
 * opcodes that build plain values. Nothing here looks up or calls anything;
 * the opcodes that would are refused where they stand.
 *
 * The stack, the mark stack and the memo hold references to value nodes.
 * Memo references share nodes (value_internal.h explains why that stays a
 * tree that is safe to read), and every container that gains an item has its
 * written-out size checked against the limits at once.
 */
#include "value/pickle_opcodes.h"
#include "value/value_internal.h"

#include <stash/bytes.h>
#include <stash/pickle.h>

#include "value/pickle_internal.h"
#include "value/pickle_numpy.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unpickler {
    const uint8_t *in;
    size_t len, pos;
    stash_pickle_limits limits;
    stash_value **stack;
    size_t depth, stack_cap;
    size_t *marks; /* stack depths at each MARK */
    size_t mark_count, marks_cap;
    stash_value **memo; /* indexed by memo key; NULL where unset */
    size_t memo_cap, memo_entries;
    bool stopped;
    pickle_load_fn load; /* resolves BINPERSID; NULL: refused as unsafe */
    void *load_ctx;
    const stash_pickle_buffer *buffers; /* out-of-band, for NEXT_BUFFER */
    size_t buffer_count, buffers_used;
    char why[NUMPY_WHY_MAX]; /* the name refused, for stash_pickle_error */
    /* The first slots of stack, marks and memo: most pickles need no more (no malloc). */
    stash_value *stack_inline[64];
    size_t marks_inline[16];
    stash_value *memo_inline[64];
    uint64_t array_budget;   /* bytes of NumPy arrays still to be made: limits.max_bytes */
};

/* ---- Input ------------------------------------------------------------------ */

static stash_status take(struct unpickler *u, size_t n, const uint8_t **p)
{
    if (n > u->len - u->pos)
        return STASH_E_TRUNCATED;
    *p = u->in + u->pos;
    u->pos += n;
    return STASH_OK;
}

static stash_status take_le(struct unpickler *u, size_t n, uint64_t *v)
{
    const uint8_t *p;
    stash_status st = take(u, n, &p);
    if (st != STASH_OK)
        return st;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v |= (uint64_t)p[i] << (8 * i);
    return STASH_OK;
}

/* A text argument: the bytes up to the newline, which is consumed. */
static stash_status take_line(struct unpickler *u, const char **line, size_t *n)
{
    const uint8_t *start = u->in + u->pos;
    const uint8_t *nl = memchr(start, '\n', u->len - u->pos);
    if (!nl)
        return STASH_E_TRUNCATED;
    *line = (const char *)start;
    *n = (size_t)(nl - start);
    u->pos += *n + 1;
    return STASH_OK;
}

/* ---- The stack ---------------------------------------------------------------- */

/*
 * Grows an array that starts in the unpickler's inline slots to hold need
 * elements: realloc once on the heap, malloc and copy when leaving the
 * inline slots. The new slots are not cleared.
 */
static stash_status grow(void **array, size_t *cap, size_t need, size_t elem, void *inline_slots)
{
    if (need <= *cap)
        return STASH_OK;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return -ENOMEM;
    void *p = *array == inline_slots ? malloc(n * elem) : realloc(*array, n * elem);
    if (!p)
        return -ENOMEM;
    if (*array == inline_slots)
        memcpy(p, inline_slots, *cap * elem);
    *array = p;
    *cap = n;
    return STASH_OK;
}

/* Takes v's reference; releases it if the stack cannot grow. */
static stash_status push(struct unpickler *u, stash_value *v)
{
    if (u->depth == u->stack_cap &&
        grow((void **)&u->stack, &u->stack_cap, u->depth + 1, sizeof *u->stack,
             u->stack_inline) != STASH_OK) {
        stash_value_free(&v);
        return -ENOMEM;
    }
    u->stack[u->depth++] = v;
    return STASH_OK;
}

/* Pushes a freshly made value, or passes on the failure to make it. */
static stash_status push_new(struct unpickler *u, stash_status made, stash_value **v)
{
    return made == STASH_OK ? push(u, *v) : made;
}

static stash_value *pop(struct unpickler *u)
{
    return u->depth ? u->stack[--u->depth] : NULL;
}

static stash_status push_mark(struct unpickler *u)
{
    stash_status st = grow((void **)&u->marks, &u->marks_cap, u->mark_count + 1, sizeof *u->marks,
                           u->marks_inline);
    if (st == STASH_OK)
        u->marks[u->mark_count++] = u->depth;
    return st;
}

static stash_status pop_mark(struct unpickler *u, size_t *start)
{
    if (u->mark_count == 0)
        return STASH_E_CORRUPT;
    *start = u->marks[--u->mark_count];
    return *start <= u->depth ? STASH_OK : STASH_E_CORRUPT;
}

static void release_above(struct unpickler *u, size_t start)
{
    while (u->depth > start) {
        stash_value *v = pop(u);
        stash_value_free(&v);
    }
}

/* ---- Containers ------------------------------------------------------------ */

static stash_status within_limits(const struct unpickler *u, const stash_value *container)
{
    return container->expanded_nodes > u->limits.max_nodes ||
                   container->expanded_bytes > u->limits.max_bytes
               ? STASH_E_LIMIT
               : STASH_OK;
}

/* Moves stack[start..depth) into container, in order. */
static stash_status adopt_items(struct unpickler *u, stash_value *container, size_t start)
{
    stash_status st = STASH_OK;
    size_t i = start;
    for (; i < u->depth && st == STASH_OK; i++)
        st = value_adopt(container, u->stack[i]);
    if (st != STASH_OK)
        i--; /* the item that failed still belongs to the stack */
    if (i > start) { /* close the gap the adopted items left */
        memmove(u->stack + start, u->stack + i, (u->depth - i) * sizeof *u->stack);
        u->depth -= i - start;
    }
    release_above(u, start);
    return st == STASH_OK ? within_limits(u, container) : st;
}

static stash_status key_of(const stash_value *k, const char **key, size_t *len)
{
    if (k->kind != STASH_VALUE_STRING)
        return STASH_E_UNSUPPORTED; /* the tree's dicts have string keys only */
    *key = k->u.blob.data;
    *len = k->u.blob.len;
    return STASH_OK;
}

/* Sets stack[start..depth) as key, value pairs into dict. */
static stash_status adopt_pairs(struct unpickler *u, stash_value *dict, size_t start)
{
    if ((u->depth - start) % 2)
        return STASH_E_CORRUPT;
    stash_status st = STASH_OK;
    size_t i = start;
    for (; i < u->depth && st == STASH_OK; i += 2) {
        const char *key;
        size_t len;
        st = key_of(u->stack[i], &key, &len);
        if (st == STASH_OK)
            st = value_dict_adopt(dict, key, len, u->stack[i + 1]);
        if (st == STASH_OK)
            u->stack[i + 1] = NULL; /* now the dict's */
    }
    release_above(u, start);
    return st == STASH_OK ? within_limits(u, dict) : st;
}

/*
 * A tuple of stack[start..depth): an argument tuple (value_internal.h) if it
 * holds a constructor, such as the dtype in an array's state.
 */
static stash_status new_tuple_of(const struct unpickler *u, size_t start, stash_value **t)
{
    stash_value_kind kind = STASH_VALUE_TUPLE;
    for (size_t i = start; i < u->depth; i++)
        if (u->stack[i]->kind == VALUE_KIND_CONSTRUCTOR)
            kind = VALUE_KIND_ARGS;
    return value_new_seq_sized(kind, u->depth - start, t);
}

/* LIST, TUPLE, DICT: a new container of everything above the last mark. */
static stash_status build_from_mark(struct unpickler *u, stash_value_kind kind)
{
    size_t start;
    stash_value *c = NULL;
    stash_status st = pop_mark(u, &start);
    if (st == STASH_OK)
        st = kind == STASH_VALUE_DICT ? stash_value_new_dict(&c)
             : kind == STASH_VALUE_LIST ? stash_value_new_list(&c)
                                        : new_tuple_of(u, start, &c);
    if (st == STASH_OK)
        st = kind == STASH_VALUE_DICT ? adopt_pairs(u, c, start) : adopt_items(u, c, start);
    if (st != STASH_OK) {
        stash_value_free(&c);
        return st;
    }
    return push(u, c);
}

/* TUPLE1, TUPLE2, TUPLE3. */
static stash_status build_tuple_of(struct unpickler *u, size_t n)
{
    if (u->depth - (u->mark_count ? u->marks[u->mark_count - 1] : 0) < n)
        return STASH_E_CORRUPT;
    stash_value *t = NULL;
    stash_status st = new_tuple_of(u, u->depth - n, &t);
    if (st == STASH_OK)
        st = adopt_items(u, t, u->depth - n);
    if (st != STASH_OK) {
        stash_value_free(&t);
        return st;
    }
    return push(u, t);
}

/* The container a mark-delimited APPENDS or SETITEMS adds to. */
static stash_status target_below_mark(struct unpickler *u, stash_value_kind kind, size_t *start,
                                      stash_value **target)
{
    stash_status st = pop_mark(u, start);
    if (st != STASH_OK)
        return st;
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (*start <= floor || u->stack[*start - 1]->kind != kind)
        return STASH_E_CORRUPT;
    *target = u->stack[*start - 1];
    return STASH_OK;
}

static stash_status appends(struct unpickler *u)
{
    size_t start;
    stash_value *list;
    stash_status st = target_below_mark(u, STASH_VALUE_LIST, &start, &list);
    return st == STASH_OK ? adopt_items(u, list, start) : st;
}

static stash_status setitems(struct unpickler *u)
{
    size_t start;
    stash_value *dict;
    stash_status st = target_below_mark(u, STASH_VALUE_DICT, &start, &dict);
    return st == STASH_OK ? adopt_pairs(u, dict, start) : st;
}

/* APPEND (n = 1) and SETITEM (n = 2): the container sits under n items. */
static stash_status add_top(struct unpickler *u, stash_value_kind kind, size_t n)
{
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (u->depth < floor + n + 1 || u->stack[u->depth - n - 1]->kind != kind)
        return STASH_E_CORRUPT;
    stash_value *c = u->stack[u->depth - n - 1];
    return n == 1 ? adopt_items(u, c, u->depth - 1) : adopt_pairs(u, c, u->depth - 2);
}

/* ---- The memo --------------------------------------------------------------- */

static stash_status memo_put(struct unpickler *u, uint64_t key)
{
    /* Picklers number memo entries from 0, so no key exceeds the input length. */
    if (u->depth == 0 || key > u->len)
        return STASH_E_CORRUPT;
    if (key >= u->memo_cap) {
        size_t old = u->memo_cap;
        stash_status st = grow((void **)&u->memo, &u->memo_cap, key + 1, sizeof *u->memo,
                               u->memo_inline);
        if (st != STASH_OK)
            return st;
        memset(u->memo + old, 0, (u->memo_cap - old) * sizeof *u->memo);
    }
    if (u->memo[key])
        stash_value_free(&u->memo[key]);
    else
        u->memo_entries++;
    u->memo[key] = u->stack[u->depth - 1];
    value_retain(u->memo[key]);
    return STASH_OK;
}

static stash_status memo_get(struct unpickler *u, uint64_t key)
{
    if (key >= u->memo_cap || !u->memo[key])
        return STASH_E_CORRUPT;
    value_retain(u->memo[key]);
    return push(u, u->memo[key]);
}

/* ---- Scalars ---------------------------------------------------------------- */

static stash_status parse_decimal(const char *s, size_t n, int64_t *out)
{
    bool negative = n && (s[0] == '-' || s[0] == '+') ? s[0] == '-' : false;
    size_t i = n && (s[0] == '-' || s[0] == '+');
    if (i == n)
        return STASH_E_CORRUPT;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return STASH_E_CORRUPT;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (limit - digit) / 10)
            return STASH_E_UNSUPPORTED; /* a Python int outside int64 */
        v = v * 10 + digit;
    }
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return STASH_OK;
}

static stash_status push_int(struct unpickler *u, int64_t i)
{
    stash_value *v = value_shared_scalar(STASH_VALUE_INT, i);
    if (v)
        return push(u, v);
    return push_new(u, stash_value_new_int(i, &v), &v);
}

/* INT: decimal text, where "01" and "00" are Python 2's True and False. */
static stash_status text_int(struct unpickler *u, bool long_suffix)
{
    const char *line;
    size_t n;
    int64_t i;
    stash_status st = take_line(u, &line, &n);
    if (st != STASH_OK)
        return st;
    if (!long_suffix && n == 2 && line[0] == '0' && (line[1] == '0' || line[1] == '1'))
        return push(u, value_shared_scalar(STASH_VALUE_BOOL, line[1] == '1'));
    if (long_suffix && n && line[n - 1] == 'L')
        n--;
    st = parse_decimal(line, n, &i);
    return st == STASH_OK ? push_int(u, i) : st;
}

/* LONG1 and LONG4: little-endian two's complement of any length. */
static stash_status binary_long(struct unpickler *u, size_t len_bytes)
{
    uint64_t n;
    const uint8_t *p;
    stash_status st = take_le(u, len_bytes, &n);
    if (st == STASH_OK && len_bytes == 4 && n > INT32_MAX)
        return STASH_E_CORRUPT;
    if (st == STASH_OK)
        st = take(u, n, &p);
    if (st != STASH_OK)
        return st;
    uint8_t sign = n && (p[n - 1] & 0x80) ? 0xFF : 0x00;
    for (size_t i = 8; i < n; i++) /* longer forms must be sign extension */
        if (p[i] != sign || (p[7] & 0x80) != (sign & 0x80))
            return STASH_E_UNSUPPORTED;
    uint64_t v = sign ? UINT64_MAX : 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v = (v & ~((uint64_t)0xFF << (8 * i))) | (uint64_t)p[i] << (8 * i);
    return push_int(u, (int64_t)v);
}

static stash_status binary_int(struct unpickler *u, size_t bytes, bool is_signed)
{
    uint64_t v;
    stash_status st = take_le(u, bytes, &v);
    if (st != STASH_OK)
        return st;
    return push_int(u, is_signed ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v);
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* FLOAT: Python's repr of a float, read in the C locale whatever the process's. */
static stash_status text_float(struct unpickler *u)
{
    const char *line;
    size_t n;
    char buf[64];
    stash_status st = take_line(u, &line, &n);
    if (st != STASH_OK)
        return st;
    pthread_once(&c_locale_once, c_locale_init);
    if (n == 0 || n >= sizeof buf || !c_locale)
        return STASH_E_CORRUPT;
    memcpy(buf, line, n);
    buf[n] = '\0';
    char *end;
    double f = strtod_l(buf, &end, c_locale);
    if (end != buf + n)
        return STASH_E_CORRUPT;
    stash_value *v = NULL;
    return push_new(u, stash_value_new_float(f, &v), &v);
}

static stash_status binary_float(struct unpickler *u)
{
    const uint8_t *p;
    stash_status st = take(u, 8, &p);
    if (st != STASH_OK)
        return st;
    stash_value *v = NULL;
    return push_new(u, stash_value_new_float(stash_bytes_load_f64be(p), &v), &v);
}

/* ---- Strings and bytes --------------------------------------------------- */

static stash_status push_utf8(struct unpickler *u, const char *s, size_t n)
{
    /* Python writes lone surrogates with "surrogatepass"; they are not text. */
    if (!utf8_is_valid(s, n))
        return STASH_E_UNSUPPORTED;
    stash_value *v = NULL;
    return push_new(u, value_new_string_unchecked(s, n, &v), &v);
}

static stash_status push_bytes(struct unpickler *u, const void *p, size_t n)
{
    stash_value *v = NULL;
    return push_new(u, stash_value_new_bytes(p, n, &v), &v);
}

/* Python 2 str: text if ASCII (as Python 3 reads it), else bytes. */
static stash_status push_py2_str(struct unpickler *u, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return push_bytes(u, p, n);
    return push_utf8(u, p, n);
}

/* BINUNICODE*, BINBYTES*, BINSTRING*: a length of len_bytes, then the data. */
static stash_status counted(struct unpickler *u, size_t len_bytes, stash_value_kind kind,
                            bool py2)
{
    uint64_t n;
    const uint8_t *p;
    stash_status st = take_le(u, len_bytes, &n);
    if (st == STASH_OK && py2 && len_bytes == 4 && n > INT32_MAX)
        return STASH_E_CORRUPT; /* BINSTRING's length is signed */
    if (st == STASH_OK)
        st = take(u, n, &p);
    if (st != STASH_OK)
        return st;
    if (py2)
        return push_py2_str(u, (const char *)p, n);
    return kind == STASH_VALUE_STRING ? push_utf8(u, (const char *)p, n) : push_bytes(u, p, n);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool parse_hex(const char *s, size_t digits, uint32_t *v)
{
    *v = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hex_value(s[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (uint32_t)h;
    }
    return true;
}

/* One escape of a Python 2 string literal at s[*i] (after the backslash). */
static bool unescape_one(const char *s, size_t n, size_t *i, char *out, size_t *o)
{
    static const char simple_in[] = "\\'\"abfnrtv", simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    char c = s[(*i)++];
    const char *k = strchr(simple_in, c);
    uint32_t v = 0;
    if (c && k) {
        out[(*o)++] = simple_out[k - simple_in];
    } else if (c == 'x') {
        if (n - *i < 2 || !parse_hex(s + *i, 2, &v))
            return false;
        out[(*o)++] = (char)v;
        *i += 2;
    } else if (c >= '0' && c <= '7') {
        v = (uint32_t)(c - '0');
        for (int d = 0; d < 2 && *i < n && s[*i] >= '0' && s[*i] <= '7'; d++)
            v = v * 8 + (uint32_t)(s[(*i)++] - '0');
        out[(*o)++] = (char)(v & 0xFF);
    } else { /* Python keeps unknown escapes as they are */
        out[(*o)++] = '\\';
        out[(*o)++] = c;
    }
    return true;
}

/* STRING: a quoted Python 2 literal, its escapes undone. */
static stash_status text_string(struct unpickler *u)
{
    const char *line;
    size_t n;
    stash_status st = take_line(u, &line, &n);
    if (st != STASH_OK)
        return st;
    if (n < 2 || (line[0] != '\'' && line[0] != '"') || line[n - 1] != line[0])
        return STASH_E_CORRUPT;
    char *out = malloc(n + 1);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 1; i < n - 1 && st == STASH_OK;) {
        if (line[i] != '\\')
            out[o++] = line[i++];
        else if (++i == n - 1 || !unescape_one(line, n - 1, &i, out, &o))
            st = STASH_E_CORRUPT;
    }
    if (st == STASH_OK)
        st = push_py2_str(u, out, o);
    free(out);
    return st;
}

static size_t put_utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* UNICODE: raw-unicode-escape, bytes as Latin-1 except \uXXXX and \UXXXXXXXX. */
static stash_status text_unicode(struct unpickler *u)
{
    const char *line;
    size_t n;
    stash_status st = take_line(u, &line, &n);
    if (st != STASH_OK)
        return st;
    char *out = malloc(2 * n + 1); /* each input byte gives at most 2 */
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n && st == STASH_OK;) {
        size_t digits = line[i] == '\\' && i + 1 < n
                            ? (line[i + 1] == 'u' ? 4 : line[i + 1] == 'U' ? 8 : 0)
                            : 0;
        uint32_t cp = (unsigned char)line[i];
        if (digits && (n - i - 2 < digits || !parse_hex(line + i + 2, digits, &cp) ||
                       cp > 0x10FFFF))
            st = STASH_E_CORRUPT;
        else if (cp >= 0xD800 && cp <= 0xDFFF)
            st = STASH_E_UNSUPPORTED; /* a lone surrogate */
        o += st == STASH_OK ? put_utf8(cp, out + o) : 0;
        i += digits ? digits + 2 : 1;
    }
    if (st == STASH_OK)
        st = push_utf8(u, out, o);
    free(out);
    return st;
}

/* ---- The allowlist: bytes, and NumPy's arrays ---------------------------------- */

/*
 * Before protocol 3 a pickle cannot hold bytes directly, so Python writes
 * bytes as _codecs.encode(text, "latin1"), b"" as bytes(), and (before
 * protocol 5) bytearray as bytearray(bytes). NumPy writes arrays, scalars
 * and dtypes with the calls pickle_numpy.c knows. These names are
 * recognised and their effect rebuilt here; nothing is imported or called.
 * Any other name is STASH_E_UNSAFE, and so is any other use of these names.
 */
enum constructor { CODECS_ENCODE = 1, BYTES, BYTEARRAY };

static bool name_is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

static int known_constructor(const char *module, size_t mn, const char *name, size_t nn)
{
    bool builtins = name_is(module, mn, "builtins") || name_is(module, mn, "__builtin__");
    if (name_is(module, mn, "_codecs") && name_is(name, nn, "encode"))
        return CODECS_ENCODE;
    if (builtins && name_is(name, nn, "bytes"))
        return BYTES;
    if (builtins && name_is(name, nn, "bytearray"))
        return BYTEARRAY;
    return numpy_name(module, mn, name, nn);
}

/* Pushes the constructor module.name stands for, or refuses it by name. */
static stash_status push_constructor(struct unpickler *u, const char *module, size_t mn,
                                     const char *name, size_t nn)
{
    int c = known_constructor(module, mn, name, nn);
    if (!c) {
        int m = (int)(mn < NUMPY_WHY_MAX ? mn : NUMPY_WHY_MAX);
        snprintf(u->why, sizeof u->why, "%.*s.%.*s", m, module, (int)(nn < NUMPY_WHY_MAX ? nn : NUMPY_WHY_MAX), name);
        return STASH_E_UNSAFE;
    }
    stash_value *v = NULL;
    return push_new(u, value_new_constructor(c, &v), &v);
}

/* GLOBAL: "module\nname\n". */
static stash_status global(struct unpickler *u)
{
    const char *module, *name;
    size_t mn, nn;
    stash_status st = take_line(u, &module, &mn);
    if (st == STASH_OK)
        st = take_line(u, &name, &nn);
    return st == STASH_OK ? push_constructor(u, module, mn, name, nn) : st;
}

/* STACK_GLOBAL: module and name are the two strings on top of the stack. */
static stash_status stack_global(struct unpickler *u)
{
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (u->depth < floor + 2)
        return STASH_E_CORRUPT;
    stash_value *module = u->stack[u->depth - 2], *name = u->stack[u->depth - 1];
    if (module->kind != STASH_VALUE_STRING || name->kind != STASH_VALUE_STRING)
        return STASH_E_UNSAFE;
    value_retain(module);
    value_retain(name);
    release_above(u, u->depth - 2);
    stash_status st = push_constructor(u, module->u.blob.data, module->u.blob.len,
                                       name->u.blob.data, name->u.blob.len);
    stash_value_free(&module);
    stash_value_free(&name);
    return st;
}

/* _codecs.encode(text, "latin1"): each code point below 256 as one byte. */
static stash_status latin1_bytes(struct unpickler *u, const stash_value *text)
{
    const unsigned char *s = (const unsigned char *)text->u.blob.data;
    size_t n = text->u.blob.len, o = 0;
    char *out = malloc(n + 1);
    if (!out)
        return -ENOMEM;
    stash_status st = STASH_OK;
    for (size_t i = 0; i < n && st == STASH_OK; i++) {
        if (s[i] < 0x80)
            out[o++] = (char)s[i];
        else if ((s[i] == 0xC2 || s[i] == 0xC3) && i + 1 < n)
            out[o++] = (char)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3F)), i++;
        else
            st = STASH_E_CORRUPT; /* not Latin-1 */
    }
    if (st == STASH_OK)
        st = push_bytes(u, out, o);
    free(out);
    return st;
}

static stash_status apply_constructor(struct unpickler *u, int c, const stash_value *args)
{
    if (c >= NUMPY_FIRST) {
        stash_value *made = NULL;
        return push_new(u, numpy_reduce(c, args, &u->array_budget, &made, u->why), &made);
    }
    if (args->kind != STASH_VALUE_TUPLE)
        return STASH_E_UNSAFE;
    size_t n = args->u.seq.len;
    stash_value *const *a = args->u.seq.items;
    if (c == CODECS_ENCODE && n == 2 && a[0]->kind == STASH_VALUE_STRING &&
        a[1]->kind == STASH_VALUE_STRING &&
        (name_is(a[1]->u.blob.data, a[1]->u.blob.len, "latin1") ||
         name_is(a[1]->u.blob.data, a[1]->u.blob.len, "latin-1")))
        return latin1_bytes(u, a[0]);
    if (c != CODECS_ENCODE && n == 0)
        return push_bytes(u, "", 0);
    if (c == BYTEARRAY && n == 1 && a[0]->kind == STASH_VALUE_BYTES)
        return push_bytes(u, a[0]->u.blob.data, a[0]->u.blob.len);
    return STASH_E_UNSAFE;
}

/* REDUCE: only a known constructor applied to the arguments it expects. */
static stash_status reduce(struct unpickler *u)
{
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (u->depth < floor + 2)
        return STASH_E_CORRUPT;
    stash_value *callable = u->stack[u->depth - 2], *args = u->stack[u->depth - 1];
    bool tuple = args->kind == STASH_VALUE_TUPLE || args->kind == VALUE_KIND_ARGS;
    if (callable->kind != VALUE_KIND_CONSTRUCTOR || !tuple)
        return STASH_E_UNSAFE;
    stash_value *made;
    stash_status st = apply_constructor(u, (int)callable->u.i, args);
    if (st != STASH_OK)
        return st;
    made = pop(u);
    release_above(u, u->depth - 2);
    return push(u, made);
}

/* BUILD: only NumPy's dtypes and arrays take a state, and only NumPy's. */
static stash_status build(struct unpickler *u)
{
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (u->depth < floor + 2)
        return STASH_E_UNSAFE; /* no object NumPy made under a state */
    stash_status st =
        numpy_build(u->stack[u->depth - 2], u->stack[u->depth - 1], &u->array_budget, u->why);
    if (st == STASH_OK)
        release_above(u, u->depth - 1); /* the state; the object stays, changed */
    return st;
}

/* NEXT_BUFFER: the caller's next out-of-band buffer, as bytes. */
static stash_status next_buffer(struct unpickler *u)
{
    if (!u->buffers)
        return STASH_E_UNSUPPORTED;
    if (u->buffers_used == u->buffer_count)
        return STASH_E_CORRUPT; /* Python: "not enough out-of-band buffers" */
    const stash_pickle_buffer *b = &u->buffers[u->buffers_used++];
    return push_bytes(u, b->data, b->len);
}

/* ---- Dispatch ----------------------------------------------------------------- */

static stash_status line_index(struct unpickler *u, uint64_t *key)
{
    const char *line;
    size_t n;
    int64_t v;
    stash_status st = take_line(u, &line, &n);
    if (st == STASH_OK)
        st = parse_decimal(line, n, &v);
    if (st == STASH_OK && v < 0)
        st = STASH_E_CORRUPT;
    *key = st == STASH_OK ? (uint64_t)v : 0;
    return st == STASH_E_UNSUPPORTED ? STASH_E_CORRUPT : st;
}

static stash_status stack_op(struct unpickler *u, int op)
{
    size_t start;
    stash_value *v = NULL;
    switch (op) {
    case OP_MARK:
        return push_mark(u);
    case OP_POP:
        if (u->depth > (u->mark_count ? u->marks[u->mark_count - 1] : 0)) {
            v = pop(u);
            stash_value_free(&v);
            return STASH_OK;
        }
        return pop_mark(u, &start); /* Python pops a mark when no item is above it */
    case OP_POP_MARK: {
        stash_status st = pop_mark(u, &start);
        if (st == STASH_OK)
            release_above(u, start);
        return st;
    }
    case OP_DUP:
        if (u->depth == 0)
            return STASH_E_CORRUPT;
        value_retain(u->stack[u->depth - 1]);
        return push(u, u->stack[u->depth - 1]);
    }
    return STASH_E_CORRUPT;
}

static stash_status memo_op(struct unpickler *u, int op)
{
    uint64_t key = 0;
    stash_status st = STASH_OK;
    switch (op) {
    case OP_GET:
    case OP_PUT:
        st = line_index(u, &key);
        break;
    case OP_BINGET:
    case OP_BINPUT:
        st = take_le(u, 1, &key);
        break;
    case OP_LONG_BINGET:
    case OP_LONG_BINPUT:
        st = take_le(u, 4, &key);
        break;
    case OP_MEMOIZE:
        key = u->memo_entries;
        break;
    }
    if (st != STASH_OK)
        return st;
    bool get = op == OP_GET || op == OP_BINGET || op == OP_LONG_BINGET;
    return get ? memo_get(u, key) : memo_put(u, key);
}

static stash_status container_op(struct unpickler *u, int op)
{
    stash_value *v = NULL;
    switch (op) {
    case OP_EMPTY_LIST:
        return push_new(u, stash_value_new_list(&v), &v);
    case OP_EMPTY_DICT:
        return push_new(u, stash_value_new_dict(&v), &v);
    case OP_EMPTY_TUPLE:
        return push_new(u, stash_value_new_tuple(&v), &v);
    case OP_LIST:
        return build_from_mark(u, STASH_VALUE_LIST);
    case OP_TUPLE:
        return build_from_mark(u, STASH_VALUE_TUPLE);
    case OP_DICT:
        return build_from_mark(u, STASH_VALUE_DICT);
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3:
        return build_tuple_of(u, (size_t)(op - OP_TUPLE1 + 1));
    case OP_APPEND:
        return add_top(u, STASH_VALUE_LIST, 1);
    case OP_APPENDS:
        return appends(u);
    case OP_SETITEM:
        return add_top(u, STASH_VALUE_DICT, 2);
    case OP_SETITEMS:
        return setitems(u);
    }
    return STASH_E_CORRUPT;
}

static stash_status scalar_op(struct unpickler *u, int op)
{
    switch (op) {
    case OP_NONE:
        return push(u, value_shared_scalar(STASH_VALUE_NULL, 0));
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        return push(u, value_shared_scalar(STASH_VALUE_BOOL, op == OP_NEWTRUE));
    case OP_INT:
        return text_int(u, false);
    case OP_LONG:
        return text_int(u, true);
    case OP_BININT:
        return binary_int(u, 4, true);
    case OP_BININT1:
        return binary_int(u, 1, false);
    case OP_BININT2:
        return binary_int(u, 2, false);
    case OP_LONG1:
        return binary_long(u, 1);
    case OP_LONG4:
        return binary_long(u, 4);
    case OP_FLOAT:
        return text_float(u);
    case OP_BINFLOAT:
        return binary_float(u);
    case OP_STRING:
        return text_string(u);
    case OP_UNICODE:
        return text_unicode(u);
    case OP_BINSTRING:
        return counted(u, 4, STASH_VALUE_STRING, true);
    case OP_SHORT_BINSTRING:
        return counted(u, 1, STASH_VALUE_STRING, true);
    case OP_BINUNICODE:
        return counted(u, 4, STASH_VALUE_STRING, false);
    case OP_SHORT_BINUNICODE:
        return counted(u, 1, STASH_VALUE_STRING, false);
    case OP_BINUNICODE8:
        return counted(u, 8, STASH_VALUE_STRING, false);
    case OP_BINBYTES:
        return counted(u, 4, STASH_VALUE_BYTES, false);
    case OP_SHORT_BINBYTES:
        return counted(u, 1, STASH_VALUE_BYTES, false);
    case OP_BINBYTES8:
    case OP_BYTEARRAY8:
        return counted(u, 8, STASH_VALUE_BYTES, false);
    }
    return STASH_E_CORRUPT;
}

static stash_status framing_op(struct unpickler *u, int op)
{
    uint64_t n;
    stash_status st;
    switch (op) {
    case OP_PROTO:
        st = take_le(u, 1, &n);
        return st == STASH_OK && n > STASH_PICKLE_PROTOCOL_MAX ? STASH_E_VERSION : st;
    case OP_FRAME: /* frames only group opcodes; the length must still be there */
        st = take_le(u, 8, &n);
        return st == STASH_OK && n > u->len - u->pos ? STASH_E_TRUNCATED : st;
    case OP_READONLY_BUFFER: /* a no-op on in-band bytes */
        return u->depth && u->stack[u->depth - 1]->kind == STASH_VALUE_BYTES ? STASH_OK
                                                                            : STASH_E_CORRUPT;
    case OP_STOP:
        u->stopped = true;
        return u->depth ? STASH_OK : STASH_E_CORRUPT;
    }
    return STASH_E_CORRUPT;
}

/*
 * BINPERSID: an object kept outside the pickle, named by the id on the stack.
 * Only a reader given a loader (the result store's, for arrays) accepts it,
 * and only integer ids; to anyone else it is a call into unknown code.
 */
static stash_status persistent_load(struct unpickler *u)
{
    if (!u->load)
        return STASH_E_UNSAFE;
    size_t floor = u->mark_count ? u->marks[u->mark_count - 1] : 0;
    if (u->depth < floor + 1)
        return STASH_E_CORRUPT;
    stash_value *id = pop(u);
    stash_value *v = NULL;
    stash_status st = id->kind == STASH_VALUE_INT ? u->load(u->load_ctx, id->u.i, &v)
                                                  : STASH_E_CORRUPT;
    stash_value_free(&id);
    return st == STASH_OK ? push(u, v) : st;
}

/* What each opcode byte is: which handler, or why it is refused. */
enum op_class {
    UNKNOWN, STACK, MEMO, CONTAINER, SCALAR, FRAMING, CONSTRUCTOR, REFERENCE, UNSAFE, UNSUPPORTED
};

static enum op_class classify(int op)
{
    switch (op) {
    case OP_MARK: case OP_POP: case OP_POP_MARK: case OP_DUP:
        return STACK;
    case OP_GET: case OP_BINGET: case OP_LONG_BINGET:
    case OP_PUT: case OP_BINPUT: case OP_LONG_BINPUT: case OP_MEMOIZE:
        return MEMO;
    case OP_EMPTY_LIST: case OP_EMPTY_DICT: case OP_EMPTY_TUPLE: case OP_LIST:
    case OP_TUPLE: case OP_DICT: case OP_TUPLE1: case OP_TUPLE2: case OP_TUPLE3:
    case OP_APPEND: case OP_APPENDS: case OP_SETITEM: case OP_SETITEMS:
        return CONTAINER;
    case OP_PROTO: case OP_FRAME: case OP_READONLY_BUFFER: case OP_STOP:
        return FRAMING;
    case OP_GLOBAL: case OP_STACK_GLOBAL: case OP_REDUCE:
        return CONSTRUCTOR;
    case OP_BUILD:
        return CONSTRUCTOR;
    case OP_INST:
    case OP_OBJ: case OP_NEWOBJ: case OP_NEWOBJ_EX: case OP_EXT1: case OP_EXT2:
    case OP_EXT4: case OP_PERSID:
        return UNSAFE;
    case OP_BINPERSID:
        return REFERENCE;
    case OP_NEXT_BUFFER:
        return REFERENCE;
    case OP_EMPTY_SET: case OP_ADDITEMS: case OP_FROZENSET:
        return UNSUPPORTED;
    case OP_NONE: case OP_NEWTRUE: case OP_NEWFALSE: case OP_INT: case OP_LONG:
    case OP_BININT: case OP_BININT1: case OP_BININT2: case OP_LONG1: case OP_LONG4:
    case OP_FLOAT: case OP_BINFLOAT: case OP_STRING: case OP_UNICODE: case OP_BINSTRING:
    case OP_SHORT_BINSTRING: case OP_BINUNICODE: case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE8: case OP_BINBYTES: case OP_SHORT_BINBYTES: case OP_BINBYTES8:
    case OP_BYTEARRAY8:
        return SCALAR;
    }
    return UNKNOWN;
}

static stash_status step(struct unpickler *u, int op)
{
    switch (classify(op)) {
    case STACK:
        return stack_op(u, op);
    case MEMO:
        return memo_op(u, op);
    case CONTAINER:
        return container_op(u, op);
    case FRAMING:
        return framing_op(u, op);
    case CONSTRUCTOR:
        return op == OP_GLOBAL         ? global(u)
               : op == OP_STACK_GLOBAL ? stack_global(u)
               : op == OP_REDUCE       ? reduce(u)
                                       : build(u);
    case REFERENCE:
        return op == OP_NEXT_BUFFER ? next_buffer(u) : persistent_load(u);
    case UNSAFE:
        return STASH_E_UNSAFE;
    case UNSUPPORTED:
        return STASH_E_UNSUPPORTED;
    case SCALAR:
        return scalar_op(u, op);
    case UNKNOWN:
        break;
    }
    return STASH_E_CORRUPT;
}

static const char *opcode_name(int op)
{
    switch (op) {
#define PICKLE_OPCODE_NAME_(name, byte) \
    case byte:                          \
        return #name;
        PICKLE_OPCODE_TABLE(PICKLE_OPCODE_NAME_)
#undef PICKLE_OPCODE_NAME_
    }
    return "";
}

static void unpickler_free(struct unpickler *u)
{
    release_above(u, 0);
    for (size_t i = 0; i < u->memo_cap; i++)
        stash_value_free(&u->memo[i]);
    if (u->stack != u->stack_inline)
        free(u->stack);
    if (u->marks != u->marks_inline)
        free(u->marks);
    if (u->memo != u->memo_inline)
        free(u->memo);
}

static void report(stash_pickle_error *err, size_t offset, int op, const char *why)
{
    if (!err)
        return;
    err->offset = offset;
    err->opcode = op;
    snprintf(err->opcode_name, sizeof err->opcode_name, "%s", op < 0 ? "" : opcode_name(op));
    snprintf(err->name, sizeof err->name, "%s", why);
}

stash_status pickle_read_with(const void *buf, size_t len, const struct pickle_read_options *o,
                              stash_value **out, stash_pickle_error *err)
{
    if (!out || (!buf && len) || !o || (o->buffer_count && !o->buffers))
        return STASH_E_INVALID;
    struct unpickler u = {.in = buf, .len = len, .load = o->load, .load_ctx = o->load_ctx,
                          .buffers = o->buffers, .buffer_count = o->buffer_count};
    u.stack = u.stack_inline;
    u.stack_cap = sizeof u.stack_inline / sizeof *u.stack_inline;
    u.marks = u.marks_inline;
    u.marks_cap = sizeof u.marks_inline / sizeof *u.marks_inline;
    u.memo = u.memo_inline; /* zeroed with the rest of u */
    u.memo_cap = sizeof u.memo_inline / sizeof *u.memo_inline;
    u.limits = o->limits ? *o->limits
                         : (stash_pickle_limits){STASH_PICKLE_DEFAULT_MAX_NODES,
                                                 STASH_PICKLE_DEFAULT_MAX_BYTES};
    u.array_budget = u.limits.max_bytes;
    stash_status st = STASH_OK;
    size_t at = 0;
    int op = -1;
    while (st == STASH_OK && !u.stopped) {
        at = u.pos;
        op = u.pos < u.len ? u.in[u.pos++] : -1;
        st = op < 0 ? STASH_E_TRUNCATED : step(&u, op);
    }
    stash_value_kind kind = st == STASH_OK ? u.stack[u.depth - 1]->kind : STASH_VALUE_NULL;
    if (kind == VALUE_KIND_CONSTRUCTOR || kind == VALUE_KIND_ARGS)
        st = STASH_E_UNSAFE; /* a bare name, dtype or argument tuple is not a value */
    stash_value *result = st == STASH_OK ? pop(&u) : NULL;
    if (result)
        st = value_unshare(&result); /* the caller's root must be its own to change */
    if (st == STASH_OK) {
        *out = result;
        if (o->end)
            *o->end = u.pos;
    } else {
        report(err, at, op, u.why);
    }
    unpickler_free(&u);
    return st;
}

stash_status pickle_read_refs(const void *buf, size_t len, const stash_pickle_limits *limits,
                              pickle_load_fn load, void *load_ctx, stash_value **out,
                              stash_pickle_error *err)
{
    struct pickle_read_options o = {.limits = limits, .load = load, .load_ctx = load_ctx};
    return pickle_read_with(buf, len, &o, out, err);
}

stash_status stash_pickle_read(const void *buf, size_t len, const stash_pickle_limits *limits,
                               stash_value **out, stash_pickle_error *err)
{
    struct pickle_read_options o = {.limits = limits};
    return pickle_read_with(buf, len, &o, out, err);
}

stash_status stash_pickle_read_buffers(const void *buf, size_t len,
                                       const stash_pickle_limits *limits,
                                       const stash_pickle_buffer *buffers, size_t buffer_count,
                                       stash_value **out, stash_pickle_error *err)
{
    struct pickle_read_options o = {.limits = limits, .buffers = buffers,
                                    .buffer_count = buffer_count};
    /* A caller with no buffers still says that out-of-band data is expected. */
    static const stash_pickle_buffer none[1];
    if (!buffers && buffer_count == 0)
        o.buffers = none;
    return pickle_read_with(buf, len, &o, out, err);
}
