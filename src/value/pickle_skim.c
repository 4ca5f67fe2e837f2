/*
 * Skimming a pickle: its opcodes walked by their argument formats, nothing
 * built, nothing looked up. What it finds, where the pickle ends and the str
 * under "key" of a top-level dict, lets the pickle: store index a file of
 * records without reading each record in full (a get still reads its record
 * with the safe reader, which judges it). The stack is modelled as slots
 * that are either a string literal or something else, and the memo likewise.
 */
#include "value/pickle_internal.h"
#include "value/pickle_opcodes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A stack slot or memo entry: a string literal in the input, or anything else (s NULL). */
struct slot {
    const char *s;
    size_t len;
    bool set; /* in the memo: the entry has been put */
};

struct skim {
    const uint8_t *in;
    size_t len, pos;
    struct slot *stack;
    size_t depth, cap;
    size_t *marks;
    size_t mark_count, marks_cap;
    struct slot *memo;
    size_t memo_cap, memo_entries;
    const char *key; /* the record's key, once a pair ("key", literal) went into slot 0 */
    size_t key_len;
    bool key_unknown; /* a "key" went into slot 0 with a value that is not a literal */
    /* The first slots, zeroed with the rest: a record needs no allocation. */
    struct slot stack_inline[64];
    size_t marks_inline[16];
    struct slot memo_inline[64];
};

static stash_status take(struct skim *k, size_t n, const uint8_t **p)
{
    if (n > k->len - k->pos)
        return STASH_E_TRUNCATED;
    *p = k->in + k->pos;
    k->pos += n;
    return STASH_OK;
}

static stash_status take_le(struct skim *k, size_t n, uint64_t *v)
{
    const uint8_t *p;
    stash_status st = take(k, n, &p);
    *v = 0;
    for (size_t i = 0; st == STASH_OK && i < n; i++)
        *v |= (uint64_t)p[i] << (8 * i);
    return st;
}

static stash_status take_line(struct skim *k, const uint8_t **line, size_t *n)
{
    const uint8_t *start = k->in + k->pos;
    const uint8_t *nl = memchr(start, '\n', k->len - k->pos);
    if (!nl)
        return STASH_E_TRUNCATED;
    *line = start;
    *n = (size_t)(nl - start);
    k->pos += *n + 1;
    return STASH_OK;
}

/* Grows an array that starts in inline slots (copied out of them once). New slots are zero. */
static stash_status grow(void **array, size_t *cap, size_t need, size_t elem, void *inline_slots)
{
    if (need <= *cap)
        return STASH_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return -ENOMEM;
    void *p = *array == inline_slots ? malloc(n * elem) : realloc(*array, n * elem);
    if (!p)
        return -ENOMEM;
    if (*array == inline_slots)
        memcpy(p, inline_slots, *cap * elem);
    memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
    *array = p;
    *cap = n;
    return STASH_OK;
}

static stash_status push(struct skim *k, const char *s, size_t len)
{
    stash_status st =
        grow((void **)&k->stack, &k->cap, k->depth + 1, sizeof *k->stack, k->stack_inline);
    if (st == STASH_OK)
        k->stack[k->depth++] = (struct slot){s, len, false};
    return st;
}

static size_t floor_of(const struct skim *k)
{
    return k->mark_count ? k->marks[k->mark_count - 1] : 0;
}

/* Pops n items and pushes one that is not a literal. */
static stash_status replace(struct skim *k, size_t n)
{
    if (k->depth < floor_of(k) + n)
        return STASH_E_CORRUPT;
    k->depth -= n;
    return push(k, NULL, 0);
}

static stash_status pop_mark(struct skim *k, size_t *start)
{
    if (k->mark_count == 0)
        return STASH_E_CORRUPT;
    *start = k->marks[--k->mark_count];
    return *start <= k->depth ? STASH_OK : STASH_E_CORRUPT;
}

static bool is_literal(const struct slot *s, const char *text)
{
    return s->s && s->len == strlen(text) && memcmp(s->s, text, s->len) == 0;
}

/* Pairs stack[from..depth) set into the container in slot `into`: note the record's key. */
static void note_pairs(struct skim *k, size_t into, size_t from)
{
    if (into != 0)
        return;
    for (size_t i = from; i + 1 < k->depth; i += 2) {
        if (!is_literal(&k->stack[i], "key"))
            continue;
        k->key = k->stack[i + 1].s;
        k->key_len = k->stack[i + 1].len;
        k->key_unknown = k->key == NULL;
    }
}

/* A counted argument: its length in len_bytes, then that many bytes. */
static stash_status counted(struct skim *k, size_t len_bytes, bool literal)
{
    uint64_t n;
    const uint8_t *p;
    stash_status st = take_le(k, len_bytes, &n);
    if (st == STASH_OK)
        st = take(k, n, &p);
    return st == STASH_OK ? push(k, literal ? (const char *)p : NULL, n) : st;
}

static stash_status memo_put(struct skim *k, uint64_t key)
{
    if (k->depth == 0 || key > k->len)
        return STASH_E_CORRUPT;
    stash_status st =
        grow((void **)&k->memo, &k->memo_cap, key + 1, sizeof *k->memo, k->memo_inline);
    if (st != STASH_OK)
        return st;
    if (!k->memo[key].set)
        k->memo_entries++; /* as the reader counts them, for MEMOIZE's numbers */
    k->memo[key] = k->stack[k->depth - 1];
    k->memo[key].set = true;
    return STASH_OK;
}

static stash_status memo_get(struct skim *k, uint64_t key)
{
    if (key >= k->memo_cap)
        return STASH_E_CORRUPT;
    return push(k, k->memo[key].s, k->memo[key].len);
}

static stash_status line_key(struct skim *k, uint64_t *key)
{
    const uint8_t *line;
    size_t n;
    stash_status st = take_line(k, &line, &n);
    *key = 0;
    /* A sign is let through: the reader judges it. The skim is never stricter than the
     * reader, so every pickle the reader accepts is skimmed to the same end. */
    for (size_t i = st == STASH_OK && n && (line[0] == '+' || line[0] == '-'); st == STASH_OK && i < n;
         i++) {
        if (line[i] < '0' || line[i] > '9' || *key > k->len)
            return STASH_E_CORRUPT;
        *key = *key * 10 + (uint64_t)(line[i] - '0');
    }
    return st;
}

/* MARK-delimited opcodes: collapse to a new item (push) or into the container below. */
static stash_status to_mark(struct skim *k, int op)
{
    size_t start;
    stash_status st = pop_mark(k, &start);
    if (st != STASH_OK)
        return st;
    if (op == OP_SETITEMS || op == OP_APPENDS || op == OP_ADDITEMS) {
        if (start == 0 || start <= floor_of(k))
            return STASH_E_CORRUPT;
        if (op == OP_SETITEMS)
            note_pairs(k, start - 1, start);
        k->depth = start;
        return STASH_OK;
    }
    if (op == OP_DICT)
        note_pairs(k, start, start);
    if (op == OP_INST) {
        const uint8_t *line;
        size_t n;
        for (int i = 0; i < 2 && st == STASH_OK; i++)
            st = take_line(k, &line, &n);
    }
    k->depth = start;
    return st == STASH_OK ? push(k, NULL, 0) : st;
}

static stash_status fixed(struct skim *k, size_t n, int delta)
{
    const uint8_t *p;
    stash_status st = take(k, n, &p);
    if (st != STASH_OK)
        return st;
    return delta > 0 ? push(k, NULL, 0) : STASH_OK;
}

static stash_status skim_op(struct skim *k, int op)
{
    uint64_t v;
    const uint8_t *line;
    size_t n;
    stash_status st;
    switch (op) {
    case OP_MARK:
        st = grow((void **)&k->marks, &k->marks_cap, k->mark_count + 1, sizeof *k->marks,
                  k->marks_inline);
        if (st == STASH_OK)
            k->marks[k->mark_count++] = k->depth;
        return st;
    case OP_POP:
        if (k->depth > floor_of(k)) {
            k->depth--;
            return STASH_OK;
        }
        return pop_mark(k, &n);
    case OP_POP_MARK:
        st = pop_mark(k, &n);
        k->depth = st == STASH_OK ? n : k->depth;
        return st;
    case OP_DUP:
        return k->depth ? push(k, k->stack[k->depth - 1].s, k->stack[k->depth - 1].len)
                        : STASH_E_CORRUPT;
    case OP_NONE: case OP_NEWTRUE: case OP_NEWFALSE: case OP_EMPTY_DICT: case OP_EMPTY_LIST:
    case OP_EMPTY_TUPLE: case OP_EMPTY_SET: case OP_NEXT_BUFFER:
        return push(k, NULL, 0);
    case OP_BININT1: case OP_EXT1:
        return fixed(k, 1, 1);
    case OP_BININT2: case OP_EXT2:
        return fixed(k, 2, 1);
    case OP_BININT: case OP_EXT4:
        return fixed(k, 4, 1);
    case OP_BINFLOAT:
        return fixed(k, 8, 1);
    case OP_PROTO:
        st = take_le(k, 1, &v);
        return st == STASH_OK && v > STASH_PICKLE_PROTOCOL_MAX ? STASH_E_VERSION : st;
    case OP_FRAME:
        return fixed(k, 8, 0);
    case OP_INT: case OP_LONG: case OP_FLOAT: case OP_STRING: case OP_PERSID:
        st = take_line(k, &line, &n);
        return st == STASH_OK ? push(k, NULL, 0) : st;
    case OP_UNICODE: /* a literal only if nothing in it is escaped */
        st = take_line(k, &line, &n);
        return st == STASH_OK ? push(k, memchr(line, '\\', n) ? NULL : (const char *)line, n)
                              : st;
    case OP_GLOBAL:
        st = take_line(k, &line, &n);
        if (st == STASH_OK)
            st = take_line(k, &line, &n);
        return st == STASH_OK ? push(k, NULL, 0) : st;
    case OP_SHORT_BINUNICODE:
        return counted(k, 1, true);
    case OP_BINUNICODE:
        return counted(k, 4, true);
    case OP_BINUNICODE8:
        return counted(k, 8, true);
    case OP_SHORT_BINSTRING: case OP_SHORT_BINBYTES: case OP_LONG1:
        return counted(k, 1, false);
    case OP_BINSTRING: case OP_BINBYTES: case OP_LONG4:
        return counted(k, 4, false);
    case OP_BINBYTES8: case OP_BYTEARRAY8:
        return counted(k, 8, false);
    case OP_BINGET:
    case OP_LONG_BINGET:
        st = take_le(k, op == OP_BINGET ? 1 : 4, &v);
        return st == STASH_OK ? memo_get(k, v) : st;
    case OP_GET:
        st = line_key(k, &v);
        return st == STASH_OK ? memo_get(k, v) : st;
    case OP_BINPUT:
    case OP_LONG_BINPUT:
        st = take_le(k, op == OP_BINPUT ? 1 : 4, &v);
        return st == STASH_OK ? memo_put(k, v) : st;
    case OP_PUT:
        st = line_key(k, &v);
        return st == STASH_OK ? memo_put(k, v) : st;
    case OP_MEMOIZE:
        return memo_put(k, k->memo_entries);
    case OP_READONLY_BUFFER: /* changes nothing on the stack */
        return k->depth ? STASH_OK : STASH_E_CORRUPT;
    case OP_BINPERSID: case OP_TUPLE1:
        return replace(k, 1);
    case OP_REDUCE: case OP_BUILD: case OP_STACK_GLOBAL: case OP_TUPLE2: case OP_APPEND:
    case OP_NEWOBJ:
        return replace(k, 2);
    case OP_TUPLE3: case OP_NEWOBJ_EX:
        return replace(k, 3);
    case OP_SETITEM:
        if (k->depth < floor_of(k) + 3)
            return STASH_E_CORRUPT;
        note_pairs(k, k->depth - 3, k->depth - 2);
        k->depth -= 2;
        return STASH_OK;
    case OP_TUPLE: case OP_LIST: case OP_DICT: case OP_FROZENSET: case OP_INST: case OP_OBJ:
    case OP_APPENDS: case OP_SETITEMS: case OP_ADDITEMS:
        return to_mark(k, op);
    }
    return STASH_E_CORRUPT;
}

stash_status pickle_skim_record(const void *buf, size_t len, size_t *end, const char **key,
                                size_t *key_len)
{
    struct skim k = {.in = buf, .len = len};
    k.stack = k.stack_inline;
    k.cap = sizeof k.stack_inline / sizeof *k.stack_inline;
    k.marks = k.marks_inline;
    k.marks_cap = sizeof k.marks_inline / sizeof *k.marks_inline;
    k.memo = k.memo_inline;
    k.memo_cap = sizeof k.memo_inline / sizeof *k.memo_inline;
    stash_status st = STASH_OK;
    bool stopped = false;
    while (st == STASH_OK && !stopped) {
        int op = k.pos < k.len ? k.in[k.pos++] : -1;
        if (op < 0)
            st = STASH_E_TRUNCATED;
        else if (op == OP_STOP)
            stopped = true;
        else
            st = skim_op(&k, op);
    }
    if (st == STASH_OK) {
        *end = k.pos;
        *key = k.key_unknown ? NULL : k.key;
        *key_len = k.key_len;
    }
    if (k.stack != k.stack_inline)
        free(k.stack);
    if (k.marks != k.marks_inline)
        free(k.marks);
    if (k.memo != k.memo_inline)
        free(k.memo);
    return st;
}
