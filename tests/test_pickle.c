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

static void test_arrays_cannot_be_pickled(void **state)
{
    (void)state;
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_UINT8, 0, NULL));
    stash_value *list, *array;
    assert_ok(stash_value_new_list(&list));
    assert_ok(stash_value_new_array(&d, "x", &array));
    assert_ok(stash_value_append(list, array));
    stash_stream *s;
    assert_ok(stash_stream_open_growable(16, &s));
    assert_int_equal(stash_pickle_write(s, list, 0), STASH_E_UNSUPPORTED);
    assert_int_equal(stash_stream_bytes_written(s), 0);
    assert_int_equal(stash_pickle_write(s, list, 2), STASH_E_INVALID);
    stash_stream_close(&s);
    stash_value_free(&list);
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
        cmocka_unit_test(test_arrays_cannot_be_pickled),
    };
    return cmocka_run_group_tests_name("pickle", tests, NULL, NULL);
}
