/*
 * Memory files: the four tests of pyppin's MemFile (its memfile_test.py) in
 * C, named test_seed_* ("seed" names the original this replaces), then
 * modes, truncation, the view, the descriptor export, the locked mode under
 * two threads, and every misuse the issue names.
 */
#include "test_util.h"

#include <stash/bytes.h>
#include <stash/memfile.h>

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

static stash_memfile *new_memfile(void)
{
    stash_memfile *mf = NULL;
    assert_ok(stash_memfile_create("test", NULL, &mf));
    return mf;
}

static size_t mf_pread(stash_memfile *mf, char *buf, size_t len, int64_t offset)
{
    size_t got = 99;
    assert_ok(stash_memfile_pread(mf, buf, len, offset, &got));
    return got;
}

static uint64_t mf_size(stash_memfile *mf)
{
    uint64_t size = 99;
    assert_ok(stash_memfile_size(mf, &size));
    return size;
}

static size_t stream_read_all(stash_stream *s, char *buf, size_t len)
{
    size_t got = 99;
    assert_ok(stash_stream_read(s, buf, len, &got));
    return got;
}

/* ---- pyppin's tests ------------------------------------------------------- */

/* memfile_test.py test_native: pread and pwrite on the file itself. */
static void test_seed_native_pread_and_pwrite(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    char buf[100];
    assert_int_equal(mf_size(mf), 0);
    assert_int_equal(mf_pread(mf, buf, 10, 0), 0);
    assert_int_equal(mf_pread(mf, buf, 10, 5), 0);

    assert_ok(stash_memfile_pwrite(mf, "12345", 5, 0));
    assert_int_equal(mf_size(mf), 5);
    assert_int_equal(mf_pread(mf, buf, 10, 0), 5);
    assert_memory_equal(buf, "12345", 5);
    assert_int_equal(mf_pread(mf, buf, 3, 0), 3);
    assert_memory_equal(buf, "123", 3);
    assert_int_equal(mf_pread(mf, buf, 10, 2), 3);
    assert_memory_equal(buf, "345", 3);

    assert_ok(stash_memfile_pwrite(mf, "67890", 5, 15));
    assert_int_equal(mf_size(mf), 20);
    assert_int_equal(mf_pread(mf, buf, 100, 0), 20);
    assert_memory_equal(buf, "12345\0\0\0\0\0\0\0\0\0\0" "67890", 20);
    assert_int_equal(mf_pread(mf, buf, 5, 8), 5);
    assert_memory_equal(buf, "\0\0\0\0\0", 5);
    assert_int_equal(mf_pread(mf, buf, 5, 4), 5);
    assert_memory_equal(buf, "5\0\0\0\0", 5);
    assert_ok(stash_memfile_close(&mf));
    assert_null(mf);
}

/* Shared set-up of the raw and buffered tests: "\0\0\0\0\0" "12345". */
static stash_memfile *seed_file(void)
{
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "12345", 5, 5));
    char buf[20];
    assert_int_equal(mf_pread(mf, buf, 20, 0), 10);
    assert_memory_equal(buf, "\0\0\0\0\0" "12345", 10);
    return mf;
}

/* test_raw "rb" (and test_text "r": "t" is accepted and changes nothing). */
static void check_read_only_handle(const char *mode)
{
    stash_memfile *mf = seed_file();
    stash_stream *h;
    char buf[20];
    uint64_t pos;
    assert_ok(stash_memfile_open(mf, mode, &h));
    assert_ok(stash_stream_seek(h, -7, STASH_SEEK_END, &pos));
    assert_int_equal(pos, 3);
    assert_int_equal(stream_read_all(h, buf, 5), 5);
    assert_memory_equal(buf, "\0\0" "123", 5);
    assert_int_equal(stash_stream_write(h, "x", 1), STASH_E_NOT_WRITABLE);
    assert_ok(stash_stream_close(&h));
    stash_memfile_close(&mf);
}

static void test_seed_raw_read_only(void **state)
{
    (void)state;
    check_read_only_handle("rb");
    check_read_only_handle("r");
    check_read_only_handle("rt");
}

/* test_raw "r+b": a write through the handle lands in the shared bytes. */
static void check_read_write_handle(const char *mode)
{
    stash_memfile *mf = seed_file();
    stash_stream *h;
    char buf[20];
    assert_ok(stash_memfile_open(mf, mode, &h));
    assert_ok(stash_stream_seek(h, -7, STASH_SEEK_END, NULL));
    assert_ok(stash_stream_write(h, "67890", 5));
    assert_ok(stash_stream_seek(h, 0, STASH_SEEK_SET, NULL));
    assert_int_equal(stream_read_all(h, buf, 20), 10);
    assert_memory_equal(buf, "\0\0\0" "6789045", 10);
    assert_int_equal(mf_pread(mf, buf, 20, 0), 10);
    assert_memory_equal(buf, "\0\0\0" "6789045", 10);
    assert_ok(stash_stream_close(&h));
    stash_memfile_close(&mf);
}

static void test_seed_raw_read_write(void **state)
{
    (void)state;
    check_read_write_handle("r+b");
    check_read_write_handle("r+");
    check_read_write_handle("r+t");
}

/* test_raw "w+b": the file is empty as soon as the handle opens. */
static void check_truncating_handle(const char *mode)
{
    stash_memfile *mf = seed_file();
    stash_stream *h;
    char buf[20];
    assert_ok(stash_memfile_open(mf, mode, &h));
    assert_int_equal(mf_size(mf), 0);
    assert_int_equal(stream_read_all(h, buf, 20), 0);
    assert_ok(stash_stream_write(h, "123", 3));
    assert_int_equal(stash_stream_tell(h), 3);
    assert_ok(stash_stream_seek(h, 0, STASH_SEEK_SET, NULL));
    assert_int_equal(stream_read_all(h, buf, 20), 3);
    assert_memory_equal(buf, "123", 3);
    assert_ok(stash_stream_close(&h));
    stash_memfile_close(&mf);
}

static void test_seed_raw_truncating(void **state)
{
    (void)state;
    check_truncating_handle("w+b");
    check_truncating_handle("w+");
    check_truncating_handle("w+t");
}

/* test_buffered: the same three scenarios through stdio's buffer. */
static void test_seed_buffered_through_stdio(void **state)
{
    (void)state;
    char buf[20];
    stash_memfile *mf = seed_file();
    FILE *f;
    assert_ok(stash_memfile_fopen(mf, "rb", &f));
    assert_int_equal(fseek(f, -7, SEEK_END), 0);
    assert_int_equal(ftell(f), 3);
    assert_int_equal(fread(buf, 1, 5, f), 5);
    assert_memory_equal(buf, "\0\0" "123", 5);
    assert_int_equal(fwrite("x", 1, 1, f), 0); /* read-only FILE */
    assert_int_equal(fclose(f), 0);

    assert_ok(stash_memfile_fopen(mf, "r+b", &f));
    assert_int_equal(fseek(f, -7, SEEK_END), 0);
    assert_int_equal(fwrite("67890", 1, 5, f), 5);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0); /* flushes into the file */
    assert_int_equal(fread(buf, 1, 20, f), 10);
    assert_memory_equal(buf, "\0\0\0" "6789045", 10);
    assert_int_equal(mf_pread(mf, buf, 20, 0), 10);
    assert_memory_equal(buf, "\0\0\0" "6789045", 10);
    assert_int_equal(fclose(f), 0);

    assert_ok(stash_memfile_fopen(mf, "w+b", &f));
    assert_int_equal(mf_size(mf), 0);
    assert_int_equal(fread(buf, 1, 20, f), 0);
    clearerr(f);
    assert_int_equal(fwrite("123", 1, 3, f), 3);
    assert_int_equal(ftell(f), 3);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fread(buf, 1, 20, f), 3);
    assert_memory_equal(buf, "123", 3);
    assert_int_equal(fclose(f), 0);
    stash_memfile_close(&mf);
}

/* ---- Modes --------------------------------------------------------------- */

static void test_unknown_mode_characters_fail(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    stash_stream *h = NULL;
    const char *bad[] = {"", "q", "rw", "r+z", "bt", "w++", "rx", "xx", "U", "rU"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stash_memfile_open(mf, bad[i], &h), STASH_E_MODE);
    assert_int_equal(stash_memfile_open(mf, NULL, &h), STASH_E_INVALID);
    assert_null(h);
    stash_memfile_close(&mf);
}

static void test_handle_directions_follow_the_mode(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    stash_stream *h;
    char c;
    size_t got;
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_int_equal(stash_stream_write(h, "x", 1), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_stream_pwrite(h, "x", 1, 0), STASH_E_NOT_WRITABLE);
    stash_stream_close(&h);
    const char *write_only[] = {"w", "a", "x"};
    for (size_t i = 0; i < 3; i++) {
        assert_ok(stash_memfile_truncate(mf, 0));
        assert_ok(stash_memfile_open(mf, write_only[i], &h));
        assert_int_equal(stash_stream_read(h, &c, 1, &got), STASH_E_NOT_READABLE);
        assert_ok(stash_stream_write(h, "x", 1));
        stash_stream_close(&h);
    }
    stash_memfile_close(&mf);
}

static void test_w_truncates_for_every_handle(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    stash_stream *reader, *writer;
    char buf[20];
    assert_ok(stash_memfile_open(mf, "r", &reader));
    assert_ok(stash_stream_seek(reader, 5, STASH_SEEK_SET, NULL));
    assert_ok(stash_memfile_open(mf, "w", &writer));
    uint64_t size;
    assert_ok(stash_stream_size(reader, &size));
    assert_int_equal(size, 0);
    assert_int_equal(stream_read_all(reader, buf, 20), 0);
    stash_stream_close(&reader);
    stash_stream_close(&writer);
    stash_memfile_close(&mf);
}

static void test_x_refuses_a_non_empty_file(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    stash_stream *h = NULL;
    assert_ok(stash_memfile_open(mf, "x+", &h));
    assert_ok(stash_stream_write(h, "abc", 3));
    stash_stream_close(&h);
    assert_int_equal(stash_memfile_open(mf, "x", &h), -EEXIST);
    assert_int_equal(stash_memfile_open(mf, "x+b", &h), -EEXIST);
    assert_int_equal(stash_memfile_open(mf, "wx", &h), -EEXIST);
    assert_null(h);
    assert_int_equal(mf_size(mf), 3); /* nothing was truncated */
    stash_memfile_close(&mf);
}

/* pyppin's "a" only starts at the end and then overwrites what another
 * handle appended; here every write goes to the end at that moment. */
static void test_append_is_true_append_across_handles(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    stash_stream *a, *b;
    char buf[32];
    assert_ok(stash_memfile_open(mf, "a", &a));
    assert_ok(stash_memfile_open(mf, "a+", &b));
    assert_int_equal(stash_stream_tell(a), 10);
    assert_ok(stash_stream_write(a, "AA", 2));
    assert_ok(stash_stream_write(b, "BB", 2));
    assert_ok(stash_stream_seek(a, 0, STASH_SEEK_SET, NULL)); /* seeks do not matter */
    assert_ok(stash_stream_write(a, "aa", 2));
    assert_int_equal(stash_stream_tell(a), 16);
    assert_int_equal(mf_pread(mf, buf, 32, 0), 16);
    assert_memory_equal(buf, "\0\0\0\0\0" "12345" "AABBaa", 16);
    assert_ok(stash_stream_seek(b, 10, STASH_SEEK_SET, NULL)); /* "a+" reads anywhere */
    assert_int_equal(stream_read_all(b, buf, 32), 6);
    assert_memory_equal(buf, "AABBaa", 6);
    stash_stream_close(&a);
    stash_stream_close(&b);
    stash_memfile_close(&mf);
}

/* ---- Offsets, ends and gaps ---------------------------------------------- */

/* Offsets are unsigned, as a stream's: past the largest file offset nothing reads or writes. */
static void test_offsets_past_any_file_are_refused(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    char buf[4];
    size_t got = 7;
    assert_ok(stash_memfile_pread(mf, buf, 4, UINT64_MAX, &got));
    assert_int_equal(got, 0);
    assert_int_equal(stash_memfile_pwrite(mf, "zz", 2, UINT64_MAX - 1), STASH_E_RANGE);
    assert_int_equal(stash_memfile_pwrite(mf, "zz", 2, (uint64_t)INT64_MAX), STASH_E_RANGE);
    assert_int_equal(mf_size(mf), 10); /* pyppin inserted at len + offset */
    stash_stream *h;
    assert_ok(stash_memfile_open(mf, "r+", &h));
    assert_int_equal(stash_stream_seek(h, -11, STASH_SEEK_END, NULL), STASH_E_INVALID);
    assert_int_equal(stash_stream_seek(h, -1, STASH_SEEK_SET, NULL), STASH_E_INVALID);
    assert_int_equal(stash_stream_tell(h), 0);
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

static void test_reads_at_or_past_the_end_return_nothing(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    char buf[4];
    assert_int_equal(mf_pread(mf, buf, 4, 10), 0);
    assert_int_equal(mf_pread(mf, buf, 4, 11), 0);
    assert_int_equal(mf_pread(mf, buf, 4, INT64_MAX), 0);
    assert_int_equal(mf_pread(mf, buf, 0, 3), 0);
    stash_stream *h;
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_ok(stash_stream_seek(h, 1000, STASH_SEEK_SET, NULL)); /* pyppin asserted */
    assert_int_equal(stream_read_all(h, buf, 4), 0);
    size_t got = 9;
    assert_ok(stash_stream_pread(h, buf, 4, UINT64_MAX, &got));
    assert_int_equal(got, 0);
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

static void test_writes_past_the_end_leave_a_zero_gap(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    stash_stream *h;
    char buf[8];
    assert_ok(stash_memfile_open(mf, "w+", &h));
    assert_ok(stash_stream_seek(h, 100000, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_write(h, "end", 3));
    assert_int_equal(mf_size(mf), 100003);
    assert_int_equal(mf_pread(mf, buf, 8, 99995), 8);
    assert_memory_equal(buf, "\0\0\0\0\0end", 8);
    assert_ok(stash_memfile_pwrite(mf, "", 0, 500000)); /* empty writes do not extend */
    assert_int_equal(mf_size(mf), 100003);
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

static void test_truncate_shrinks_and_extends_with_zeros(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    char big[10000];
    memset(big, 'q', sizeof big);
    assert_ok(stash_memfile_pwrite(mf, big, sizeof big, 0));
    assert_ok(stash_memfile_truncate(mf, 2));
    assert_int_equal(mf_size(mf), 2);
    assert_ok(stash_memfile_truncate(mf, 9000));
    assert_int_equal(mf_size(mf), 9000);
    char back[10000];
    assert_int_equal(mf_pread(mf, back, sizeof back, 0), 9000);
    assert_memory_equal(back, "qq", 2);
    for (size_t i = 2; i < 9000; i++)
        assert_int_equal(back[i], 0);
    /* A gap after a shrink reads as zeros too. */
    assert_ok(stash_memfile_truncate(mf, 1));
    assert_ok(stash_memfile_pwrite(mf, "z", 1, 5000));
    assert_int_equal(mf_pread(mf, back, sizeof back, 0), 5001);
    for (size_t i = 1; i < 5000; i++)
        assert_int_equal(back[i], 0);
    stash_memfile_close(&mf);
}

static void test_max_size_is_a_clear_limit(void **state)
{
    (void)state;
    stash_memfile_options options = {.max_size = 1 << 20};
    stash_memfile *mf;
    assert_ok(stash_memfile_create("small", &options, &mf));
    assert_ok(stash_memfile_pwrite(mf, "ab", 2, (1 << 20) - 2));
    assert_int_equal(stash_memfile_pwrite(mf, "ab", 2, (1 << 20) - 1), STASH_E_FULL);
    assert_int_equal(stash_memfile_pwrite(mf, "ab", 2, INT64_MAX), STASH_E_RANGE);
    assert_int_equal(stash_memfile_truncate(mf, (1 << 20) + 1), STASH_E_FULL);
    assert_int_equal(mf_size(mf), 1 << 20);
    stash_memfile_close(&mf);
    options.flags = 1u << 7;
    assert_int_equal(stash_memfile_create("bad", &options, &mf), STASH_E_INVALID);
}

/* Under a small RLIMIT_AS the default reservation shrinks until it fits. */
static void test_default_reservation_fits_a_small_address_space(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan's shadow memory needs far more address space than the limit */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    skip();
#endif
#endif
    if (under_valgrind())
        skip(); /* valgrind's own memory lives under the limit too; it spins, starved */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit limit = {(rlim_t)4 << 30, (rlim_t)4 << 30};
        stash_memfile *mf;
        bool ok = setrlimit(RLIMIT_AS, &limit) == 0 &&
                  stash_memfile_create("rlimited", NULL, &mf) == STASH_OK &&
                  stash_memfile_pwrite(mf, "x", 1, 1 << 20) == STASH_OK;
        _exit(ok ? 0 : 1);
    }
    int wstatus;
    assert_int_equal(waitpid(child, &wstatus, 0), child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

/* ---- The view ------------------------------------------------------------ */

static void test_view_stays_put_while_the_file_grows(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "head", 4, 0));
    void *view, *later;
    uint64_t size;
    assert_ok(stash_memfile_data(mf, &view, &size));
    assert_int_equal(size, 4);
    assert_memory_equal(view, "head", 4);
    for (int64_t offset = 4096; offset < (64 << 20); offset *= 4)
        assert_ok(stash_memfile_pwrite(mf, "grow", 4, offset));
    assert_ok(stash_memfile_data(mf, &later, &size));
    assert_ptr_equal(view, later);
    assert_memory_equal(view, "head", 4);
    memcpy(view, "HEAD", 4); /* writes through the view are the file's bytes */
    char buf[4];
    assert_int_equal(mf_pread(mf, buf, 4, 0), 4);
    assert_memory_equal(buf, "HEAD", 4);
    stash_memfile_close(&mf);
}

static void test_peek_on_a_handle_is_the_view(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    stash_stream *h;
    const void *data;
    size_t len;
    void *view;
    uint64_t size;
    assert_ok(stash_memfile_data(mf, &view, &size));
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_ok(stash_stream_seek(h, 5, STASH_SEEK_SET, NULL));
    assert_ok(stash_stream_peek(h, &data, &len));
    assert_ptr_equal(data, (char *)view + 5);
    assert_int_equal(len, 5);
    /* Another handle shrinks the file: the next peek and read see it. */
    assert_ok(stash_memfile_truncate(mf, 7));
    assert_ok(stash_stream_peek(h, &data, &len));
    assert_int_equal(len, 2);
    char buf[8];
    assert_int_equal(stream_read_all(h, buf, 8), 2);
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

static void test_readline_through_a_handle(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "one\ntwo\n", 8, 0));
    stash_stream *h;
    char line[16];
    size_t got;
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_ok(stash_stream_readline(h, line, sizeof line, &got));
    assert_string_equal(line, "one\n");
    assert_ok(stash_stream_readline(h, line, sizeof line, &got));
    assert_string_equal(line, "two\n");
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

/* ---- Lifetimes and misuse ------------------------------------------------ */

static void test_handles_keep_the_file_alive(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    stash_stream *h;
    FILE *f;
    assert_ok(stash_memfile_open(mf, "r+", &h));
    assert_ok(stash_memfile_fopen(mf, "r", &f));
    assert_ok(stash_memfile_close(&mf));
    assert_null(mf);
    assert_ok(stash_memfile_close(&mf)); /* twice is fine */
    assert_ok(stash_stream_write(h, "ab", 2));
    char buf[10];
    assert_int_equal(fread(buf, 1, 10, f), 10);
    assert_memory_equal(buf, "ab\0\0\0" "12345", 10);
    assert_int_equal(fclose(f), 0);
    assert_ok(stash_stream_close(&h)); /* the last reference frees it (ASan checks) */
}

static void test_calls_on_closed_handles_report_closed(void **state)
{
    (void)state;
    stash_memfile *mf = NULL;
    stash_stream *h = NULL;
    FILE *f = NULL;
    char buf[4];
    size_t got;
    uint64_t size;
    void *view;
    int fd;
    assert_int_equal(stash_memfile_pread(mf, buf, 4, 0, &got), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_pwrite(mf, buf, 4, 0), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_size(mf, &size), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_truncate(mf, 0), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_data(mf, &view, &size), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_fd(mf, &fd), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_open(mf, "r", &h), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_fopen(mf, "r", &f), STASH_E_CLOSED);
    assert_string_equal(stash_memfile_name(mf), "");

    mf = new_memfile();
    assert_ok(stash_memfile_open(mf, "r+", &h));
    assert_ok(stash_stream_close(&h));
    assert_int_equal(stash_stream_read(h, buf, 4, &got), STASH_E_CLOSED);
    assert_int_equal(stash_stream_write(h, buf, 4), STASH_E_CLOSED);
    assert_int_equal(stash_memfile_pread(mf, NULL, 4, 0, &got), STASH_E_INVALID);
    assert_int_equal(stash_memfile_pwrite(mf, NULL, 4, 0), STASH_E_INVALID);
    assert_int_equal(stash_memfile_pread(mf, buf, 4, 0, NULL), STASH_E_INVALID);
    stash_memfile_close(&mf);
}

/* ---- The descriptor ------------------------------------------------------ */

static int export_fd(stash_memfile *mf)
{
    int fd = -1;
    assert_ok(stash_memfile_fd(mf, &fd));
    assert_true(fd >= 0);
    return fd;
}

static const char *proc_path(int fd)
{
    static char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return path;
}

static void test_descriptor_reads_the_same_bytes(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "hello world", 11, 0));
    int fd = export_fd(mf);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 11); /* exact, not the growth capacity */
    char buf[32];
    assert_int_equal(read(fd, buf, sizeof buf), 11);
    assert_memory_equal(buf, "hello world", 11);

    FILE *f = fopen(proc_path(fd), "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 11);
    assert_memory_equal(buf, "hello world", 11);
    fclose(f);

    char link[256] = {0};
    assert_true(readlink(proc_path(fd), link, sizeof link - 1) > 0);
    assert_non_null(strstr(link, "memfd:test"));

    /* Later writes through the memory file show through the descriptor. */
    assert_ok(stash_memfile_pwrite(mf, "W", 1, 6));
    assert_ok(stash_memfile_pwrite(mf, "!!", 2, 11));
    assert_int_equal(pread(fd, buf, sizeof buf, 0), 13);
    assert_memory_equal(buf, "hello World!!", 13);
    close(fd);
    stash_memfile_close(&mf);
}

static void test_writes_through_the_descriptor_show_in_the_view(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "0123456789", 10, 0));
    int fd = export_fd(mf);
    void *view;
    uint64_t size;
    assert_ok(stash_memfile_data(mf, &view, &size));
    assert_int_equal(pwrite(fd, "ab", 2, 2), 2);
    assert_memory_equal(view, "01ab456789", 10);

    /* Growth through a path-only API is seen too. */
    FILE *f = fopen(proc_path(fd), "r+");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal(fwrite("tail", 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mf_size(mf), 14);
    char buf[16];
    assert_int_equal(mf_pread(mf, buf, 16, 0), 14);
    assert_memory_equal(buf, "01ab456789tail", 14);
    stash_stream *h;
    assert_ok(stash_memfile_open(mf, "a+", &h));
    assert_ok(stash_stream_write(h, "++", 2));
    stash_stream_close(&h);
    assert_int_equal(pread(fd, buf, 16, 0), 16);
    assert_memory_equal(buf, "01ab456789tail++", 16);
    close(fd);
    stash_memfile_close(&mf);
}

static void test_descriptor_outlives_the_memory_file(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    assert_ok(stash_memfile_pwrite(mf, "kept", 4, 0));
    int fd = export_fd(mf);
    int second = export_fd(mf);
    assert_true(second != fd);
    assert_ok(stash_memfile_close(&mf));
    char buf[8];
    assert_int_equal(pread(fd, buf, 8, 0), 4);
    assert_memory_equal(buf, "kept", 4);
    assert_int_equal(pwrite(second, "K", 1, 0), 1);
    assert_int_equal(pread(fd, buf, 8, 0), 4);
    assert_memory_equal(buf, "Kept", 4);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    close(second);
}

static void test_exported_files_cannot_shrink(void **state)
{
    (void)state;
    stash_memfile *mf = seed_file();
    int fd = export_fd(mf);
    stash_stream *h = NULL;
    assert_int_equal(stash_memfile_truncate(mf, 3), STASH_E_BUSY);
    assert_int_equal(stash_memfile_open(mf, "w", &h), STASH_E_BUSY);
    assert_null(h);
    assert_int_equal(ftruncate(fd, 3), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(mf_size(mf), 10);
    assert_ok(stash_memfile_truncate(mf, 20)); /* extending still works */
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 20);
    close(fd);
    stash_memfile_close(&mf);
}

/* An empty exported file can be filled by code that opens its path with "w". */
static void test_path_writer_fills_an_empty_exported_file(void **state)
{
    (void)state;
    stash_memfile *mf = new_memfile();
    int fd = export_fd(mf);
    FILE *f = fopen(proc_path(fd), "w");
    assert_non_null(f);
    fprintf(f, "written by stdio");
    assert_int_equal(fclose(f), 0);
    char buf[32];
    assert_int_equal(mf_pread(mf, buf, sizeof buf, 0), 16);
    assert_memory_equal(buf, "written by stdio", 16);
    close(fd);
    stash_memfile_close(&mf);
}

/* Another holder grows the file past max_size through the descriptor: the
 * size, reads and handles tell the truth; stash itself still writes nothing
 * past max_size, and the view, which cannot cover the tail, says so. */
static void test_growth_past_max_size_through_the_descriptor_is_seen(void **state)
{
    (void)state;
    enum { MAX = 1 << 20, GROWN = 3 << 20 };
    stash_memfile_options options = {.max_size = MAX};
    stash_memfile *mf;
    assert_ok(stash_memfile_create("small", &options, &mf));
    assert_ok(stash_memfile_pwrite(mf, "head", 4, 0));
    int fd = export_fd(mf);
    assert_int_equal(ftruncate(fd, GROWN), 0);
    assert_int_equal(pwrite(fd, "edge", 4, MAX - 2), 4);
    assert_int_equal(pwrite(fd, "tail", 4, GROWN - 4), 4);

    assert_int_equal(mf_size(mf), GROWN);
    char buf[8];
    assert_int_equal(mf_pread(mf, buf, 8, GROWN - 4), 4);
    assert_memory_equal(buf, "tail", 4);
    assert_int_equal(mf_pread(mf, buf, 4, MAX - 2), 4); /* across the mapping's end */
    assert_memory_equal(buf, "edge", 4);
    assert_int_equal(mf_pread(mf, buf, 4, 0), 4);
    assert_memory_equal(buf, "head", 4);

    stash_stream *h;
    uint64_t end;
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_ok(stash_stream_seek(h, -4, STASH_SEEK_END, &end));
    assert_int_equal(end, GROWN - 4);
    char line[8];
    size_t got;
    assert_ok(stash_stream_readline(h, line, sizeof line, &got));
    assert_int_equal(got, 4);
    assert_string_equal(line, "tail");
    /* Small reads through a range over the handle, past the view, read too. */
    stash_stream *range;
    uint32_t word;
    assert_ok(stash_stream_open_range(h, GROWN - 4, GROWN, &range));
    assert_ok(stash_stream_read_u32le(range, &word));
    assert_memory_equal(&word, "tail", 4);
    stash_stream_close(&range);
    stash_stream_close(&h);

    assert_int_equal(stash_memfile_pwrite(mf, "x", 1, GROWN), STASH_E_FULL);
    assert_ok(stash_memfile_open(mf, "a", &h));
    assert_int_equal(stash_stream_write(h, "x", 1), STASH_E_FULL);
    stash_stream_close(&h);
    void *view = NULL;
    uint64_t size = 99;
    assert_int_equal(stash_memfile_data(mf, &view, &size), STASH_E_FULL);
    assert_null(view);
    assert_int_equal(size, 99);
    assert_int_equal(mf_size(mf), GROWN);
    close(fd);
    stash_memfile_close(&mf);
}

/* ---- The locked mode under two threads ------------------------------------ */

#define RECORD 64
#define SLOTS 256
#define HANDLES_PER_THREAD 8
#define ROUNDS 4000

struct worker {
    stash_memfile *mf;
    unsigned id;
    unsigned torn; /* records read that mixed two writes */
    unsigned failures;
};

/* Every record a worker writes is one byte repeated, so a torn read shows. */
static bool uniform(const unsigned char *record)
{
    for (size_t i = 1; i < RECORD; i++)
        if (record[i] != record[0])
            return false;
    return true;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    stash_stream *handles[HANDLES_PER_THREAD], *appender;
    unsigned char record[RECORD];
    unsigned seed = w->id * 7919u + 1;
    for (size_t i = 0; i < HANDLES_PER_THREAD; i++)
        w->failures += stash_memfile_open(w->mf, "r+", &handles[i]) != STASH_OK;
    w->failures += stash_memfile_open(w->mf, "a", &appender) != STASH_OK;
    if (w->failures)
        return NULL;
    for (unsigned round = 0; round < ROUNDS; round++) {
        stash_stream *h = handles[round % HANDLES_PER_THREAD];
        uint64_t slot = rand_r(&seed) % SLOTS;
        if (round % 2 == 0) {
            memset(record, (int)(w->id * 64 + round % 64), RECORD);
            w->failures += stash_stream_pwrite(h, record, RECORD, slot * RECORD) != STASH_OK;
        } else {
            size_t got;
            w->failures += stash_stream_pread(h, record, RECORD, slot * RECORD, &got) !=
                           STASH_OK;
            w->torn += got == RECORD && !uniform(record);
        }
        if (round % 16 == 0) {
            memset(record, (int)(200 + w->id), RECORD);
            w->failures += stash_stream_write(appender, record, RECORD) != STASH_OK;
        }
    }
    for (size_t i = 0; i < HANDLES_PER_THREAD; i++)
        w->failures += stash_stream_close(&handles[i]) != STASH_OK;
    w->failures += stash_stream_close(&appender) != STASH_OK;
    return NULL;
}

static void test_locked_mode_with_two_threads_and_many_handles(void **state)
{
    (void)state;
    stash_memfile_options options = {.flags = STASH_MEMFILE_LOCKED};
    stash_memfile *mf;
    assert_ok(stash_memfile_create("locked", &options, &mf));
    assert_ok(stash_memfile_truncate(mf, SLOTS * RECORD));
    struct worker workers[2] = {{mf, 1, 0, 0}, {mf, 2, 0, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(workers[i].failures, 0);
        assert_int_equal(workers[i].torn, 0);
    }
    /* Appends from both threads all landed, none over another. */
    unsigned appends = ROUNDS / 16, counts[2] = {0, 0};
    assert_int_equal(mf_size(mf), (uint64_t)(SLOTS + 2 * appends) * RECORD);
    for (uint64_t r = SLOTS; r < SLOTS + 2 * appends; r++) {
        unsigned char record[RECORD];
        size_t got;
        assert_ok(stash_memfile_pread(mf, record, RECORD, (int64_t)(r * RECORD), &got));
        assert_true(uniform(record));
        assert_true(record[0] == 201 || record[0] == 202);
        counts[record[0] - 201]++;
    }
    assert_int_equal(counts[0], appends);
    assert_int_equal(counts[1], appends);
    /* Locked handles give no unlocked view. */
    stash_stream *h;
    const void *data;
    size_t len;
    assert_ok(stash_memfile_open(mf, "r", &h));
    assert_int_equal(stash_stream_peek(h, &data, &len), STASH_E_UNSUPPORTED);
    stash_stream_close(&h);
    stash_memfile_close(&mf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_native_pread_and_pwrite),
        cmocka_unit_test(test_seed_raw_read_only),
        cmocka_unit_test(test_seed_raw_read_write),
        cmocka_unit_test(test_seed_raw_truncating),
        cmocka_unit_test(test_seed_buffered_through_stdio),
        cmocka_unit_test(test_unknown_mode_characters_fail),
        cmocka_unit_test(test_handle_directions_follow_the_mode),
        cmocka_unit_test(test_w_truncates_for_every_handle),
        cmocka_unit_test(test_x_refuses_a_non_empty_file),
        cmocka_unit_test(test_append_is_true_append_across_handles),
        cmocka_unit_test(test_offsets_past_any_file_are_refused),
        cmocka_unit_test(test_reads_at_or_past_the_end_return_nothing),
        cmocka_unit_test(test_writes_past_the_end_leave_a_zero_gap),
        cmocka_unit_test(test_truncate_shrinks_and_extends_with_zeros),
        cmocka_unit_test(test_max_size_is_a_clear_limit),
        cmocka_unit_test(test_default_reservation_fits_a_small_address_space),
        cmocka_unit_test(test_view_stays_put_while_the_file_grows),
        cmocka_unit_test(test_peek_on_a_handle_is_the_view),
        cmocka_unit_test(test_readline_through_a_handle),
        cmocka_unit_test(test_handles_keep_the_file_alive),
        cmocka_unit_test(test_calls_on_closed_handles_report_closed),
        cmocka_unit_test(test_descriptor_reads_the_same_bytes),
        cmocka_unit_test(test_writes_through_the_descriptor_show_in_the_view),
        cmocka_unit_test(test_descriptor_outlives_the_memory_file),
        cmocka_unit_test(test_exported_files_cannot_shrink),
        cmocka_unit_test(test_path_writer_fills_an_empty_exported_file),
        cmocka_unit_test(test_growth_past_max_size_through_the_descriptor_is_seen),
        cmocka_unit_test(test_locked_mode_with_two_threads_and_many_handles),
    };
    return cmocka_run_group_tests_name("memfile", tests, NULL, NULL);
}
