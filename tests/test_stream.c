#include <stash/bytes.h>
#include <stash/stream.h>

#include "test_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = scratch_dir();
    return 0;
}

static void read_all_into(stash_stream *s, char *buf, size_t cap, size_t *len)
{
    size_t got = 0, n;
    do {
        assert_ok(stash_stream_read(s, buf + got, cap - got, &n));
        got += n;
    } while (n > 0 && got < cap);
    *len = got;
}

/* ---- Memory ------------------------------------------------------------- */

static void test_memory_view_is_read_only(void **state)
{
    (void)state;
    stash_stream *s;
    char buf[8];
    size_t n;
    assert_ok(stash_stream_open_memory("abc", 3, &s));
    assert_int_equal(stash_stream_write(s, "x", 1), STASH_E_NOT_WRITABLE);
    assert_ok(stash_stream_read(s, buf, sizeof buf, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_ok(stash_stream_read(s, buf, sizeof buf, &n));
    assert_int_equal(n, 0);
    assert_true(stash_stream_at_end(s));
    stash_stream_close(&s);
}

static void test_fixed_buffer_rejects_growth_past_capacity_unchanged(void **state)
{
    (void)state;
    char buf[8] = "abcd";
    stash_stream *s;
    assert_ok(stash_stream_open_buffer(buf, sizeof buf, 4, &s));
    assert_ok(stash_stream_seek(s, 0, STASH_SEEK_END, NULL));
    assert_ok(stash_stream_write(s, "efgh", 4));
    assert_int_equal(stash_stream_write(s, "i", 1), STASH_E_FULL);
    assert_int_equal(stash_stream_pwrite(s, "zz", 2, 7), STASH_E_FULL);
    assert_memory_equal(buf, "abcdefgh", 8);
    uint64_t size;
    assert_ok(stash_stream_size(s, &size));
    assert_int_equal(size, 8);
    assert_int_equal(stash_stream_open_buffer(buf, 4, 5, &s), STASH_E_INVALID);
    stash_stream_close(&s);
}

static void test_growable_write_past_end_zero_fills_the_gap(void **state)
{
    (void)state;
    stash_stream *s;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_ok(stash_stream_pwrite(s, "12345", 5, 0));
    assert_ok(stash_stream_pwrite(s, "67890", 5, 15));
    const void *data;
    size_t len;
    assert_ok(stash_stream_memory_contents(s, &data, &len));
    assert_int_equal(len, 20);
    assert_memory_equal(data, "12345\0\0\0\0\0\0\0\0\0\0" "67890", 20);
    assert_int_equal(stash_stream_tell(s), 0); /* positional writes leave it */
    stash_stream_close(&s);
}

/* ---- Seeking ------------------------------------------------------------ */

static void test_seek_rejects_bad_whence_and_negative_results(void **state)
{
    (void)state;
    stash_stream *s;
    uint64_t pos = 99;
    assert_ok(stash_stream_open_memory("0123456789", 10, &s));
    assert_int_equal(stash_stream_seek(s, 0, 3, &pos), STASH_E_INVALID);
    assert_int_equal(stash_stream_seek(s, 0, -1, &pos), STASH_E_INVALID);
    assert_int_equal(stash_stream_seek(s, -1, STASH_SEEK_SET, &pos), STASH_E_INVALID);
    assert_int_equal(stash_stream_seek(s, -11, STASH_SEEK_END, &pos), STASH_E_INVALID);
    assert_int_equal(stash_stream_seek(s, INT64_MIN, STASH_SEEK_CUR, &pos), STASH_E_INVALID);
    assert_int_equal(pos, 99); /* untouched on failure */
    assert_ok(stash_stream_seek(s, -2, STASH_SEEK_END, &pos));
    assert_int_equal(pos, 8);
    assert_ok(stash_stream_seek(s, INT64_MAX - 8, STASH_SEEK_CUR, &pos));
    assert_int_equal(stash_stream_seek(s, 1, STASH_SEEK_CUR, &pos), STASH_E_RANGE);
    stash_stream_close(&s);
}

static void test_seek_past_end_then_write_leaves_zeros(void **state)
{
    (void)state;
    stash_stream *s;
    assert_ok(stash_stream_open_growable(4, &s));
    assert_ok(stash_stream_write(s, "ab", 2));
    assert_ok(stash_stream_seek(s, 3, STASH_SEEK_END, NULL));
    assert_ok(stash_stream_write(s, "c", 1));
    const void *data;
    size_t len;
    assert_ok(stash_stream_memory_contents(s, &data, &len));
    assert_int_equal(len, 6);
    assert_memory_equal(data, "ab\0\0\0c", 6);
    stash_stream_close(&s);
}

/* ---- Files -------------------------------------------------------------- */

static void test_file_open_reports_the_system_reason(void **state)
{
    (void)state;
    stash_stream *s = NULL;
    assert_int_equal(stash_stream_open_file(path_in(dir, "missing"), "r", &s), -ENOENT);
    assert_int_equal(stash_stream_open_file(dir, "r", &s), -EISDIR);
    assert_int_equal(stash_stream_open_file(dir, "w", &s), -EISDIR);
    assert_int_equal(stash_stream_open_file(path_in(dir, "x"), "q", &s), STASH_E_MODE);
    assert_int_equal(stash_stream_open_file(path_in(dir, "x"), "rw", &s), STASH_E_MODE);
    assert_int_equal(stash_stream_open_file(path_in(dir, "x"), "w++", &s), STASH_E_MODE);
    assert_int_equal(stash_stream_open_file(path_in(dir, "x"), "rx", &s), STASH_E_MODE);
    assert_int_equal(stash_stream_open_file(NULL, "r", &s), STASH_E_INVALID);
    assert_null(s);
}

static void test_file_open_of_a_fifo_fails_at_once(void **state)
{
    (void)state;
    const char *fifo = path_in(dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    stash_stream *s;
    assert_int_equal(stash_stream_open_file(fifo, "r", &s), STASH_E_NOT_FILE);
    assert_int_equal(stash_stream_open_file(fifo, "w", &s), STASH_E_NOT_FILE); /* no reader */
    assert_int_equal(stash_stream_open_file("/dev/null", "r+", &s), STASH_E_NOT_FILE);
    unlink(fifo);
}

static void test_file_exclusive_create_refuses_an_existing_file(void **state)
{
    (void)state;
    const char *path = path_in(dir, "exclusive");
    stash_stream *s;
    assert_ok(stash_stream_open_file(path, "wx", &s));
    assert_ok(stash_stream_close(&s));
    assert_int_equal(stash_stream_open_file(path, "wbx", &s), -EEXIST);
    assert_int_equal(stash_stream_open_file(path, "x", &s), -EEXIST); /* Python's "x" */
    assert_int_equal(stash_stream_open_file(path, "x+b", &s), -EEXIST);
    unlink(path);
    assert_ok(stash_stream_open_file(path, "xt", &s));
    char c;
    size_t got;
    assert_int_equal(stash_stream_read(s, &c, 1, &got), STASH_E_NOT_READABLE);
    assert_ok(stash_stream_write(s, "x", 1));
    assert_ok(stash_stream_close(&s));
    assert_int_equal(file_size(path), 1);
    unlink(path);
}

static void test_file_directions_follow_the_mode(void **state)
{
    (void)state;
    const char *path = path_in(dir, "directions");
    write_file(path, "hello", 5);
    stash_stream *s;
    char buf[8];
    size_t n;
    assert_ok(stash_stream_open_file(path, "rb", &s));
    assert_int_equal(stash_stream_write(s, "x", 1), STASH_E_NOT_WRITABLE);
    stash_stream_close(&s);
    assert_ok(stash_stream_open_file(path, "a", &s));
    assert_int_equal(stash_stream_read(s, buf, 1, &n), STASH_E_NOT_READABLE);
    stash_stream_close(&s);
    assert_int_equal(file_size(path), 5); /* "a" does not truncate */
    assert_ok(stash_stream_open_file(path, "w", &s));
    assert_int_equal(stash_stream_read(s, buf, 1, &n), STASH_E_NOT_READABLE);
    stash_stream_close(&s);
    assert_int_equal(file_size(path), 0); /* "w" does */
    unlink(path);
}

static void test_file_append_mode_writes_at_the_end_after_any_seek(void **state)
{
    (void)state;
    const char *path = path_in(dir, "append");
    write_file(path, "abc", 3);
    stash_stream *s;
    assert_ok(stash_stream_open_file(path, "a+", &s));
    assert_ok(stash_stream_seek(s, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_write(s, "de", 2));
    assert_int_equal(stash_stream_tell(s), 5);
    assert_ok(stash_stream_seek(s, 1, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_write(s, "f", 1));
    char buf[8];
    size_t n;
    assert_ok(stash_stream_pread(s, buf, sizeof buf, 0, &n));
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "abcdef", 6);
    assert_ok(stash_stream_close(&s));
    assert_int_equal(read_file(path, buf, sizeof buf), 6);
    unlink(path);
}

static void test_file_write_is_visible_to_reads_before_flush(void **state)
{
    (void)state;
    const char *path = path_in(dir, "coherent");
    stash_stream *s;
    char buf[16];
    size_t n;
    assert_ok(stash_stream_open_file(path, "w+", &s));
    assert_ok(stash_stream_write(s, "0123456789", 10));
    assert_int_equal(file_size(path), 0); /* still buffered */
    assert_ok(stash_stream_pread(s, buf, sizeof buf, 2, &n));
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "23456789", 8);
    assert_ok(stash_stream_flush(s));
    assert_int_equal(file_size(path), 10);
    stash_stream_close(&s);
    unlink(path);
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The file buffer against a model: random mixed reads, writes, flushes and
 * reopens through a 4 KiB buffer must always agree with a memory stream. */
static void test_file_buffer_agrees_with_a_memory_model(void **state)
{
    (void)state;
    const char *path = path_in(dir, "model");
    static char chunk[70000], got[70000], want[70000];
    stash_stream *file, *model;
    assert_ok(stash_stream_open_file(path, "w+", &file));
    assert_ok(stash_stream_set_buffer_bytes(file, 4096));
    assert_ok(stash_stream_open_growable(0, &model));
    uint64_t x = 88172645463325252ull;
    for (int op = 0; op < 4000; op++) {
        uint64_t r = next_random(&x);
        uint64_t offset = next_random(&x) % 60000;
        size_t len = (size_t)(next_random(&x) % (r % 16 == 0 ? 70000 : 600)) + 1;
        if (r % 3 == 0) {
            for (size_t i = 0; i < len; i++)
                chunk[i] = (char)(next_random(&x));
            assert_ok(stash_stream_pwrite(file, chunk, len, offset));
            assert_ok(stash_stream_pwrite(model, chunk, len, offset));
        } else if (r % 3 == 1) {
            size_t n_got, n_want;
            assert_ok(stash_stream_pread(file, got, len, offset, &n_got));
            assert_ok(stash_stream_pread(model, want, len, offset, &n_want));
            assert_int_equal(n_got, n_want);
            assert_memory_equal(got, want, n_got);
        } else if (r % 50 == 2) {
            assert_ok(stash_stream_close(&file));
            assert_ok(stash_stream_open_file(path, "r+", &file));
            assert_ok(stash_stream_set_buffer_bytes(file, 4096 + (size_t)(r % 3) * 4096));
        } else {
            assert_ok(stash_stream_flush(file));
        }
        uint64_t a, b;
        assert_ok(stash_stream_size(file, &a));
        assert_ok(stash_stream_size(model, &b));
        assert_int_equal(a, b);
    }
    stash_stream_close(&file);
    stash_stream_close(&model);
    unlink(path);
}

static void test_file_positions_are_per_stream_over_one_descriptor(void **state)
{
    (void)state;
    const char *path = path_in(dir, "shared-fd");
    write_file(path, "abcdefgh", 8);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    stash_stream *a, *b;
    assert_ok(stash_stream_open_fd(fd, "r", &a));
    assert_ok(stash_stream_open_fd(fd, "r", &b));
    char x[4], y[4];
    assert_ok(stash_stream_read_exact(a, x, 3));
    assert_ok(stash_stream_read_exact(b, y, 2));
    assert_ok(stash_stream_read_exact(a, x + 3, 1));
    assert_memory_equal(x, "abcd", 4);
    assert_memory_equal(y, "ab", 2);
    assert_int_equal(stash_stream_open_fd(fd, "w", &a), STASH_E_NOT_WRITABLE);
    stash_stream_close(&b);
    stash_stream_close(&a);
    assert_int_equal(close(fd), 0); /* the streams did not own it */
    unlink(path);
}

static void test_open_fd_on_an_append_descriptor_needs_append_mode(void **state)
{
    (void)state;
    const char *path = path_in(dir, "o-append");
    write_file(path, "ab", 2);
    int fd = open(path, O_RDWR | O_APPEND);
    assert_true(fd >= 0);
    stash_stream *s;
    assert_int_equal(stash_stream_open_fd(fd, "r+", &s), STASH_E_MODE);
    assert_ok(stash_stream_open_fd(fd, "a+", &s));
    assert_ok(stash_stream_write(s, "cd", 2));
    assert_ok(stash_stream_close(&s));
    close(fd);
    char buf[8];
    assert_int_equal(read_file(path, buf, sizeof buf), 4);
    assert_memory_equal(buf, "abcd", 4);
    unlink(path);
}

static void test_open_fd_rejects_pipes_and_bad_descriptors(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    stash_stream *s;
    assert_int_equal(stash_stream_open_fd(p[0], "r", &s), STASH_E_NOT_FILE);
    assert_int_equal(stash_stream_open_fd(p[1], "r", &s), STASH_E_NOT_READABLE);
    close(p[0]);
    close(p[1]);
    assert_int_equal(stash_stream_open_fd(p[0], "r", &s), -EBADF);
    assert_int_equal(stash_stream_open_fd(-1, "r", &s), STASH_E_INVALID);
}

static void test_large_transfers_bypass_the_buffer_and_stay_correct(void **state)
{
    (void)state;
    const char *path = path_in(dir, "large");
    enum { BIG = 3 * 1024 * 1024 };
    char *in = malloc(BIG), *out = malloc(BIG);
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < BIG; i++)
        in[i] = (char)(i * 31 + i / 4096);
    stash_stream *s;
    assert_ok(stash_stream_open_file(path, "w+", &s));
    assert_ok(stash_stream_write(s, in, 10)); /* buffered, then overtaken */
    assert_ok(stash_stream_pwrite(s, in, BIG, 0));
    size_t n;
    assert_ok(stash_stream_pread(s, out, BIG, 0, &n));
    assert_int_equal(n, BIG);
    assert_memory_equal(in, out, BIG);
    assert_ok(stash_stream_close(&s));
    assert_int_equal(file_size(path), BIG);
    free(in);
    free(out);
    unlink(path);
}

static void test_readline_stops_after_newline_or_capacity(void **state)
{
    (void)state;
    stash_stream *s;
    char line[16];
    size_t n;
    assert_ok(stash_stream_open_memory("one\ntwo\nthree", 13, &s));
    assert_ok(stash_stream_readline(s, line, sizeof line, &n));
    assert_string_equal(line, "one\n");
    assert_int_equal(n, 4);
    assert_ok(stash_stream_readline(s, line, 3, &n));
    assert_string_equal(line, "tw");
    assert_ok(stash_stream_readline(s, line, sizeof line, &n));
    assert_string_equal(line, "o\n");
    assert_ok(stash_stream_readline(s, line, sizeof line, &n));
    assert_string_equal(line, "three");
    assert_ok(stash_stream_readline(s, line, sizeof line, &n));
    assert_int_equal(n, 0);
    assert_string_equal(line, "");
    assert_int_equal(stash_stream_readline(s, line, 0, &n), STASH_E_INVALID);
    stash_stream_close(&s);
}

static void test_peek_shows_bytes_without_moving(void **state)
{
    (void)state;
    stash_stream *s;
    const void *view;
    size_t len;
    assert_ok(stash_stream_open_memory("abcdef", 6, &s));
    assert_ok(stash_stream_skip(s, 2));
    assert_ok(stash_stream_peek(s, &view, &len));
    assert_int_equal(len, 4);
    assert_memory_equal(view, "cdef", 4);
    assert_int_equal(stash_stream_tell(s), 2);
    assert_ok(stash_stream_skip(s, 10));
    assert_ok(stash_stream_peek(s, &view, &len));
    assert_int_equal(len, 0);
    stash_stream_close(&s);
}

/* ---- Ranges: nengo's Subfile tests, and what nengo got wrong ------------ */

static const char subfile_data[] = "0123456789\n123456789";

static stash_stream *open_window(stash_stream **base, uint64_t start, uint64_t end)
{
    stash_stream *w;
    assert_ok(stash_stream_open_memory(subfile_data, sizeof subfile_data - 1, base));
    assert_ok(stash_stream_open_range(*base, start, end, &w));
    return w;
}

static void expect_rest(stash_stream *w, const char *want)
{
    char buf[32];
    size_t n;
    read_all_into(w, buf, sizeof buf, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void test_range_reads_stop_at_the_window_end(void **state)
{
    (void)state;
    stash_stream *base, *w = open_window(&base, 2, 6);
    char buf[16];
    size_t n;
    assert_ok(stash_stream_read(w, buf, 8, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "2345", 4);
    assert_ok(stash_stream_seek(w, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_readline(w, buf, 9, &n));
    assert_string_equal(buf, "2345");
    assert_ok(stash_stream_seek(w, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_read(w, buf, 2, &n));
    assert_memory_equal(buf, "23", 2);
    assert_ok(stash_stream_seek(w, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_readline(w, buf, 3, &n));
    assert_string_equal(buf, "23");
    /* readinto of a larger buffer is bounded too (nengo's was not) */
    assert_ok(stash_stream_pread(w, buf, sizeof buf, 0, &n));
    assert_int_equal(n, 4);
    stash_stream_close(&w);
    stash_stream_close(&base);
}

static void test_range_readline_stops_after_newline(void **state)
{
    (void)state;
    stash_stream *base, *w = open_window(&base, 2, 14);
    char buf[32];
    size_t n;
    assert_ok(stash_stream_readline(w, buf, sizeof buf, &n));
    assert_string_equal(buf, "23456789\n");
    assert_ok(stash_stream_seek(w, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_readline(w, buf, 16, &n));
    assert_string_equal(buf, "23456789\n");
    stash_stream_close(&w);
    stash_stream_close(&base);
}

static void test_range_seeks_are_relative_and_clamped(void **state)
{
    (void)state;
    stash_stream *base, *w = open_window(&base, 2, 6);
    char c;
    assert_int_equal(stash_stream_tell(w), 0);
    assert_ok(stash_stream_seek(w, 2, STASH_SEEK_SET, NULL));
    expect_rest(w, "45");
    assert_ok(stash_stream_seek(w, 0, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_read_exact(w, &c, 1));
    assert_ok(stash_stream_seek(w, 2, STASH_SEEK_CUR, NULL));
    expect_rest(w, "5");
    assert_ok(stash_stream_seek(w, -2, STASH_SEEK_END, NULL));
    expect_rest(w, "45");
    /* clamped low */
    assert_ok(stash_stream_seek(w, -2, STASH_SEEK_SET, NULL));
    expect_rest(w, "2345");
    assert_ok(stash_stream_seek(w, 1, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_seek(w, -4, STASH_SEEK_CUR, NULL));
    expect_rest(w, "2345");
    assert_ok(stash_stream_seek(w, -8, STASH_SEEK_END, NULL));
    expect_rest(w, "2345");
    /* clamped high */
    uint64_t pos;
    assert_ok(stash_stream_seek(w, 8, STASH_SEEK_SET, &pos));
    assert_int_equal(pos, 4);
    expect_rest(w, "");
    assert_ok(stash_stream_seek(w, 8, STASH_SEEK_CUR, NULL));
    expect_rest(w, "");
    assert_ok(stash_stream_seek(w, 8, STASH_SEEK_END, NULL));
    expect_rest(w, "");
    assert_ok(stash_stream_seek(w, 3, STASH_SEEK_SET, &pos));
    assert_int_equal(stash_stream_tell(w), 3);
    assert_int_equal(stash_stream_seek(w, 0, 7, NULL), STASH_E_INVALID);
    stash_stream_close(&w);
    stash_stream_close(&base);
}

static void test_range_bounds_are_checked_when_opened(void **state)
{
    (void)state;
    stash_stream *base, *w;
    assert_ok(stash_stream_open_memory("abcdef", 6, &base));
    assert_int_equal(stash_stream_open_range(base, 4, 2, &w), STASH_E_INVALID);
    assert_int_equal(stash_stream_open_range(base, 2, 7, &w), STASH_E_RANGE);
    assert_int_equal(stash_stream_open_range(NULL, 0, 0, &w), STASH_E_CLOSED);
    assert_ok(stash_stream_open_range(base, 6, 6, &w));
    assert_int_equal(stash_stream_write(w, "x", 1), STASH_E_NOT_WRITABLE);
    expect_rest(w, "");
    stash_stream_close(&w);
    stash_stream_close(&base);
}

/* Two windows over one buffered file: each read must see its own bytes even
 * though both share (and refill) the base's buffer. */
static void test_ranges_over_one_file_interleave_correctly(void **state)
{
    (void)state;
    const char *path = path_in(dir, "windows");
    enum { SIZE = 64 * 1024 };
    static char data[SIZE];
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (char)(i % 251);
    write_file(path, data, SIZE);
    stash_stream *base, *a, *b;
    assert_ok(stash_stream_open_file(path, "r", &base));
    assert_ok(stash_stream_set_buffer_bytes(base, 4096));
    assert_ok(stash_stream_open_range(base, 0, 8192, &a));
    assert_ok(stash_stream_open_range(base, 40000, SIZE, &b));
    for (size_t i = 0; i < 8192; i += 4) {
        uint32_t va, vb, wa, wb;
        assert_ok(stash_stream_read_u32le(a, &va));
        assert_ok(stash_stream_read_u32le(b, &vb));
        memcpy(&wa, data + i, 4);
        memcpy(&wb, data + 40000 + i, 4);
        assert_int_equal(va, wa);
        assert_int_equal(vb, wb);
    }
    stash_stream_close(&a);
    stash_stream_close(&b);
    stash_stream_close(&base);
    unlink(path);
}

/* ---- FILE * export ------------------------------------------------------ */

static void test_fopen_reads_and_seeks_through_the_stream(void **state)
{
    (void)state;
    stash_stream *s;
    FILE *f;
    char line[32];
    assert_ok(stash_stream_open_memory("alpha\nbeta\n", 11, &s));
    assert_int_equal(stash_stream_fopen(s, "w", &f), STASH_E_NOT_WRITABLE);
    assert_ok(stash_stream_fopen(s, "r", &f));
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "alpha\n");
    assert_int_equal(fseek(f, -5, SEEK_END), 0);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "beta\n");
    assert_null(fgets(line, sizeof line, f));
    assert_int_equal(fclose(f), 0);
    stash_stream_close(&s);
}

static void test_fopen_writes_reach_the_stream_on_fclose(void **state)
{
    (void)state;
    stash_stream *s;
    FILE *f;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_ok(stash_stream_fopen(s, "w", &f));
    fprintf(f, "x=%d y=%.1f", 42, 2.5);
    assert_int_equal(fclose(f), 0);
    const void *data;
    size_t len;
    assert_ok(stash_stream_memory_contents(s, &data, &len));
    assert_int_equal(len, 10);
    assert_memory_equal(data, "x=42 y=2.5", 10);
    assert_int_equal(stash_stream_fopen(s, "r+z", &f), STASH_E_MODE);
    stash_stream_close(&s);
}

/* ---- Failures ----------------------------------------------------------- */

static void test_full_disk_is_a_clear_error_and_earlier_data_survives(void **state)
{
    (void)state;
    const char *path = path_in(dir, "full");
    enum { LIMIT = 64 * 1024 };
    static char block[8192];
    memset(block, 'k', sizeof block);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = LIMIT;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    stash_stream *s;
    assert_ok(stash_stream_open_file(path, "w", &s));
    stash_status status = STASH_OK;
    for (int i = 0; i < 16 && status == STASH_OK; i++)
        status = stash_stream_write(s, block, sizeof block);
    if (status == STASH_OK)
        status = stash_stream_flush(s);
    stash_status closed = stash_stream_close(&s);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(status, -EFBIG);
    (void)closed; /* the last flush may fail again: either way nothing crashes */
    static char back[LIMIT + 1];
    assert_int_equal(read_file(path, back, sizeof back), LIMIT);
    for (size_t i = 0; i < LIMIT; i++)
        assert_int_equal(back[i], 'k');
    unlink(path);
}

static void test_calls_after_close_report_closed(void **state)
{
    (void)state;
    stash_stream *s;
    char buf[4];
    size_t n;
    uint64_t v;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_ok(stash_stream_close(&s));
    assert_null(s);
    assert_ok(stash_stream_close(&s)); /* idempotent */
    assert_ok(stash_stream_close(NULL));
    assert_int_equal(stash_stream_read(s, buf, 4, &n), STASH_E_CLOSED);
    assert_int_equal(stash_stream_write(s, buf, 4), STASH_E_CLOSED);
    assert_int_equal(stash_stream_seek(s, 0, STASH_SEEK_SET, NULL), STASH_E_CLOSED);
    assert_int_equal(stash_stream_size(s, &v), STASH_E_CLOSED);
    assert_int_equal(stash_stream_flush(s), STASH_E_CLOSED);
    assert_int_equal(stash_stream_tell(s), 0);
    assert_true(stash_stream_at_end(s));
}

static void test_null_buffers_with_lengths_are_invalid(void **state)
{
    (void)state;
    stash_stream *s;
    size_t n;
    assert_ok(stash_stream_open_growable(0, &s));
    assert_int_equal(stash_stream_write(s, NULL, 1), STASH_E_INVALID);
    assert_int_equal(stash_stream_read(s, NULL, 1, &n), STASH_E_INVALID);
    assert_int_equal(stash_stream_read(s, &n, 1, NULL), STASH_E_INVALID);
    assert_ok(stash_stream_write(s, NULL, 0));
    assert_int_equal(stash_stream_set_buffer_bytes(s, 65536), STASH_E_UNSUPPORTED);
    stash_stream_close(&s);
}

/* ---- A backend written outside the library ------------------------------ */

struct counter {
    unsigned preads, closes;
};

static stash_status zeros_pread(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got)
{
    struct counter *c = ctx;
    c->preads++;
    size_t n = offset >= 100 ? 0 : (100 - offset < len ? (size_t)(100 - offset) : len);
    memset(buf, 'z', n);
    *got = n;
    return STASH_OK;
}

static stash_status zeros_size(void *ctx, uint64_t *size)
{
    (void)ctx;
    *size = 100;
    return STASH_OK;
}

static stash_status zeros_close(void *ctx)
{
    ((struct counter *)ctx)->closes++;
    return STASH_OK;
}

static void test_custom_backend_gets_position_and_checks_for_free(void **state)
{
    (void)state;
    static const stash_stream_backend zeros = {
        .version = STASH_STREAM_BACKEND_V1,
        .pread = zeros_pread,
        .size = zeros_size,
        .close = zeros_close,
    };
    struct counter c = {0};
    stash_stream *s;
    char buf[64];
    size_t n;
    assert_int_equal(stash_stream_open_backend(&zeros, &c, STASH_STREAM_WRITE, &s),
                     STASH_E_INVALID); /* no pwrite */
    stash_stream_backend wrong = zeros;
    wrong.version = 99;
    assert_int_equal(stash_stream_open_backend(&wrong, &c, STASH_STREAM_READ, &s),
                     STASH_E_INVALID);
    wrong = zeros;
    wrong.flags = 1u << 30; /* flags stash keeps for its own backends */
    assert_int_equal(stash_stream_open_backend(&wrong, &c, STASH_STREAM_READ, &s),
                     STASH_E_INVALID);
    assert_ok(stash_stream_open_backend(&zeros, &c, STASH_STREAM_READ, &s));
    assert_ok(stash_stream_seek(s, -10, STASH_SEEK_END, NULL));
    assert_ok(stash_stream_read(s, buf, sizeof buf, &n));
    assert_int_equal(n, 10);
    assert_int_equal(stash_stream_readline(s, buf, sizeof buf, &n), STASH_OK);
    assert_int_equal(n, 0);
    assert_ok(stash_stream_close(&s));
    assert_int_equal(c.closes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_view_is_read_only),
        cmocka_unit_test(test_fixed_buffer_rejects_growth_past_capacity_unchanged),
        cmocka_unit_test(test_growable_write_past_end_zero_fills_the_gap),
        cmocka_unit_test(test_seek_rejects_bad_whence_and_negative_results),
        cmocka_unit_test(test_seek_past_end_then_write_leaves_zeros),
        cmocka_unit_test(test_file_open_reports_the_system_reason),
        cmocka_unit_test(test_file_open_of_a_fifo_fails_at_once),
        cmocka_unit_test(test_file_exclusive_create_refuses_an_existing_file),
        cmocka_unit_test(test_file_directions_follow_the_mode),
        cmocka_unit_test(test_file_append_mode_writes_at_the_end_after_any_seek),
        cmocka_unit_test(test_file_write_is_visible_to_reads_before_flush),
        cmocka_unit_test(test_file_buffer_agrees_with_a_memory_model),
        cmocka_unit_test(test_file_positions_are_per_stream_over_one_descriptor),
        cmocka_unit_test(test_open_fd_on_an_append_descriptor_needs_append_mode),
        cmocka_unit_test(test_open_fd_rejects_pipes_and_bad_descriptors),
        cmocka_unit_test(test_large_transfers_bypass_the_buffer_and_stay_correct),
        cmocka_unit_test(test_readline_stops_after_newline_or_capacity),
        cmocka_unit_test(test_peek_shows_bytes_without_moving),
        cmocka_unit_test(test_range_reads_stop_at_the_window_end),
        cmocka_unit_test(test_range_readline_stops_after_newline),
        cmocka_unit_test(test_range_seeks_are_relative_and_clamped),
        cmocka_unit_test(test_range_bounds_are_checked_when_opened),
        cmocka_unit_test(test_ranges_over_one_file_interleave_correctly),
        cmocka_unit_test(test_fopen_reads_and_seeks_through_the_stream),
        cmocka_unit_test(test_fopen_writes_reach_the_stream_on_fclose),
        cmocka_unit_test(test_full_disk_is_a_clear_error_and_earlier_data_survives),
        cmocka_unit_test(test_calls_after_close_report_closed),
        cmocka_unit_test(test_null_buffers_with_lengths_are_invalid),
        cmocka_unit_test(test_custom_backend_gets_position_and_checks_for_free),
    };
    return cmocka_run_group_tests_name("stream", tests, make_dir, NULL);
}
