/*
 * The pickle codec: Python's own bytes for nengo's metadata in protocols 0 to
 * 5, refusals (each its own status, at the opcode at fault), and the bombs a
 * hostile file could hold. tests/interop/ checks against Python itself.
 */
#include "test_util.h"

#include <stash/pickle.h>

/* pickle.dumps({"0": 237, "str": "foobar"}, protocol) from Python 3.11. */
static const struct {
    const char *bytes;
    size_t len;
} nengo_meta[] = {
    {"(dp0\nV0\np1\nI237\nsVstr\np2\nVfoobar\np3\ns.", 38},
    {"}q\0(X\1\0\0\0\x30q\1K\xedX\3\0\0\0strq\2X\6\0\0\0foobarq\3u.", 39},
    {"\x80\2}q\0(X\1\0\0\0\x30q\1K\xedX\3\0\0\0strq\2X\6\0\0\0foobarq\3u.", 41},
    {"\x80\3}q\0(X\1\0\0\0\x30q\1K\xedX\3\0\0\0strq\2X\6\0\0\0foobarq\3u.", 41},
    {"\x80\4\x95\x1a\0\0\0\0\0\0\0}\x94(\x8c\1\x30\x94K\xed\x8c\3str\x94\x8c\6foobar\x94u.", 37},
    {"\x80\5\x95\x1a\0\0\0\0\0\0\0}\x94(\x8c\1\x30\x94K\xed\x8c\3str\x94\x8c\6foobar\x94u.", 37},
};

static stash_status read_pickle(const void *bytes, size_t len, stash_value **v,
                                stash_pickle_error *err)
{
    return stash_pickle_read(bytes, len, NULL, v, err);
}

static void test_nengo_metadata_reads_in_every_protocol(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof nengo_meta / sizeof nengo_meta[0]; p++) {
        stash_value *v = NULL;
        assert_ok(read_pickle(nengo_meta[p].bytes, nengo_meta[p].len, &v, NULL));
        int64_t i;
        const char *s;
        assert_ok(stash_value_get_int(stash_value_dict_get(v, "0"), &i));
        assert_int_equal(i, 237);
        assert_ok(stash_value_get_string(stash_value_dict_get(v, "str"), &s, NULL));
        assert_string_equal(s, "foobar");
        stash_value_free(&v);
    }
}

static void test_written_pickles_read_back(void **state)
{
    (void)state;
    const char *json = "{\"big\": -9223372036854775808, \"f\": 2.5, \"b\": {\"$bytes\": \"AAE=\"},"
                       " \"l\": [null, true, \"\\u20ac\", 70000, -129]}";
    stash_value *v, *back = NULL;
    assert_ok(stash_value_from_json(json, strlen(json), &v, NULL));
    for (int protocol = 3; protocol <= 5; protocol++) {
        stash_stream *s;
        const void *data;
        size_t len;
        assert_ok(stash_stream_open_growable(64, &s));
        assert_ok(stash_pickle_write(s, v, protocol));
        assert_ok(stash_stream_memory_contents(s, &data, &len));
        assert_int_equal(((const uint8_t *)data)[1], protocol);
        assert_ok(read_pickle(data, len, &back, NULL));
        assert_true(stash_value_equal(v, back));
        stash_value_free(&back);
        stash_stream_close(&s);
    }
    stash_value_free(&v);
}

static void test_imports_are_refused_at_the_opcode(void **state)
{
    (void)state;
    /* pickle.dumps(os.system, 0) and (os.system, 4) */
    const char p0[] = "cposix\nsystem\np0\n.";
    const char p4[] = "\x80\4\x95\x14\0\0\0\0\0\0\0\x8c\5posix\x94\x8c\6system\x94\x93\x94.";
    stash_value *v = NULL;
    stash_pickle_error err;
    assert_int_equal(read_pickle(p0, sizeof p0 - 1, &v, &err), STASH_E_UNSAFE);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.opcode_name, "GLOBAL");
    assert_int_equal(read_pickle(p4, sizeof p4 - 1, &v, &err), STASH_E_UNSAFE);
    assert_string_equal(err.opcode_name, "STACK_GLOBAL");
    const char build[] = "}b.", inst[] = "(i__main__\nX\n.", obj[] = "(]o.";
    assert_int_equal(read_pickle(build, 3, &v, &err), STASH_E_UNSAFE);
    assert_int_equal(read_pickle(inst, sizeof inst - 1, &v, &err), STASH_E_UNSAFE);
    assert_int_equal(read_pickle(obj, sizeof obj - 1, &v, &err), STASH_E_UNSAFE);
    assert_null(v);
}

static void test_python2_bytes_constructors_are_rebuilt_not_called(void **state)
{
    (void)state;
    /* pickle.dumps(b"\x00\x01\xff", 2) */
    const char p2[] = "\x80\2c_codecs\nencode\nq\0X\4\0\0\0\0\1\xc3\xbfq\1X\6\0\0\0latin1q\2"
                      "\x86q\3Rq\4.";
    stash_value *v = NULL;
    assert_ok(read_pickle(p2, sizeof p2 - 1, &v, NULL));
    const void *data;
    size_t len;
    assert_ok(stash_value_get_bytes(v, &data, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(data, "\0\1\xff", 3);
    stash_value_free(&v);
    /* The same name with other arguments, or left bare, is refused. */
    const char other[] = "c_codecs\nencode\n(Vx\nVrot13\ntR.", bare[] = "c_codecs\nencode\n.";
    assert_int_equal(read_pickle(other, sizeof other - 1, &v, NULL), STASH_E_UNSAFE);
    assert_int_equal(read_pickle(bare, sizeof bare - 1, &v, NULL), STASH_E_UNSAFE);
}

static void test_malformed_pickles_get_clear_statuses(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        stash_status want;
    } cases[] = {
        {"", 0, STASH_E_TRUNCATED},
        {"\x80\5N", 3, STASH_E_TRUNCATED},
        {"\x80\6N.", 4, STASH_E_VERSION},
        {"X\xff\xff\xff\x7f", 5, STASH_E_TRUNCATED},     /* length past the end */
        {"\x8b\xff\xff\xff\xff.", 6, STASH_E_CORRUPT},    /* LONG4 negative length */
        {"h\5.", 3, STASH_E_CORRUPT},                    /* memo key never set */
        {"Nr\xff\xff\xff\xff.", 7, STASH_E_CORRUPT},      /* memo key past the input */
        {"a.", 2, STASH_E_CORRUPT},                      /* append to nothing */
        {"Ne.", 3, STASH_E_CORRUPT},                     /* APPENDS without a mark */
        {".", 1, STASH_E_CORRUPT},                       /* STOP on an empty stack */
        {"\xff.", 2, STASH_E_CORRUPT},                   /* unknown opcode */
        {"\x8f.", 2, STASH_E_UNSUPPORTED},               /* a set */
        {"}K\1K\2s.", 7, STASH_E_UNSUPPORTED},           /* an int key */
        {"]\x94h\0a.", 6, STASH_E_UNSUPPORTED},          /* a list holding itself */
        {"\x8a\x09\0\0\0\0\0\0\0\0\1.", 12, STASH_E_UNSUPPORTED}, /* 2^64 */
        {"X\3\0\0\0\xed\xa0\x80.", 9, STASH_E_UNSUPPORTED}, /* a lone surrogate */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        stash_value *v = NULL;
        stash_status st = read_pickle(cases[c].bytes, cases[c].len, &v, NULL);
        if (st != cases[c].want)
            fail_msg("case %zu: got %d, want %d", c, st, cases[c].want);
        assert_null(v);
    }
}

/* ]h0 h0 \x86 ... : each level a tuple of the level below, twice. */
static void test_memo_bombs_hit_the_node_limit(void **state)
{
    (void)state;
    char bomb[1024];
    size_t n = 0;
    bomb[n++] = ']';
    for (int level = 0; level < 60; level++) {
        bomb[n++] = '\x94';               /* MEMOIZE: this level is memo[level] */
        bomb[n++] = 'h', bomb[n++] = (char)level; /* GET it a second time */
        bomb[n++] = '\x86';               /* TUPLE2 */
    }
    bomb[n++] = '.';
    stash_value *v = NULL;
    stash_pickle_error err;
    assert_int_equal(read_pickle(bomb, n, &v, &err), STASH_E_LIMIT);
    assert_null(v);
    /* The same shape, 10 levels deep (2047 nodes), is a fine tree. */
    stash_pickle_limits small = {4096, 1024};
    n = 0;
    bomb[n++] = ']';
    for (int level = 0; level < 10; level++) {
        bomb[n++] = '\x94';
        bomb[n++] = 'h', bomb[n++] = (char)level;
        bomb[n++] = '\x86';
    }
    bomb[n++] = '.';
    assert_ok(stash_pickle_read(bomb, n, &small, &v, NULL));
    assert_int_equal(stash_value_length(v), 2);
    stash_value_free(&v);
}

static void test_deep_nesting_is_refused_in_bounded_time(void **state)
{
    (void)state;
    size_t depth = 1000000;
    char *deep = malloc(depth + 1);
    memset(deep, ']', depth);
    /* a million empty lists, each appended into the one before */
    char *p = malloc(2 * depth + 2);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        p[n++] = ']';
    for (size_t i = 1; i < depth; i++)
        p[n++] = 'a';
    p[n++] = '.';
    stash_value *v = NULL;
    assert_int_equal(read_pickle(p, n, &v, NULL), STASH_E_LIMIT);
    memset(deep, '(', depth);
    deep[depth] = '.';
    assert_int_equal(read_pickle(deep, depth + 1, &v, NULL), STASH_E_CORRUPT);
    free(p);
    free(deep);
}

/* ---- NumPy arrays ---------------------------------------------------------------- */

/* pickle.dumps(numpy.arange(6, dtype=">i4").reshape(2, 3), 2) from NumPy 1.24. */
static const char numpy_p2[] =
    "\x80\x02" "cnumpy.core.multiarray\x0a_reconstruct\x0aq\x00" "cnumpy\x0andarray\x0aq"
    "\x01K\x00\x85q\x02" "c_codecs\x0a" "encode\x0aq\x03X\x01\x00\x00\x00" "bq\x04X\x06"
    "\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\x09(K\x01K\x02K\x03\x86q\x0a" "cnu"
    "mpy\x0a" "dtype\x0aq\x0bX\x02\x00\x00\x00i4q\x0c\x89\x88\x87q\x0dRq\x0e(K\x03X\x01"
    "\x00\x00\x00>q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10" "b\x89h\x03X\x18"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00"
    "\x00\x04\x00\x00\x00\x05q\x11h\x05\x86q\x12Rq\x13tq\x14" "b.";

static stash_value *new_array(stash_dtype dtype, stash_byte_order byte_order,
                              stash_array_order order, unsigned ndim, const uint64_t *shape,
                              unsigned seed)
{
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, dtype, ndim, shape));
    d.byte_order = byte_order;
    d.order = order;
    uint64_t nbytes;
    assert_ok(stash_array_nbytes(&d, &nbytes));
    unsigned char *data = malloc(nbytes + 1);
    for (uint64_t i = 0; i < nbytes; i++)
        data[i] = (unsigned char)(i * 37 + seed);
    if (dtype == STASH_DTYPE_BOOL)
        for (uint64_t i = 0; i < nbytes; i++)
            data[i] &= 1;
    stash_value *v = NULL;
    assert_ok(stash_value_new_array(&d, data, &v));
    free(data);
    return v;
}

/* The bytes stash_pickle_write makes of v (free them). */
static unsigned char *pickled(const stash_value *v, int protocol, size_t *len)
{
    stash_stream *s;
    const void *data;
    assert_ok(stash_stream_open_growable(64, &s));
    assert_ok(stash_pickle_write(s, v, protocol));
    assert_ok(stash_stream_memory_contents(s, &data, len));
    unsigned char *copy = malloc(*len);
    memcpy(copy, data, *len);
    stash_stream_close(&s);
    return copy;
}

static void test_numpys_own_array_pickle_is_rebuilt_not_called(void **state)
{
    (void)state;
    stash_value *v = NULL;
    assert_ok(read_pickle(numpy_p2, sizeof numpy_p2 - 1, &v, NULL));
    const stash_array_desc *d;
    const void *data;
    assert_ok(stash_value_get_array(v, &d, &data));
    assert_int_equal(d->dtype, STASH_DTYPE_INT32);
    assert_int_equal(d->byte_order, STASH_BIG_ENDIAN);
    assert_int_equal(d->order, STASH_ORDER_C);
    assert_int_equal(d->ndim, 2);
    assert_int_equal(d->shape[0], 2);
    assert_int_equal(d->shape[1], 3);
    assert_memory_equal(data, "\0\0\0\0\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 24);
    stash_value_free(&v);
}

static void test_arrays_of_every_dtype_and_layout_round_trip(void **state)
{
    (void)state;
    static const uint64_t shapes[][5] = {{0}, {7}, {2, 3}, {2, 1, 3}, {2, 2, 1, 3}, {1, 2, 2, 1, 2}};
    stash_value *list;
    assert_ok(stash_value_new_list(&list));
    for (unsigned t = 0; t < STASH_DTYPE_COUNT; t++)
        for (unsigned ndim = 0; ndim <= 5; ndim++)
            for (int f = 0; f < 2; f++)
                assert_ok(stash_value_append(
                    list, new_array((stash_dtype)t, (stash_byte_order)((t + ndim) % 2),
                                    f ? STASH_ORDER_F : STASH_ORDER_C, ndim, shapes[ndim],
                                    t * 7 + ndim)));
    uint64_t empty_shape[2] = {0, 4};
    assert_ok(stash_value_append(list, new_array(STASH_DTYPE_INT16, STASH_LITTLE_ENDIAN,
                                                 STASH_ORDER_C, 2, empty_shape, 0)));
    for (int protocol = 3; protocol <= 5; protocol++) {
        size_t len;
        unsigned char *bytes = pickled(list, protocol, &len);
        stash_value *back = NULL;
        assert_ok(read_pickle(bytes, len, &back, NULL));
        assert_true(stash_value_equal(list, back));
        /* Byte order is kept as pickled, not converted. */
        const stash_array_desc *d;
        const void *data;
        size_t int32_2d_c = STASH_DTYPE_INT32 * 12 + 2 * 2 + 0; /* (3 + 2) % 2: big-endian */
        assert_ok(stash_value_get_array(stash_value_item(back, int32_2d_c), &d, &data));
        assert_int_equal(d->byte_order, STASH_BIG_ENDIAN);
        stash_value_free(&back);
        free(bytes);
    }
    stash_value_free(&list);
}

static void test_out_of_band_buffers_come_from_the_caller(void **state)
{
    (void)state;
    /* _frombuffer(NEXT_BUFFER, dtype("u1"), (4,), "C"), as pickle.dumps(a, 5, buffer_callback=...) */
    const char p5[] = "\x80\5\x8c\x12numpy.core.numeric\x8c\x0b_frombuffer\x93(\x97\x98"
                      "\x8c\5numpy\x8c\5dtype\x93\x8c\2u1\x89\x88\x87R(K\3\x8c\1|NNNJ\xff\xff\xff"
                      "\xffJ\xff\xff\xff\xffK\0tbK\4\x85\x8c\1CtR.";
    stash_value *v = NULL;
    stash_pickle_error err;
    assert_int_equal(read_pickle(p5, sizeof p5 - 1, &v, &err), STASH_E_UNSUPPORTED);
    assert_string_equal(err.opcode_name, "NEXT_BUFFER");
    assert_int_equal(stash_pickle_read_buffers(p5, sizeof p5 - 1, NULL, NULL, 0, &v, &err),
                     STASH_E_CORRUPT);
    stash_pickle_buffer wrong = {"\1\2\3", 3}, right = {"\1\2\3\4", 4};
    assert_int_equal(stash_pickle_read_buffers(p5, sizeof p5 - 1, NULL, &wrong, 1, &v, &err),
                     STASH_E_SHAPE);
    assert_ok(stash_pickle_read_buffers(p5, sizeof p5 - 1, NULL, &right, 1, &v, &err));
    const stash_array_desc *d;
    const void *data;
    assert_ok(stash_value_get_array(v, &d, &data));
    assert_int_equal(d->dtype, STASH_DTYPE_UINT8);
    assert_memory_equal(data, "\1\2\3\4", 4);
    stash_value_free(&v);
}

/* Replaces the first from[0..n) in bytes by to[0..n). */
static void patch(unsigned char *bytes, size_t len, const char *from, const char *to, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(bytes + i, from, n) == 0) {
            memcpy(bytes + i, to, n);
            return;
        }
    }
    fail_msg("pattern not found");
}

static void test_hostile_array_pickles_get_clear_statuses(void **state)
{
    (void)state;
    stash_value *v = NULL;
    stash_pickle_error err;
    /* numpy.load and builtins.eval by name: refused at the name, which is reported. */
    const char load[] = "\x80\4\x8c\5numpy\x8c\4load\x93\x8c\1xR.";
    const char eval[] = "\x80\2cbuiltins\neval\nX\1\0\0\0x\x85R.";
    assert_int_equal(read_pickle(load, sizeof load - 1, &v, &err), STASH_E_UNSAFE);
    assert_string_equal(err.name, "numpy.load");
    assert_int_equal(read_pickle(eval, sizeof eval - 1, &v, &err), STASH_E_UNSAFE);
    assert_string_equal(err.name, "builtins.eval");
    assert_string_equal(err.opcode_name, "GLOBAL");
    /* A known name used in another way: dtype applied to a list, BUILD on a dict. */
    const char odd[] = "\x80\2cnumpy\ndtype\n]\x85R.";
    assert_int_equal(read_pickle(odd, sizeof odd - 1, &v, &err), STASH_E_UNSAFE);
    const char build[] = "\x80\2}}b.";
    assert_int_equal(read_pickle(build, sizeof build - 1, &v, &err), STASH_E_UNSAFE);
    /* A bare dtype is not a value. */
    const char bare[] = "\x80\2cnumpy\ndtype\nX\2\0\0\0f8\x89\x88\x87R.";
    assert_int_equal(read_pickle(bare, sizeof bare - 1, &v, &err), STASH_E_UNSAFE);
    /* A dtype stash has no type for, named. */
    const char text[] = "\x80\2cnumpy\ndtype\nX\2\0\0\0U3\x89\x88\x87R.";
    assert_int_equal(read_pickle(text, sizeof text - 1, &v, &err), STASH_E_DTYPE);
    assert_string_equal(err.name, "U3");
    /* A dtype state claiming 2^62-byte items: refused before any size is computed. */
    const char huge[] = "\x80\2cnumpy\ndtype\nX\2\0\0\0f8\x89\x88\x87R(K\3X\1\0\0\0<NNN"
                        "\x8a\x08\0\0\0\0\0\0\0\x40J\xff\xff\xff\xffK\0tb.";
    assert_int_equal(read_pickle(huge, sizeof huge - 1, &v, &err), STASH_E_CORRUPT);
    assert_string_equal(err.opcode_name, "BUILD");
    /* Shape and bytes that disagree, and a shape whose size overflows. */
    for (int protocol = 3; protocol <= 5; protocol++) {
        uint64_t shape[2] = {2, 3};
        stash_value *a = new_array(STASH_DTYPE_INT32, STASH_LITTLE_ENDIAN, STASH_ORDER_C, 2,
                                   shape, 1);
        size_t len;
        unsigned char *bytes = pickled(a, protocol, &len);
        patch(bytes, len, "K\2K\3\x86", "K\2K\4\x86", 4);
        assert_int_equal(read_pickle(bytes, len, &v, &err), STASH_E_SHAPE);
        free(bytes);
        stash_value_free(&a);
    }
    const char overflow[] = "\x80\4\x8c\x15numpy.core.multiarray\x8c\x0c_reconstruct\x93"
                            "\x8c\5numpy\x8c\7ndarray\x93K\0\x85\x43\1b\x87R(K\1"
                            "\x8a\x08\0\0\0\0\0\0\0\x40\x8a\x08\0\0\0\0\0\0\0\x40\x86"
                            "\x8c\5numpy\x8c\5dtype\x93\x8c\2f8\x89\x88\x87R"
                            "(K\3\x8c\1<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\0tb\x89\x43\0tb.";
    assert_int_equal(read_pickle(overflow, sizeof overflow - 1, &v, &err), STASH_E_RANGE);
    assert_null(v);
}

/* Appends n bytes to a growing buffer. */
static void put_bytes(unsigned char *buf, size_t *len, const void *bytes, size_t n)
{
    memcpy(buf + *len, bytes, n);
    *len += n;
}

/*
 * One 64 KiB bytes object in the memo, then a thousand _frombuffer calls on it:
 * each array made is taken from the payload limit at once, so the read stops at the
 * seventeenth array of a 1 MiB limit instead of making 64 MiB of arrays first.
 */
static void test_shared_bytes_cannot_be_rebuilt_into_arrays_without_bound(void **state)
{
    (void)state;
    size_t cap = 70000 + 1000 * 64, len = 0;
    unsigned char *p = malloc(cap);
    put_bytes(p, &len, "\x80\4B\0\0\1\0", 7); /* BINBYTES of 65536 */
    memset(p + len, 7, 65536);
    len += 65536;
    put_bytes(p, &len, "\x94" "0", 2); /* MEMOIZE as 0, POP */
    static const char dtype[] = "\x8c\5numpy\x8c\5dtype\x93\x8c\2u1\x89\x88\x87R\x94" "0";
    put_bytes(p, &len, dtype, sizeof dtype - 1); /* memo 1 */
    put_bytes(p, &len, "](", 2);
    static const char call[] = "\x8c\x12numpy.core.numeric\x8c\x0b_frombuffer\x93(h\0h\1"
                               "J\0\0\1\0\x85\x8c\1CtR";
    for (int i = 0; i < 1000; i++)
        put_bytes(p, &len, call, sizeof call - 1);
    put_bytes(p, &len, "e.", 2);
    stash_pickle_limits limits = {1u << 24, 1u << 20};
    stash_value *v = NULL;
    stash_pickle_error err;
    assert_int_equal(stash_pickle_read(p, len, &limits, &v, &err), STASH_E_LIMIT);
    assert_string_equal(err.opcode_name, "REDUCE");
    limits.max_bytes = 1u << 30; /* 64 MiB of arrays is within this one */
    assert_ok(stash_pickle_read(p, len, &limits, &v, &err));
    assert_int_equal(stash_value_length(v), 1000);
    stash_value_free(&v);
    free(p);
}

/* Small ints, None and bools inside a tree are shared nodes; a root is always the caller's. */
static void test_a_scalar_root_is_the_callers_own(void **state)
{
    (void)state;
    const char *roots[] = {"\x80\4K\5.", "\x80\4N.", "\x80\4\x88.", "\x80\4J\xff\xff\xff\xff."};
    const size_t lens[] = {5, 4, 4, 8};
    for (size_t i = 0; i < 4; i++) {
        stash_value *v = NULL, *list = NULL;
        assert_ok(read_pickle(roots[i], lens[i], &v, NULL));
        assert_ok(stash_value_new_list(&list));
        assert_ok(stash_value_append(list, v)); /* refused if v were frozen or shared */
        stash_value_free(&list);
    }
    /* A tuple the reader made with room for its items grows like any other. */
    stash_value *pair = NULL;
    assert_ok(read_pickle("\x80\4K\1K\2\x86.", 8, &pair, NULL));
    for (int64_t i = 3; i < 40; i++) {
        stash_value *item = NULL;
        assert_ok(stash_value_new_int(i * 1000, &item));
        assert_ok(stash_value_append(pair, item));
    }
    assert_int_equal(stash_value_length(pair), 39);
    int64_t last;
    assert_ok(stash_value_get_int(stash_value_item(pair, 38), &last));
    assert_int_equal(last, 39000);
    stash_value_free(&pair);
    /* Shared ones inside a tree read, compare and free as any other. */
    const char tree[] = "\x80\4](K\5K\5N\x88\x89" "e.";
    stash_value *v = NULL, *want = NULL;
    assert_ok(read_pickle(tree, sizeof tree - 1, &v, NULL));
    assert_ok(stash_value_from_json("[5, 5, null, true, false]", 25, &want, NULL));
    assert_true(stash_value_equal(v, want));
    stash_value_free(&v);
    stash_value_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nengo_metadata_reads_in_every_protocol),
        cmocka_unit_test(test_written_pickles_read_back),
        cmocka_unit_test(test_imports_are_refused_at_the_opcode),
        cmocka_unit_test(test_python2_bytes_constructors_are_rebuilt_not_called),
        cmocka_unit_test(test_malformed_pickles_get_clear_statuses),
        cmocka_unit_test(test_memo_bombs_hit_the_node_limit),
        cmocka_unit_test(test_deep_nesting_is_refused_in_bounded_time),
        cmocka_unit_test(test_numpys_own_array_pickle_is_rebuilt_not_called),
        cmocka_unit_test(test_arrays_of_every_dtype_and_layout_round_trip),
        cmocka_unit_test(test_out_of_band_buffers_come_from_the_caller),
        cmocka_unit_test(test_hostile_array_pickles_get_clear_statuses),
        cmocka_unit_test(test_shared_bytes_cannot_be_rebuilt_into_arrays_without_bound),
        cmocka_unit_test(test_a_scalar_root_is_the_callers_own),
    };
    return cmocka_run_group_tests_name("pickle", tests, NULL, NULL);
}
