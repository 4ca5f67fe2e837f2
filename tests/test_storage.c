#include <stash/storage.h>

#include "test_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static const char *dir;

static int make_dir(void **state)
{
    (void)state;
    dir = scratch_dir();
    return 0;
}

/* Reads up to n bytes at rp and checks they are want. */
static void expect_read(stash_storage *st, size_t n, const char *want)
{
    void *data = NULL;
    size_t len = 99;
    assert_ok(stash_storage_read(st, n, &data, &len));
    assert_int_equal(len, strlen(want));
    if (len > 0)
        assert_memory_equal(data, want, len);
    else
        assert_null(data);
    free(data);
}

static void expect_all(stash_storage *st, const char *want, size_t want_len)
{
    void *data = NULL;
    size_t len = 99;
    assert_ok(stash_storage_read_all(st, &data, &len));
    assert_int_equal(len, want_len);
    if (len > 0)
        assert_memory_equal(data, want, len);
    free(data);
}

static void write_str(stash_storage *st, const char *s)
{
    assert_ok(stash_storage_write(st, s, strlen(s)));
}

/* ---- The tests of SpiNNaker's storage handlers --------------------------- */

static void test_memory_write_then_read_all_equals_data(void **state)
{
    (void)state;
    stash_storage *st;
    assert_ok(stash_storage_open_memory(&st));
    write_str(st, "ABcd1234");
    expect_all(st, "ABcd1234", 8);
    char buf[4];
    size_t n;
    assert_ok(stash_storage_seek_read(st, 2, STASH_SEEK_SET, NULL));
    assert_ok(stash_storage_readinto(st, buf, sizeof buf, &n)); /* SpiNNaker's bytearray storage refused */
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "cd12", 4);
    stash_storage_close(&st);
}

/* The sequence of SpiNNaker's BufferedBytearrayDataStorage test, step by step. */
static void check_pointer_sequence(stash_storage *st)
{
    assert_int_equal(stash_storage_tell_read(st), 0);
    assert_int_equal(stash_storage_tell_write(st), 0);
    assert_true(stash_storage_eof(st));
    expect_read(st, 123, "");
    write_str(st, "abc");
    assert_int_equal(stash_storage_tell_write(st), 3);
    assert_int_equal(stash_storage_tell_read(st), 0);
    assert_false(stash_storage_eof(st));
    expect_read(st, 1, "a");
    expect_read(st, 5, "bc");
    assert_int_equal(stash_storage_tell_read(st), 3);
    assert_true(stash_storage_eof(st));
    assert_ok(stash_storage_seek_read(st, 2, STASH_SEEK_SET, NULL));
    expect_read(st, 5, "c");
    write_str(st, "def");
    assert_false(stash_storage_eof(st));
    assert_ok(stash_storage_seek_read(st, 2, STASH_SEEK_SET, NULL));
    expect_read(st, 5, "cdef");
    assert_ok(stash_storage_seek_write(st, 2, STASH_SEEK_SET, NULL));
    write_str(st, "PQR");
    assert_ok(stash_storage_seek_read(st, 0, STASH_SEEK_SET, NULL));
    expect_read(st, 4, "abPQ");
    assert_ok(stash_storage_seek_write(st, 6, STASH_SEEK_SET, NULL));
    write_str(st, "gh");
    assert_ok(stash_storage_seek_read(st, 1, STASH_SEEK_SET, NULL));
    expect_read(st, 1, "b");
    assert_ok(stash_storage_seek_read(st, 1, STASH_SEEK_CUR, NULL));
    expect_read(st, 1, "Q");
    assert_ok(stash_storage_seek_read(st, -2, STASH_SEEK_END, NULL));
    expect_read(st, 1, "g");
    assert_int_equal(stash_storage_seek_read(st, 0, 42, NULL), STASH_E_INVALID);
    assert_int_equal(stash_storage_seek_write(st, 0, -1, NULL), STASH_E_INVALID);
}

static void test_memory_pointer_sequence(void **state)
{
    (void)state;
    stash_storage *st;
    assert_ok(stash_storage_open_memory(&st));
    check_pointer_sequence(st);
    stash_storage_close(&st);
}

static void test_file_pointer_sequence(void **state)
{
    (void)state;
    const char *path = path_in(dir, "sequence");
    stash_storage *st;
    assert_ok(stash_storage_open_file(path, "w+", &st));
    check_pointer_sequence(st);
    stash_storage_close(&st);
    char buf[16];
    assert_int_equal(read_file(path, buf, sizeof buf), 8);
    assert_memory_equal(buf, "abPQRfgh", 8);
    unlink(path);
}

static void test_file_reader_reads_all_and_writer_creates(void **state)
{
    (void)state;
    const char *path = path_in(dir, "rw");
    stash_storage *st;
    assert_ok(stash_storage_open_file(path, "w+b", &st));
    assert_int_equal(file_size(path), 0);
    write_str(st, "ABcd1234");
    expect_all(st, "ABcd1234", 8); /* the reader sees the buffered write */
    assert_ok(stash_storage_flush(st));
    assert_int_equal(file_size(path), 8);
    assert_ok(stash_storage_close(&st));
    assert_int_equal(file_size(path), 8); /* the file stays */
    assert_ok(stash_storage_open_file(path, "rb", &st));
    expect_all(st, "ABcd1234", 8);
    assert_true(stash_storage_eof(st));
    stash_storage_close(&st);
    unlink(path);
}

static void test_missing_file_and_directory_fail_with_reason(void **state)
{
    (void)state;
    stash_storage *st = NULL;
    assert_int_equal(stash_storage_open_file(path_in(dir, "nope"), "r", &st), -ENOENT);
    assert_int_equal(stash_storage_open_file(path_in(dir, "nope/x"), "w", &st), -ENOENT);
    assert_int_equal(stash_storage_open_file(dir, "r", &st), -EISDIR);
    assert_int_equal(stash_storage_open_file(dir, "w+", &st), -EISDIR);
    assert_int_equal(stash_storage_open_file(path_in(dir, "x"), "z", &st), STASH_E_MODE);
    assert_null(st);
}

static void test_read_mode_on_empty_file(void **state)
{
    (void)state;
    const char *path = path_in(dir, "empty");
    write_file(path, "", 0);
    stash_storage *st;
    char buf[8];
    size_t n = 5;
    assert_ok(stash_storage_open_file(path, "r", &st));
    assert_int_equal(stash_storage_write(st, "x", 1), STASH_E_NOT_WRITABLE);
    expect_read(st, 100, "");
    assert_ok(stash_storage_readinto(st, buf, sizeof buf, &n));
    assert_int_equal(n, 0);
    assert_int_equal(stash_storage_tell_read(st), 0);
    expect_all(st, "", 0);
    stash_storage_close(&st);
    assert_int_equal(file_size(path), 0); /* the refused write changed nothing */
    unlink(path);
}

static void test_write_mode_refuses_reads_and_counts_writes(void **state)
{
    (void)state;
    const char *path = path_in(dir, "wonly");
    stash_storage *st;
    void *data;
    size_t len;
    assert_ok(stash_storage_open_file(path, "w", &st));
    assert_int_equal(stash_storage_read(st, 1, &data, &len), STASH_E_NOT_READABLE);
    assert_int_equal(stash_storage_read_all(st, &data, &len), STASH_E_NOT_READABLE);
    assert_int_equal(stash_storage_tell_write(st), 0);
    write_str(st, "12345");
    assert_int_equal(stash_storage_tell_write(st), 5);
    stash_storage_close(&st);
    assert_int_equal(file_size(path), 5);
    unlink(path);
}

static void check_seeking(stash_storage *st)
{
    write_str(st, "abPQRcd");
    assert_ok(stash_storage_seek_read(st, 1, STASH_SEEK_SET, NULL));
    expect_read(st, 1, "b");
    assert_ok(stash_storage_seek_read(st, 1, STASH_SEEK_CUR, NULL));
    expect_read(st, 1, "Q");
    assert_ok(stash_storage_seek_read(st, -2, STASH_SEEK_END, NULL));
    expect_read(st, 1, "c");
    assert_false(stash_storage_eof(st));
    expect_read(st, 1, "d");
    assert_true(stash_storage_eof(st));
    assert_int_equal(stash_storage_seek_read(st, 0, 3, NULL), STASH_E_INVALID);
}

static void test_seeking_on_a_file(void **state)
{
    (void)state;
    const char *path = path_in(dir, "seeking");
    stash_storage *st;
    assert_ok(stash_storage_open_file(path, "w+", &st));
    check_seeking(st);
    stash_storage_close(&st);
    unlink(path);
}

static void test_seeking_on_a_temp_file(void **state)
{
    (void)state;
    stash_storage_pool *pool;
    stash_storage *st;
    assert_ok(stash_storage_pool_create(4, NULL, &pool));
    assert_ok(stash_storage_open_temp(pool, &st));
    check_seeking(st);
    stash_storage_close(&st);
    stash_storage_pool_close(&pool);
}

static void test_fixture_bytes_read_raw(void **state)
{
    (void)state;
    const char *path = path_in(dir, "fixture");
    stash_storage *st;
    char one;
    size_t n;
    write_file(path, "12345", 5);
    assert_ok(stash_storage_open_file(path, "r", &st));
    expect_read(st, 1, "1");
    assert_ok(stash_storage_readinto(st, &one, 1, &n));
    assert_int_equal(one, '2');
    stash_storage_close(&st);
    assert_ok(stash_storage_open_file(path, "r", &st));
    expect_read(st, 5, "12345");
    stash_storage_close(&st);
    write_file(path, "\xf0\xa4\xad\xa2", 4);
    assert_ok(stash_storage_open_file(path, "r", &st));
    expect_read(st, 2, "\xf0\xa4");
    stash_storage_close(&st);
    unlink(path);
}

static void test_writer_fixtures(void **state)
{
    (void)state;
    const char *path = path_in(dir, "writer");
    stash_storage *st;
    char buf[8];
    assert_ok(stash_storage_open_file(path, "w", &st));
    assert_ok(stash_storage_write(st, "\0", 1));
    stash_storage_close(&st);
    assert_int_equal(read_file(path, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0);
    assert_ok(stash_storage_open_file(path, "w", &st));
    assert_ok(stash_storage_write(st, "\1\2\3\4\5", 5));
    stash_storage_close(&st);
    assert_int_equal(read_file(path, buf, sizeof buf), 5);
    assert_memory_equal(buf, "\1\2\3\4\5", 5);
    assert_ok(stash_storage_open_file(path, "w", &st));
    assert_ok(stash_storage_write(st, "", 0));
    stash_storage_close(&st);
    assert_int_equal(file_size(path), 0);
    unlink(path);
}

/* ---- Temp storages and the pool ---------------------------------------- */

static void test_temp_storage_length_grows_and_reads_back(void **state)
{
    (void)state;
    stash_storage_pool *pool;
    stash_storage *st;
    assert_ok(stash_storage_pool_create(2, NULL, &pool));
    assert_ok(stash_storage_open_temp(pool, &st));
    assert_int_equal(stash_storage_length(st), 0);
    write_str(st, "ABcd1234");
    assert_int_equal(stash_storage_length(st), 8);
    expect_all(st, "ABcd1234", 8);
    stash_storage_close(&st);
    stash_storage_pool_close(&pool);
}

static void test_2000_temp_storages_through_a_pool_of_100(void **state)
{
    (void)state;
    enum { COUNT = 2000, MAX_OPEN = 100 };
    const char *parent = path_in(dir, "pool2000");
    assert_int_equal(mkdir(parent, 0700), 0);
    int fds_before = open_fd_count();
    stash_storage_pool *pool;
    static stash_storage *st[COUNT];
    assert_ok(stash_storage_pool_create(MAX_OPEN, parent, &pool));
    char text[16];
    for (int i = 0; i < COUNT; i++) {
        assert_ok(stash_storage_open_temp(pool, &st[i]));
        int len = snprintf(text, sizeof text, "%d", i);
        assert_ok(stash_storage_write(st[i], text, (size_t)len));
        assert_true(stash_storage_pool_open_count(pool) <= MAX_OPEN);
    }
    assert_true(open_fd_count() <= fds_before + MAX_OPEN);
    assert_int_equal(dir_entry_count(parent), 1); /* the pool's own directory */
    for (int i = 0; i < COUNT; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        expect_read(st[i], 16, text);
        assert_int_equal(stash_storage_tell_read(st[i]), (uint64_t)len);
        assert_true(stash_storage_pool_open_count(pool) <= MAX_OPEN);
    }
    assert_true(open_fd_count() <= fds_before + MAX_OPEN);
    stash_storage_pool_close(&pool); /* storages keep it alive */
    for (int i = 0; i < COUNT; i++)
        assert_ok(stash_storage_close(&st[i]));
    assert_int_equal(open_fd_count(), fds_before);
    assert_int_equal(dir_entry_count(parent), 0); /* files and directory are gone */
    rmdir(parent);
}

static void test_temp_storage_survives_eviction_mid_edit(void **state)
{
    (void)state;
    stash_storage_pool *pool;
    stash_storage *st, *other;
    assert_ok(stash_storage_pool_create(100, NULL, &pool));
    assert_ok(stash_storage_open_temp(pool, &st));
    write_str(st, "abcde");
    assert_ok(stash_storage_seek_write(st, 3, STASH_SEEK_SET, NULL));
    write_str(st, "ba");
    assert_ok(stash_storage_seek_read(st, 1, STASH_SEEK_SET, NULL));
    for (int i = 0; i < 2000; i++) { /* force st's descriptor out of the pool */
        assert_ok(stash_storage_open_temp(pool, &other));
        write_str(other, "x");
        assert_ok(stash_storage_flush(other));
        assert_ok(stash_storage_close(&other));
    }
    expect_read(st, 3, "bcb");
    assert_false(stash_storage_eof(st));
    assert_int_equal(stash_storage_tell_read(st), 4);
    assert_int_equal(stash_storage_tell_write(st), 5);
    write_str(st, "f");
    assert_ok(stash_storage_seek_read(st, 0, STASH_SEEK_SET, NULL));
    char buf[6];
    size_t n;
    assert_ok(stash_storage_readinto(st, buf, sizeof buf, &n));
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "abcbaf", 6);
    assert_true(stash_storage_eof(st));
    stash_storage_close(&st);
    stash_storage_pool_close(&pool);
}

static void test_evicted_dirty_data_is_written_on_next_use(void **state)
{
    (void)state;
    stash_storage_pool *pool;
    stash_storage *a, *b;
    assert_ok(stash_storage_pool_create(1, NULL, &pool));
    assert_ok(stash_storage_open_temp(pool, &a));
    write_str(a, "kept in a's buffer");
    assert_ok(stash_storage_open_temp(pool, &b)); /* closes a's descriptor */
    write_str(b, "b");
    assert_ok(stash_storage_flush(b));
    assert_int_equal(stash_storage_pool_open_count(pool), 1);
    assert_ok(stash_storage_flush(a)); /* reopens a, evicting b */
    expect_all(a, "kept in a's buffer", 18);
    expect_all(b, "b", 1);
    stash_storage_close(&a);
    stash_storage_close(&b);
    stash_storage_pool_close(&pool);
}

/* In a child under RLIMIT_NOFILE 32: 200 storages, each written and read back.
 * Returns 0, or the step that failed. */
static int write_and_read_200_storages_under_32_descriptors(void)
{
    enum { COUNT = 200 };
    struct rlimit limit;
    stash_storage_pool *pool;
    static stash_storage *st[COUNT];
    char text[16], back[16];
    size_t got;
    /* The soft limit only: valgrind refuses to change the hard one. */
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || (limit.rlim_cur = 32) > limit.rlim_max ||
        setrlimit(RLIMIT_NOFILE, &limit) != 0 ||
        stash_storage_pool_create(100, NULL, &pool) != STASH_OK)
        return 1;
    for (int i = 0; i < COUNT; i++) {
        int len = snprintf(text, sizeof text, "storage %d", i);
        if (stash_storage_open_temp(pool, &st[i]) != STASH_OK ||
            stash_storage_write(st[i], text, (size_t)len) != STASH_OK ||
            stash_storage_flush(st[i]) != STASH_OK)
            return 2;
    }
    for (int i = 0; i < COUNT; i++) {
        int len = snprintf(text, sizeof text, "storage %d", i);
        if (stash_storage_readinto(st[i], back, sizeof back, &got) != STASH_OK ||
            got != (size_t)len || memcmp(back, text, got) != 0)
            return 3;
    }
    for (int i = 0; i < COUNT; i++)
        if (stash_storage_close(&st[i]) != STASH_OK)
            return 4;
    stash_storage_pool_close(&pool);
    return 0;
}

/* The process runs out of descriptors before the pool reaches max_open: the
 * pool closes its own idle ones instead of failing with EMFILE. */
static void test_pool_evicts_when_the_process_runs_out_of_descriptors(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) /* exit, not _exit: a failed run's pool is removed at exit */
        exit(write_and_read_200_storages_under_32_descriptors());
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_pool_rejects_zero_descriptors(void **state)
{
    (void)state;
    stash_storage_pool *pool = NULL;
    stash_storage *st;
    assert_int_equal(stash_storage_pool_create(0, NULL, &pool), STASH_E_INVALID);
    assert_int_equal(stash_storage_pool_create(1, path_in(dir, "no/such/dir"), &pool),
                     -ENOENT);
    assert_null(pool);
    assert_int_equal(stash_storage_open_temp(NULL, &st), STASH_E_CLOSED);
    stash_storage_pool_close(&pool);
}

static void test_temp_files_are_removed_at_process_exit(void **state)
{
    (void)state;
    const char *parent = path_in(dir, "at-exit");
    assert_int_equal(mkdir(parent, 0700), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Leaves its pool and storages open on purpose; static, so a leak
         * checker sees them as still reachable at exit. */
        static stash_storage_pool *pool;
        static stash_storage *st[5];
        if (stash_storage_pool_create(2, parent, &pool) != STASH_OK)
            _exit(2);
        for (int i = 0; i < 5; i++)
            if (stash_storage_open_temp(pool, &st[i]) != STASH_OK ||
                stash_storage_write(st[i], "x", 1) != STASH_OK ||
                stash_storage_flush(st[i]) != STASH_OK)
                _exit(3);
        exit(dir_entry_count(parent) == 1 ? 0 : 4);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(dir_entry_count(parent), 0);
    rmdir(parent);
}

/* ---- Differences from SpiNNaker's storage handlers ---------------------- */

static void test_read_all_limit_reads_to_the_end(void **state)
{
    (void)state;
    stash_storage *st;
    assert_ok(stash_storage_open_memory(&st));
    write_str(st, "abcdef");
    assert_ok(stash_storage_seek_read(st, 2, STASH_SEEK_SET, NULL));
    expect_read(st, STASH_STORAGE_ALL, "cdef"); /* SpiNNaker's read(-1) lost the "f" */
    stash_storage_close(&st);
}

static void test_read_all_returns_a_copy_and_moves_rp(void **state)
{
    (void)state;
    stash_storage *st;
    void *data;
    size_t len;
    assert_ok(stash_storage_open_memory(&st));
    write_str(st, "abc");
    assert_ok(stash_storage_read_all(st, &data, &len));
    ((char *)data)[0] = 'X';
    free(data);
    assert_int_equal(stash_storage_tell_read(st), 3);
    expect_all(st, "abc", 3);
    stash_storage_close(&st);
}

static void test_seeks_clamp_into_the_storage(void **state)
{
    (void)state;
    stash_storage *st;
    uint64_t pos;
    assert_ok(stash_storage_open_memory(&st));
    write_str(st, "abcd");
    assert_ok(stash_storage_seek_read(st, 10, STASH_SEEK_SET, &pos));
    assert_int_equal(pos, 4);
    assert_ok(stash_storage_seek_read(st, -10, STASH_SEEK_CUR, &pos));
    assert_int_equal(pos, 0);
    assert_ok(stash_storage_seek_write(st, 2, STASH_SEEK_END, &pos));
    assert_int_equal(pos, 4); /* END + 2 clamps; SpiNNaker's storages read it as END - 2 */
    assert_ok(stash_storage_seek_write(st, -1, STASH_SEEK_END, &pos));
    assert_int_equal(pos, 3);
    assert_ok(stash_storage_seek_read(st, INT64_MIN, STASH_SEEK_END, &pos));
    assert_int_equal(pos, 0);
    stash_storage_close(&st);
}

static void test_close_is_idempotent_and_later_calls_report_closed(void **state)
{
    (void)state;
    stash_storage_pool *pool;
    stash_storage *st;
    void *data;
    size_t len;
    assert_ok(stash_storage_pool_create(1, NULL, &pool));
    assert_ok(stash_storage_open_temp(pool, &st));
    assert_ok(stash_storage_close(&st));
    assert_ok(stash_storage_close(&st)); /* SpiNNaker's temp storage raised KeyError here */
    assert_int_equal(stash_storage_write(st, "x", 1), STASH_E_CLOSED);
    assert_int_equal(stash_storage_read(st, 1, &data, &len), STASH_E_CLOSED);
    assert_int_equal(stash_storage_readinto(st, &data, 1, &len), STASH_E_CLOSED);
    assert_int_equal(stash_storage_read_all(st, &data, &len), STASH_E_CLOSED);
    assert_int_equal(stash_storage_seek_read(st, 0, STASH_SEEK_SET, NULL), STASH_E_CLOSED);
    assert_int_equal(stash_storage_flush(st), STASH_E_CLOSED);
    assert_true(stash_storage_eof(st));
    assert_null(stash_storage_stream(st));
    stash_storage_pool_close(&pool);
    stash_storage_pool_close(&pool);
}

/* ---- Failures ----------------------------------------------------------- */

static void test_negative_sizes_and_null_arguments_are_invalid(void **state)
{
    (void)state;
    stash_storage *st;
    void *data;
    size_t len;
    assert_ok(stash_storage_open_memory(&st));
    /* A negative size converted to size_t is huge: the write is refused
     * before anything is copied, and the storage is unchanged. */
    assert_int_not_equal(stash_storage_write(st, "x", (size_t)-1), STASH_OK);
    assert_int_equal(stash_storage_length(st), 0);
    assert_int_equal(stash_storage_write(st, NULL, 3), STASH_E_INVALID);
    assert_int_equal(stash_storage_read(st, 1, NULL, &len), STASH_E_INVALID);
    assert_int_equal(stash_storage_read_all(st, &data, NULL), STASH_E_INVALID);
    assert_int_equal(stash_storage_open_file(NULL, "r", &st), STASH_E_INVALID);
    stash_storage_close(&st);
}

static void test_read_only_file_refuses_writes(void **state)
{
    (void)state;
    const char *path = path_in(dir, "readonly");
    stash_storage *st;
    write_file(path, "keep", 4);
    assert_int_equal(chmod(path, 0444), 0);
    if (geteuid() != 0) /* root may write anyway */
        assert_int_equal(stash_storage_open_file(path, "r+", &st), -EACCES);
    assert_ok(stash_storage_open_file(path, "r", &st));
    assert_int_equal(stash_storage_write(st, "lost", 4), STASH_E_NOT_WRITABLE);
    expect_all(st, "keep", 4);
    stash_storage_close(&st);
    unlink(path);
}

static void test_full_disk_keeps_what_was_written_before(void **state)
{
    (void)state;
    const char *path = path_in(dir, "full");
    enum { LIMIT = 32 * 1024 };
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = LIMIT;
    stash_storage *st;
    assert_ok(stash_storage_open_file(path, "w+", &st));
    write_str(st, "first");
    assert_ok(stash_storage_flush(st));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    static char block[4096];
    memset(block, 'b', sizeof block);
    stash_status status = STASH_OK;
    for (int i = 0; i < 20 && status == STASH_OK; i++)
        status = stash_storage_write(st, block, sizeof block);
    if (status == STASH_OK)
        status = stash_storage_flush(st);
    assert_int_equal(status, -EFBIG);
    stash_storage_close(&st);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    char head[5];
    assert_int_equal(read_file(path, head, sizeof head), 5);
    assert_memory_equal(head, "first", 5);
    assert_int_equal(file_size(path), LIMIT);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_write_then_read_all_equals_data),
        cmocka_unit_test(test_memory_pointer_sequence),
        cmocka_unit_test(test_file_pointer_sequence),
        cmocka_unit_test(test_file_reader_reads_all_and_writer_creates),
        cmocka_unit_test(test_missing_file_and_directory_fail_with_reason),
        cmocka_unit_test(test_read_mode_on_empty_file),
        cmocka_unit_test(test_write_mode_refuses_reads_and_counts_writes),
        cmocka_unit_test(test_seeking_on_a_file),
        cmocka_unit_test(test_seeking_on_a_temp_file),
        cmocka_unit_test(test_fixture_bytes_read_raw),
        cmocka_unit_test(test_writer_fixtures),
        cmocka_unit_test(test_temp_storage_length_grows_and_reads_back),
        cmocka_unit_test(test_2000_temp_storages_through_a_pool_of_100),
        cmocka_unit_test(test_temp_storage_survives_eviction_mid_edit),
        cmocka_unit_test(test_evicted_dirty_data_is_written_on_next_use),
        cmocka_unit_test(test_pool_evicts_when_the_process_runs_out_of_descriptors),
        cmocka_unit_test(test_pool_rejects_zero_descriptors),
        cmocka_unit_test(test_temp_files_are_removed_at_process_exit),
        cmocka_unit_test(test_read_all_limit_reads_to_the_end),
        cmocka_unit_test(test_read_all_returns_a_copy_and_moves_rp),
        cmocka_unit_test(test_seeks_clamp_into_the_storage),
        cmocka_unit_test(test_close_is_idempotent_and_later_calls_report_closed),
        cmocka_unit_test(test_negative_sizes_and_null_arguments_are_invalid),
        cmocka_unit_test(test_read_only_file_refuses_writes),
        cmocka_unit_test(test_full_disk_keeps_what_was_written_before),
    };
    return cmocka_run_group_tests_name("storage", tests, make_dir, NULL);
}
