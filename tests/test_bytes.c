#include <stash/bytes.h>

#include "test_util.h"

#include <math.h>

static void test_load_and_store_put_bytes_in_the_named_order(void **state)
{
    (void)state;
    unsigned char b[8];
    stash_bytes_store_u16le(b, 0x0102);
    assert_memory_equal(b, "\x02\x01", 2);
    stash_bytes_store_u16be(b, 0x0102);
    assert_memory_equal(b, "\x01\x02", 2);
    stash_bytes_store_u32le(b, 0x01020304u);
    assert_memory_equal(b, "\x04\x03\x02\x01", 4);
    stash_bytes_store_u32be(b, 0x01020304u);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4);
    stash_bytes_store_u64le(b, 0x0102030405060708ull);
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    stash_bytes_store_u64be(b, 0x0102030405060708ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    stash_bytes_store_i16le(b, -2);
    assert_memory_equal(b, "\xfe\xff", 2);
    stash_bytes_store_i32be(b, -2);
    assert_memory_equal(b, "\xff\xff\xff\xfe", 4);
    stash_bytes_store_f32le(b, 1.0f);
    assert_memory_equal(b, "\x00\x00\x80\x3f", 4);
    stash_bytes_store_f64be(b, 1.0);
    assert_memory_equal(b, "\x3f\xf0\x00\x00\x00\x00\x00\x00", 8);
}

static void test_loads_invert_stores_for_every_type(void **state)
{
    (void)state;
    unsigned char b[8];
#define ROUND_TRIP_(name, ctype, bits, order, convert)                                       \
    do {                                                                                     \
        ctype v = (ctype)-123, w;                                                            \
        stash_bytes_store_##name##order(b, v);                                               \
        w = stash_bytes_load_##name##order(b);                                               \
        assert_memory_equal(&v, &w, sizeof v);                                               \
    } while (0);
#define BOTH_(name, ctype, bits) STASH_BYTES_ORDERS(ROUND_TRIP_, name, ctype, bits)
    STASH_BYTES_TYPES(BOTH_)
#undef BOTH_
#undef ROUND_TRIP_
    stash_bytes_store_i8(b, -5);
    assert_int_equal(stash_bytes_load_i8(b), -5);
    assert_int_equal(stash_bytes_load_u8(b), 251);
}

static void test_signed_loads_sign_extend(void **state)
{
    (void)state;
    assert_int_equal(stash_bytes_load_i16le("\x00\x80"), INT16_MIN);
    assert_int_equal(stash_bytes_load_i32le("\xff\xff\xff\xff"), -1);
    assert_true(stash_bytes_load_i64be("\x80\0\0\0\0\0\0\0") == INT64_MIN);
    assert_int_equal(stash_bytes_load_u16le("\x00\x80"), 0x8000);
}

static void test_float_bits_survive_including_nan_payloads(void **state)
{
    (void)state;
    unsigned char b[8] = {1, 0, 0, 0, 0, 0, 0xf8, 0x7f}; /* a NaN with payload 1 */
    unsigned char c[8];
    stash_bytes_store_f64le(c, stash_bytes_load_f64le(b));
    assert_memory_equal(b, c, 8);
    assert_true(isnan(stash_bytes_load_f64le(b)));
}

static void test_cursor_read_short_returns_eof_and_consumes_nothing(void **state)
{
    (void)state;
    const unsigned char buf[6] = {1, 2, 3, 4, 5, 6};
    size_t at = 0;
    uint32_t v = 77;
    assert_ok(stash_bytes_read_u32le(buf, sizeof buf, &at, &v));
    assert_int_equal(v, 0x04030201);
    assert_int_equal(at, 4);
    v = 77;
    assert_int_equal(stash_bytes_read_u32le(buf, sizeof buf, &at, &v), STASH_E_EOF);
    assert_int_equal(at, 4);
    assert_int_equal(v, 77);
    uint16_t w;
    assert_ok(stash_bytes_read_u16be(buf, sizeof buf, &at, &w));
    assert_int_equal(w, 0x0506);
}

static void test_cursor_past_the_end_is_eof_not_overflow(void **state)
{
    (void)state;
    const unsigned char buf[4] = {0};
    size_t at = SIZE_MAX - 1;
    uint64_t v;
    assert_int_equal(stash_bytes_read_u64le(buf, sizeof buf, &at, &v), STASH_E_EOF);
    assert_int_equal(at, SIZE_MAX - 1);
}

static void test_cursor_write_short_returns_full(void **state)
{
    (void)state;
    unsigned char buf[5] = {0};
    size_t at = 0;
    assert_ok(stash_bytes_write_u32be(buf, sizeof buf, &at, 0x0a0b0c0du));
    assert_int_equal(stash_bytes_write_u16le(buf, sizeof buf, &at, 1), STASH_E_FULL);
    assert_int_equal(at, 4);
    assert_memory_equal(buf, "\x0a\x0b\x0c\x0d\x00", 5);
}

static void test_stream_writers_keep_the_low_bits_and_count_bytes(void **state)
{
    (void)state;
    stash_stream *s;
    assert_ok(stash_stream_open_growable(0, &s));
    uint64_t wide = 0x12345;
    assert_ok(stash_stream_write_u8(s, (uint8_t)0x1ff));
    assert_ok(stash_stream_write_u16le(s, (uint16_t)wide));
    assert_ok(stash_stream_write_u32be(s, 7));
    assert_ok(stash_stream_write_i64le(s, -1));
    assert_int_equal(stash_stream_bytes_written(s), 15);
    const void *data;
    size_t len;
    assert_ok(stash_stream_memory_contents(s, &data, &len));
    assert_int_equal(len, 15);
    assert_memory_equal(data, "\xff\x45\x23\x00\x00\x00\x07", 7);
    stash_stream_close(&s);
}

static void test_stream_short_read_returns_eof_and_consumes_nothing(void **state)
{
    (void)state;
    stash_stream *s;
    assert_ok(stash_stream_open_memory("\x01\x02\x03", 3, &s));
    uint32_t v = 9;
    assert_int_equal(stash_stream_read_u32le(s, &v), STASH_E_EOF);
    assert_int_equal(v, 9);
    assert_int_equal(stash_stream_tell(s), 0);
    uint16_t w;
    assert_ok(stash_stream_read_u16be(s, &w));
    assert_int_equal(w, 0x0102);
    uint8_t b;
    assert_ok(stash_stream_read_u8(s, &b));
    assert_int_equal(b, 3);
    assert_int_equal(stash_stream_read_u8(s, &b), STASH_E_EOF);
    stash_stream_close(&s);
}

static void test_stream_arrays_round_trip_in_both_orders(void **state)
{
    (void)state;
    enum { N = 5000 }; /* more than one swap block */
    static int32_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i * 7919 - 100000;
    stash_stream *s;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_ok(stash_stream_write_i32be_array(s, in, N));
    assert_ok(stash_stream_write_i32le_array(s, in, N));
    assert_ok(stash_stream_seek(s, 0, STASH_SEEK_SET, NULL));
    int32_t first;
    assert_ok(stash_stream_read_i32be(s, &first));
    assert_int_equal(first, in[0]);
    assert_ok(stash_stream_seek(s, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_read_i32be_array(s, out, N));
    assert_memory_equal(in, out, sizeof in);
    assert_ok(stash_stream_read_i32le_array(s, out, N));
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(stash_stream_read_i32le_array(s, out, 1), STASH_E_EOF);
    stash_stream_close(&s);
}

static void test_stream_array_count_overflow_is_a_range_error(void **state)
{
    (void)state;
    stash_stream *s;
    uint64_t v;
    assert_ok(stash_stream_open_memory("", 0, &s));
    assert_int_equal(stash_stream_read_u64le_array(s, &v, SIZE_MAX / 2), STASH_E_RANGE);
    stash_stream_close(&s);
}

static void test_stream_values_straddling_the_file_buffer_decode(void **state)
{
    (void)state;
    const char *dir = scratch_dir();
    const char *path = path_in(dir, "straddle.bin");
    stash_stream *s;
    assert_ok(stash_stream_open_file(path, "w+", &s));
    assert_ok(stash_stream_set_buffer_bytes(s, STASH_STREAM_BUFFER_MIN));
    assert_ok(stash_stream_write_u8(s, 0xaa)); /* every u64 after it straddles a 4 KiB edge */
    for (uint64_t i = 0; i < 3000; i++)
        assert_ok(stash_stream_write_u64be(s, i * 0x0101010101ull));
    assert_ok(stash_stream_flush(s));
    assert_ok(stash_stream_seek(s, 1, STASH_SEEK_SET, NULL));
    for (uint64_t i = 0; i < 3000; i++) {
        uint64_t v;
        assert_ok(stash_stream_read_u64be(s, &v));
        assert_true(v == i * 0x0101010101ull);
    }
    uint64_t v;
    assert_int_equal(stash_stream_read_u64be(s, &v), STASH_E_EOF);
    stash_stream_close(&s);
    unlink(path);
    rmdir(dir);
}

static void test_stream_codecs_on_null_stream_report_closed(void **state)
{
    (void)state;
    uint32_t v;
    assert_int_equal(stash_stream_read_u32le(NULL, &v), STASH_E_CLOSED);
    assert_int_equal(stash_stream_write_u32le(NULL, 1), STASH_E_CLOSED);
    assert_int_equal(stash_stream_read_u32le_array(NULL, &v, 1), STASH_E_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_store_put_bytes_in_the_named_order),
        cmocka_unit_test(test_loads_invert_stores_for_every_type),
        cmocka_unit_test(test_signed_loads_sign_extend),
        cmocka_unit_test(test_float_bits_survive_including_nan_payloads),
        cmocka_unit_test(test_cursor_read_short_returns_eof_and_consumes_nothing),
        cmocka_unit_test(test_cursor_past_the_end_is_eof_not_overflow),
        cmocka_unit_test(test_cursor_write_short_returns_full),
        cmocka_unit_test(test_stream_writers_keep_the_low_bits_and_count_bytes),
        cmocka_unit_test(test_stream_short_read_returns_eof_and_consumes_nothing),
        cmocka_unit_test(test_stream_arrays_round_trip_in_both_orders),
        cmocka_unit_test(test_stream_array_count_overflow_is_a_range_error),
        cmocka_unit_test(test_stream_values_straddling_the_file_buffer_decode),
        cmocka_unit_test(test_stream_codecs_on_null_stream_report_closed),
    };
    return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
