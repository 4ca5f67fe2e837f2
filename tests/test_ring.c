/*
 * The shared ring: the behaviours of rdaclient's RingBuffer, which it
 * replaces (the test_seed_* tests: "seed" names that original), in both
 * layouts; writers and their deaths, waiting, and bad input. Rings live in
 * files under the scratch directory unless a test is about shared memory
 * names.
 */
#include "test_util.h"

#include <stash/ring.h>

#include "ring/ring_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>

static const char *dir;

static const char *ring_at(const char *name)
{
    return path_in(dir, name);
}

static stash_ring_config config(uint32_t channels, uint64_t capacity, stash_dtype dtype)
{
    return (stash_ring_config){.channels = channels, .capacity_samples = capacity,
                               .dtype = dtype};
}

/* Frame k, channel c of a float32 ring holds k * 1000 + c. */
static void fill_f32(float *frames, uint64_t first, uint64_t n, uint32_t channels)
{
    for (uint64_t k = 0; k < n; k++)
        for (uint32_t c = 0; c < channels; c++)
            frames[k * channels + c] = (float)((first + k) * 1000 + c);
}

static void put_f32(stash_ring *r, uint64_t first, uint64_t n, uint32_t channels)
{
    float *frames = malloc(n * channels * sizeof *frames + 1);
    fill_f32(frames, first, n, channels);
    assert_ok(stash_ring_put(r, frames, n));
    free(frames);
}

static void assert_window_f32(const stash_ring *r, uint64_t first, uint64_t end,
                              uint32_t channels)
{
    const float *got;
    assert_ok(stash_ring_view(r, first, end, (const void **)&got));
    for (uint64_t k = 0; k < end - first; k++)
        for (uint32_t c = 0; c < channels; c++)
            assert_true(got[k * channels + c] == (float)((first + k) * 1000 + c));
    assert_ok(stash_ring_validate(r, first));
}

/* ---- rdaclient's behaviours, in both layouts ---------------------------------------- */

static void seed_reads_and_wraps(stash_ring_config cfg, stash_ring_mapping want)
{
    stash_ring *r;
    const char *name = ring_at("seed");
    assert_ok(stash_ring_create(name, &cfg, &r));
    stash_ring_info info;
    assert_ok(stash_ring_info_get(r, &info));
    assert_int_equal(info.mapping, want);

    uint64_t cap = cfg.capacity_samples, ch = cfg.channels;
    assert_int_equal(stash_ring_check(r, 0, 1), STASH_RING_NOT_WRITTEN);
    put_f32(r, 0, cap - 2, ch);
    assert_int_equal(stash_ring_written(r), cap - 2);
    assert_window_f32(r, 0, cap - 2, ch);
    const void *p;
    assert_int_equal(stash_ring_view(r, 0, cap - 1, &p), STASH_E_NOT_WRITTEN);

    put_f32(r, cap - 2, 4, ch); /* wraps by 2 */
    assert_int_equal(stash_ring_written(r), cap + 2);
    assert_window_f32(r, cap - 2, cap + 2, ch); /* rdaclient's "slow mode": here a view */
    assert_int_equal(stash_ring_view(r, 1, 3, &p), STASH_E_OVERWRITTEN);
    assert_window_f32(r, 2, cap + 2, ch); /* the whole capacity, wrapped */
    assert_int_equal(stash_ring_check(r, 1, 3), STASH_RING_OVERWRITTEN);

    stash_ring *reader; /* a second handle sees the same samples and count */
    assert_ok(stash_ring_attach(name, 0, &reader));
    assert_int_equal(stash_ring_written(reader), cap + 2);
    assert_window_f32(reader, 2, cap + 2, ch);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&r));
    assert_null(r);
    assert_ok(stash_ring_remove(name));
}

static void test_seed_reads_and_wraps_in_a_pocket(void **state)
{
    (void)state; /* rdaclient's own numbers: 1 channel, 10 samples (40 bytes: not pages) */
    seed_reads_and_wraps(config(1, 10, STASH_DTYPE_FLOAT32), STASH_RING_POCKET);
}

static void test_seed_reads_and_wraps_mirrored(void **state)
{
    (void)state; /* 64 channels of float32: 16 samples are a page */
    seed_reads_and_wraps(config(64, 64, STASH_DTYPE_FLOAT32), STASH_RING_MIRRORED);
}

static void test_forced_pocket_reads_and_wraps(void **state)
{
    (void)state;
    stash_ring_config cfg = config(64, 64, STASH_DTYPE_FLOAT32);
    cfg.flags = STASH_RING_FORCE_POCKET;
    seed_reads_and_wraps(cfg, STASH_RING_POCKET);
}

static void test_seed_put_more_than_capacity_keeps_the_last(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 5, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("over"), &cfg, &r));
    put_f32(r, 0, 12, 2);
    assert_int_equal(stash_ring_written(r), 12);
    assert_window_f32(r, 7, 12, 2);
    assert_int_equal(stash_ring_check(r, 6, 12), STASH_RING_INVALID_RANGE); /* > capacity */
    assert_int_equal(stash_ring_check(r, 6, 11), STASH_RING_OVERWRITTEN);
    assert_ok(stash_ring_close(&r));
}

static void test_seed_checks_on_a_fresh_ring(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 10, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("fresh"), &cfg, &r));
    assert_int_equal(stash_ring_check(r, 0, 1), STASH_RING_NOT_WRITTEN);
    assert_int_equal(stash_ring_check(r, 2, 1), STASH_RING_INVALID_RANGE);
    assert_int_equal(stash_ring_check(r, 0, 11), STASH_RING_INVALID_RANGE);
    /* A deliberate difference: an empty window is valid (rdaclient calls (0, 0) invalid). */
    assert_int_equal(stash_ring_check(r, 0, 0), STASH_RING_AVAILABLE);
    const void *p = NULL;
    assert_ok(stash_ring_view(r, 0, 0, &p));
    assert_non_null(p);
    assert_int_equal(stash_ring_view(r, 3, 2, &p), STASH_E_RANGE);
    assert_ok(stash_ring_close(&r));
}

static void test_seed_wrong_shape_is_refused(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 8, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("shape"), &cfg, &r));
    float data[12] = {0};
    stash_array_desc desc;
    assert_ok(stash_array_desc_init(&desc, STASH_DTYPE_FLOAT32, 2, (uint64_t[]){4, 3}));
    assert_int_equal(stash_ring_put_array(r, &desc, data), STASH_E_SHAPE);
    assert_ok(stash_array_desc_init(&desc, STASH_DTYPE_FLOAT32, 1, (uint64_t[]){4}));
    assert_int_equal(stash_ring_put_array(r, &desc, data), STASH_E_SHAPE);
    assert_ok(stash_array_desc_init(&desc, STASH_DTYPE_FLOAT64, 2, (uint64_t[]){3, 2}));
    assert_int_equal(stash_ring_put_array(r, &desc, data), STASH_E_SHAPE);
    assert_int_equal(stash_ring_written(r), 0);
    assert_ok(stash_array_desc_init(&desc, STASH_DTYPE_FLOAT32, 2, (uint64_t[]){6, 2}));
    assert_ok(stash_ring_put_array(r, &desc, data));
    assert_int_equal(stash_ring_written(r), 6);
    assert_ok(stash_ring_close(&r));
}

static void test_put_array_swaps_and_reorders(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 8, STASH_DTYPE_INT16);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("swap"), &cfg, &r));
    /* Big-endian, Fortran order: frames (1, 2), (3, 4), (5, 6). */
    uint16_t f_order_be[6] = {0x0100, 0x0300, 0x0500, 0x0200, 0x0400, 0x0600};
    stash_array_desc desc;
    assert_ok(stash_array_desc_init(&desc, STASH_DTYPE_INT16, 2, (uint64_t[]){3, 2}));
    desc.byte_order = STASH_BIG_ENDIAN;
    desc.order = STASH_ORDER_F;
    assert_ok(stash_ring_put_array(r, &desc, f_order_be));
    int16_t got[6];
    assert_ok(stash_ring_copy(r, 0, 3, got));
    for (int i = 0; i < 6; i++)
        assert_int_equal(got[i], i + 1);
    assert_ok(stash_ring_close(&r));
}

static void test_every_dtype_round_trips(void **state)
{
    (void)state;
    for (int t = 0; t < STASH_DTYPE_COUNT; t++) {
        stash_ring_config cfg = config(3, 7, (stash_dtype)t);
        stash_ring *r;
        assert_ok(stash_ring_create(ring_at("dtype"), &cfg, &r));
        size_t frame = 3 * stash_dtype_size((stash_dtype)t);
        unsigned char in[20 * 48], out[7 * 48];
        for (size_t i = 0; i < sizeof in; i++)
            in[i] = (unsigned char)(i * 7 + t);
        assert_ok(stash_ring_put(r, in, 20));
        assert_ok(stash_ring_copy(r, 13, 20, out));
        assert_memory_equal(out, in + 13 * frame, 7 * frame);
        assert_ok(stash_ring_close(&r));
        assert_ok(stash_ring_remove(ring_at("dtype")));
    }
}

/* ---- Views and overwrites -------------------------------------------------------------- */

static void test_every_wrapped_window_is_one_view(void **state)
{
    (void)state;
    for (int forced = 0; forced < 2; forced++) {
        stash_ring_config cfg = config(4, 1024, STASH_DTYPE_FLOAT32);
        cfg.flags = forced ? STASH_RING_FORCE_POCKET : 0;
        stash_ring *r;
        assert_ok(stash_ring_create(ring_at("wrap"), &cfg, &r));
        uint64_t written = 0;
        for (uint64_t chunk = 1; written < 5000; chunk = chunk * 3 % 1031) {
            put_f32(r, written, chunk, 4);
            written += chunk;
            uint64_t first = written > 1024 ? written - 1024 : 0;
            assert_window_f32(r, first, written, 4);
        }
        assert_ok(stash_ring_close(&r));
        assert_ok(stash_ring_remove(ring_at("wrap")));
    }
}

static void test_validate_reports_an_overwrite_after_the_view(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("lap"), &cfg, &r));
    assert_ok(stash_ring_attach(ring_at("lap"), 0, &reader));
    put_f32(r, 0, 10, 1);
    const void *p;
    assert_ok(stash_ring_view(reader, 2, 6, &p));
    put_f32(r, 10, 9, 1); /* sample 2 is gone once sample 18 is begun */
    assert_int_equal(stash_ring_validate(reader, 2), STASH_E_OVERWRITTEN);
    assert_ok(stash_ring_validate(reader, 3)); /* 3 and later still hold */
    float buf[16];
    assert_int_equal(stash_ring_copy(reader, 1, 5, buf), STASH_E_OVERWRITTEN);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&r));
}

static void test_reader_views_are_read_only(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 1024, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("ro"), &cfg, &r));
    put_f32(r, 0, 4, 1);
    assert_ok(stash_ring_attach(ring_at("ro"), 0, &reader));
    const void *p;
    assert_ok(stash_ring_view(reader, 0, 4, &p));
    pid_t child = fork();
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: the child must die of it */
        *(volatile float *)p = 1.0f; /* rdaclient's wprotect, enforced by the MMU */
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    assert_window_f32(reader, 0, 4, 1);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&r));
}

/* ---- Writers ------------------------------------------------------------------------------ */

static void test_a_second_writer_is_refused(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    stash_ring *r, *other;
    assert_ok(stash_ring_create(ring_at("two"), &cfg, &r));
    assert_int_equal(stash_ring_attach(ring_at("two"), STASH_RING_WRITER, &other),
                     STASH_E_BUSY);
    put_f32(r, 0, 3, 1);
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_attach(ring_at("two"), STASH_RING_WRITER, &other));
    put_f32(other, 3, 3, 1); /* the count goes on */
    stash_ring_info info;
    assert_ok(stash_ring_info_get(other, &info));
    assert_int_equal(info.writer_sessions, 2);
    assert_int_equal(info.writer_pid, getpid());
    assert_window_f32(other, 0, 6, 1);
    assert_int_equal(stash_ring_put(NULL, "", 1), STASH_E_CLOSED);
    stash_ring *reader;
    assert_ok(stash_ring_attach(ring_at("two"), 0, &reader));
    assert_int_equal(stash_ring_put(reader, "abcd", 1), STASH_E_NOT_WRITABLE);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&other));
}

/* A child process that claims the writer's role, puts n samples and dies without closing. */
static void writer_dies(const char *name, uint64_t n, uint64_t announce, bool tear_slot_0)
{
    pid_t child = fork();
    if (child == 0) {
        stash_ring *w;
        if (stash_ring_attach(name, STASH_RING_WRITER, &w) != STASH_OK)
            _exit(1);
        put_f32(w, stash_ring_written(w), n, 1);
        if (announce) { /* dies in the middle of a put that announced this much */
            atomic_store(&w->map.header->announced, announce);
            if (tear_slot_0)
                memset(w->map.data, 0xff, 2);
        }
        raise(SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_a_dead_writers_claim_is_taken_over(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("dead"), &cfg, &r));
    assert_ok(stash_ring_close(&r));
    writer_dies(ring_at("dead"), 5, 0, false);
    stash_ring_info info;
    assert_ok(stash_ring_attach(ring_at("dead"), STASH_RING_WRITER, &r));
    assert_ok(stash_ring_info_get(r, &info));
    assert_int_equal(info.writer_sessions, 3);
    put_f32(r, 5, 2, 1);
    assert_window_f32(r, 0, 7, 1); /* died between puts: nothing lost */
    assert_ok(stash_ring_close(&r));
}

static void test_a_writer_killed_mid_put_loses_only_that_put(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("torn"), &cfg, &r));
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_attach(ring_at("torn"), 0, &reader));
    /* 10 samples, then a put of 10 more (slots 10..15 and 0..3) dies after tearing slot 0. */
    writer_dies(ring_at("torn"), 10, 20, true);
    assert_int_equal(stash_ring_written(reader), 10); /* the torn put is never published */
    assert_int_equal(stash_ring_check(reader, 0, 10), STASH_RING_OVERWRITTEN);
    assert_window_f32(reader, 4, 10, 1); /* what the torn put did not reach still reads */

    stash_ring *next;
    assert_ok(stash_ring_attach(ring_at("torn"), STASH_RING_WRITER, &next));
    assert_int_equal(stash_ring_written(reader), 20);
    assert_int_equal(stash_ring_check(reader, 10, 20), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(reader, 5, 10), STASH_RING_OVERWRITTEN);
    put_f32(next, 20, 4, 1);
    assert_window_f32(reader, 20, 24, 1);
    stash_ring_info info;
    assert_ok(stash_ring_info_get(reader, &info));
    assert_int_equal(info.readable_from, 20);
    assert_ok(stash_ring_close(&next));
    assert_ok(stash_ring_close(&reader));
}

/* ---- Waiting ------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A child that attaches as writer, sleeps ms, puts n samples and then closes or dies. */
static pid_t writer_child(const char *name, int sleep_ms, uint64_t n, bool die)
{
    pid_t child = fork();
    if (child != 0)
        return child;
    stash_ring *w;
    if (stash_ring_attach(name, STASH_RING_WRITER, &w) != STASH_OK)
        _exit(1);
    usleep((useconds_t)sleep_ms * 1000);
    float zero[64] = {0};
    if (n && stash_ring_put(w, zero, n) != STASH_OK)
        _exit(1);
    usleep((useconds_t)sleep_ms * 1000);
    if (die)
        raise(SIGKILL);
    stash_ring_close(&w);
    _exit(0);
}

static void test_a_reader_attached_before_anything_waits_for_it(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("early"), &cfg, &r));
    assert_ok(stash_ring_close(&r)); /* created with no writer, as `stash ring create` does */
    assert_ok(stash_ring_attach(ring_at("early"), 0, &reader));
    assert_int_equal(stash_ring_wait(reader, 1, 0, 0), STASH_E_TIMEOUT);
    pid_t child = writer_child(ring_at("early"), 50, 8, false);
    assert_ok(stash_ring_wait(reader, 8, 5000000000, 0));
    assert_int_equal(stash_ring_check(reader, 0, 8), STASH_RING_AVAILABLE);
    /* The writer closes: a wait for more learns it has gone. */
    assert_int_equal(stash_ring_wait(reader, 9, 5000000000, 0), STASH_E_WRITER_GONE);
    int status;
    waitpid(child, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_ok(stash_ring_close(&reader));
}

static void test_a_waiting_reader_learns_the_writer_died(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("died"), &cfg, &r));
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_attach(ring_at("died"), 0, &reader));
    pid_t child = writer_child(ring_at("died"), 30, 2, true);
    assert_ok(stash_ring_wait(reader, 2, 5000000000, 0));
    int64_t start = now_ms();
    assert_int_equal(stash_ring_wait(reader, 3, 5000000000, 0), STASH_E_WRITER_GONE);
    assert_true(now_ms() - start < 2000);
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_ok(stash_ring_close(&reader));
}

static void test_wait_times_out_and_spins(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("timeout"), &cfg, &r));
    int64_t start = now_ms();
    assert_int_equal(stash_ring_wait(r, 1, 30000000, 0), STASH_E_TIMEOUT);
    assert_int_equal(stash_ring_wait(r, 1, 20000000, 10000000), STASH_E_TIMEOUT);
    assert_true(now_ms() - start >= 45);
    put_f32(r, 0, 1, 1);
    assert_ok(stash_ring_wait(r, 1, 0, 0));
    assert_ok(stash_ring_wait(r, 1, -1, 1000));
    assert_ok(stash_ring_close(&r));
}

/* ---- Who can hurt a ring: readers cannot --------------------------------------------- */

/* True if writing to p kills a child process with SIGSEGV. */
static bool write_faults(volatile void *p)
{
    pid_t child = fork();
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: the child must die of it */
        *(volatile unsigned char *)p = 1;
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void assert_read_only_reader(stash_ring *r)
{
    assert_int_equal(fcntl(r->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_int_equal(ftruncate(r->fd, 0), -1); /* not through this handle, whoever runs it */
    assert_true(write_faults(&r->map.header->written));
    assert_true(write_faults(r->map.data));
}

static void test_a_reader_can_neither_truncate_nor_write_the_ring(void **state)
{
    (void)state;
    stash_ring_config cfg = config(64, 64, STASH_DTYPE_FLOAT32);
    stash_ring *w, *reader;
    assert_ok(stash_ring_create(ring_at("readonly"), &cfg, &w));
    put_f32(w, 0, 10, 64);
    assert_ok(stash_ring_attach(ring_at("readonly"), 0, &reader));
    assert_read_only_reader(reader);
    struct stat st;
    assert_int_equal(stat(ring_at("readonly"), &st), 0);
    assert_int_equal(st.st_size, 4096 + 64 * 64 * 4);
    put_f32(w, 10, 70, 64); /* the writer goes on, and the reader reads */
    assert_window_f32(reader, 16, 80, 64);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&w));

    cfg.flags = STASH_RING_NO_WRITER; /* the creator's reader handle too */
    assert_ok(stash_ring_create(ring_at("readonly-nw"), &cfg, &reader));
    assert_read_only_reader(reader);
    assert_ok(stash_ring_close(&reader));
}

static void test_a_ring_cut_short_is_refused_not_a_sigbus(void **state)
{
    (void)state;
    stash_ring_config cfg = config(64, 64, STASH_DTYPE_FLOAT32);
    stash_ring *w, *r;
    const char *name = ring_at("cut");
    assert_ok(stash_ring_create(name, &cfg, &w));
    struct ring_geometry geo = w->geo;
    assert_ok(stash_ring_close(&w));
    off_t whole = 4096 + 64 * 64 * 4;
    /* Cut after the header was checked and before it is mapped: the mapping is refused. */
    int fd = open(name, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(truncate(name, whole - 4096), 0);
    struct ring_mapping map;
    assert_int_equal(ring_map(fd, &geo, false, &map), STASH_E_TRUNCATED);
    close(fd);
    /* Cut before attaching: a reader or a writer is refused before touching a mapping. */
    assert_int_equal(stash_ring_attach(name, 0, &r), STASH_E_TRUNCATED);
    assert_int_equal(stash_ring_attach(name, STASH_RING_WRITER, &r), STASH_E_TRUNCATED);
    assert_int_equal(truncate(name, 4096), 0);
    assert_int_equal(stash_ring_attach(name, 0, &r), STASH_E_TRUNCATED);
    assert_int_equal(truncate(name, 300), 0); /* not even the header */
    assert_int_equal(stash_ring_attach(name, 0, &r), STASH_E_TRUNCATED);
    assert_int_equal(truncate(name, whole), 0); /* whole again (the data now zeros) */
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &r));
    assert_ok(stash_ring_close(&r));
}

/* A child that, as the user nobody, may read the ring name but not write it: it tries both. */
static pid_t reader_with_read_permission_only(const char *name, const char *path)
{
    pid_t child = fork();
    if (child != 0)
        return child;
    if (setgid(65534) != 0 || setuid(65534) != 0)
        _exit(10);
    stash_ring *r;
    if (stash_ring_attach(name, STASH_RING_WRITER, &r) != -EACCES)
        _exit(11);
    if (open(path, O_RDWR) >= 0 || errno != EACCES || truncate(path, 0) == 0)
        _exit(12);
    if (stash_ring_attach(name, 0, &r) != STASH_OK)
        _exit(13);
    _exit(stash_ring_wait(r, 1, 60000000000, 0) == STASH_OK ? 0 : 14);
}

static void test_a_user_who_may_only_read_attaches_and_sleeps(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* it needs to become another user */
    char name[64], path[128];
    snprintf(name, sizeof name, "stash-test-ring-ro-%d", (int)getpid());
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    cfg.mode = 0644;
    stash_ring *w;
    assert_ok(stash_ring_create(name, &cfg, &w));
    pid_t child = reader_with_read_permission_only(name, path);
    /* It registers in the wake segment, which it may write because it may read the ring. */
    int64_t give_up = now_ms() + 30000;
    while (atomic_load(&w->writer_wake->waiters) == 0) {
        assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
        assert_true(now_ms() < give_up);
        usleep(1000);
    }
    put_f32(w, 0, 1, 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_ok(stash_ring_remove(name));
    assert_ok(stash_ring_close(&w));
}

/* ---- The wake segment ------------------------------------------------------------------------ */

static int wake_id(const stash_ring *r)
{
    return atomic_load(&r->map.header->wake_shmid);
}

static bool segment_exists(int id)
{
    struct shmid_ds ds;
    return shmctl(id, IPC_STAT, &ds) == 0;
}

static void test_the_wake_segment_lives_as_long_as_its_handles(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    cfg.mode = 0640;
    stash_ring *w, *reader;
    assert_ok(stash_ring_create(ring_at("segment"), &cfg, &w));
    int id = wake_id(w);
    assert_true(id >= 0);
    struct shmid_ds ds;
    assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
    assert_int_equal(ds.shm_perm.mode & 0777, 0660); /* rw for whoever may read the ring */
    assert_true(ds.shm_perm.mode & SHM_DEST);         /* removed already: freed with its users */
    assert_ok(stash_ring_attach(ring_at("segment"), 0, &reader));
    assert_int_equal(stash_ring_wait(reader, 1, 1000000, 0), STASH_E_TIMEOUT); /* attaches it */
    assert_ok(stash_ring_close(&w));
    assert_true(segment_exists(id)); /* the reader holds it */
    assert_ok(stash_ring_attach(ring_at("segment"), STASH_RING_WRITER, &w));
    assert_int_equal(wake_id(w), id); /* the next writer joins the reader in it */
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&w));
    assert_false(segment_exists(id)); /* nothing left behind, though the ring stays */
    assert_ok(stash_ring_attach(ring_at("segment"), STASH_RING_WRITER, &w));
    assert_true(wake_id(w) >= 0 && wake_id(w) != id); /* a new one for the next writer */
    assert_ok(stash_ring_close(&w));
}

static void test_a_segment_id_that_names_another_segment_is_not_used(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *w, *reader;
    const char *name = ring_at("foreign");
    assert_ok(stash_ring_create(name, &cfg, &w));
    uint64_t cookie = atomic_load(&w->map.header->wake_cookie);
    assert_ok(stash_ring_close(&w)); /* its segment is gone; its id may name another one */
    int foreign = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(foreign >= 0);
    unsigned char *bytes = shmat(foreign, NULL, 0);
    assert_true(bytes != (void *)-1);
    shmctl(foreign, IPC_RMID, NULL);
    memcpy(bytes, "STASHWAK", 8); /* even with the magic: the cookie differs */
    memcpy(bytes + 8, &(uint64_t){cookie + 1}, 8);
    int fd = open(name, O_RDWR);
    assert_int_equal(pwrite(fd, &foreign, 4, 216), 4);
    close(fd);
    assert_ok(stash_ring_attach(name, 0, &reader));
    assert_null(ring_wake_segment(reader)); /* not before a writer publishes its own */
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &w));
    assert_true(wake_id(w) != foreign);
    assert_true(atomic_load(&w->map.header->wake_cookie) != cookie);
    assert_non_null(ring_wake_segment(reader)); /* the new writer's, refused once or not */
    assert_true(ring_wake_segment(reader)->cookie == w->writer_wake->cookie);
    for (int i = 16; i < 4096; i++)
        assert_int_equal(bytes[i], 0); /* nobody registered in it */
    shmdt(bytes);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&w));
}

/* A child that attaches as a reader and waits for a sample that never comes. */
static pid_t sleeping_reader(const char *name)
{
    pid_t child = fork();
    if (child == 0) {
        stash_ring *r;
        if (stash_ring_attach(name, 0, &r) != STASH_OK)
            _exit(1);
        stash_ring_wait(r, UINT64_C(1) << 40, 60000000000, 0);
        _exit(2);
    }
    assert_true(child > 0);
    return child;
}

static void test_a_reader_killed_in_its_sleep_costs_the_writer_nothing(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *w;
    assert_ok(stash_ring_create(ring_at("killed-reader"), &cfg, &w));
    const struct ring_wake *wake = w->writer_wake;
    assert_non_null(wake);
    /* Kill a sleeping reader until one dies counted as a sleeper (it re-registers each slice). */
    while (atomic_load(&wake->waiters) == 0) {
        pid_t child = sleeping_reader(ring_at("killed-reader"));
        while (atomic_load(&wake->waiters) == 0) {
            assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
            usleep(100);
        }
        kill(child, SIGKILL);
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
    }
    /* Its count stays raised for good; its lease runs out within a slice. */
    uint64_t lease = atomic_load(&wake->lease_ns);
    while (ring_now_ns() <= lease)
        usleep(1000);
    uint64_t wakes = w->wakes;
    for (uint64_t k = 0; k < 100; k++)
        put_f32(w, k, 1, 1);
    assert_int_equal(w->wakes, wakes); /* no FUTEX_WAKE for the dead */
    assert_true(atomic_load(&wake->waiters) > 0);
    assert_ok(stash_ring_close(&w));
}

static void test_a_sleeping_reader_is_woken_by_a_put(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *w;
    assert_ok(stash_ring_create(ring_at("woken"), &cfg, &w));
    pid_t child = fork();
    if (child == 0) {
        stash_ring *r;
        if (stash_ring_attach(ring_at("woken"), 0, &r) != STASH_OK)
            _exit(1);
        _exit(stash_ring_wait(r, 1, 60000000000, 0) == STASH_OK ? 0 : 2);
    }
    while (atomic_load(&w->writer_wake->waiters) == 0) {
        assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
        usleep(100);
    }
    put_f32(w, 0, 1, 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_ok(stash_ring_close(&w));
}

/* ---- Rings that outlive their processes: names, stat, stale removal, waiting to attach - */

/* A shared memory name unique to this run: "stash-test-WHAT-PID". */
static const char *shm_ring(const char *what)
{
    static char names[2][96];
    static int slot;
    slot ^= 1;
    snprintf(names[slot], sizeof names[slot], "stash-test-%s-%d", what, (int)getpid());
    return names[slot];
}

static void test_a_leading_slash_names_shared_memory(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    char slashed[128], path[160];
    snprintf(slashed, sizeof slashed, "/%s", shm_ring("slash"));
    snprintf(path, sizeof path, "/dev/shm%s", slashed);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(slashed, &cfg, &r));
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* /dev/shm/NAME, not a file at the root */
    assert_int_equal(access(slashed, F_OK), -1);
    assert_ok(stash_ring_attach(slashed + 1, 0, &reader)); /* the bare name is the same ring */
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_remove(slashed));
    assert_int_equal(stat(path, &st), -1);

    /* Each broken rule is named; a valid name has no problem. */
    assert_null(stash_ring_name_problem("eeg"));
    assert_null(stash_ring_name_problem("/eeg"));
    assert_null(stash_ring_name_problem("./eeg.ring"));
    assert_null(stash_ring_name_problem("/data/eeg.ring"));
    assert_non_null(strstr(stash_ring_name_problem(""), "1 to 200"));
    assert_non_null(strstr(stash_ring_name_problem("/"), "1 to 200"));
    assert_non_null(strstr(stash_ring_name_problem(".x"), "start with '.'"));
    assert_non_null(strstr(stash_ring_name_problem("/.x"), "start with '.'"));
    assert_non_null(strstr(stash_ring_name_problem("a b"), "[A-Za-z0-9._-]"));
    assert_non_null(strstr(stash_ring_name_problem("/tmp/"), "end with '/'"));
    assert_non_null(stash_ring_name_problem(NULL));
    assert_int_equal(stash_ring_create("/a b", &cfg, &r), STASH_E_INVALID);
    assert_int_equal(stash_ring_create("/", &cfg, &r), STASH_E_INVALID);
}

static void test_a_missing_ring_is_not_found(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    stash_ring *r = NULL;
    stash_ring_status st;
    const char *missing[] = {ring_at("missing"), shm_ring("missing"), ring_at("no/such/dir")};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stash_ring_attach(missing[i], 0, &r), STASH_E_NOT_FOUND);
        assert_int_equal(stash_ring_attach(missing[i], STASH_RING_WRITER, &r), STASH_E_NOT_FOUND);
        assert_int_equal(stash_ring_remove(missing[i]), STASH_E_NOT_FOUND);
        assert_int_equal(stash_ring_remove_stale(missing[i]), STASH_E_NOT_FOUND);
        assert_int_equal(stash_ring_stat(missing[i], &st), STASH_E_NOT_FOUND);
    }
    assert_int_equal(stash_ring_create(ring_at("no/such/dir"), &cfg, &r), STASH_E_NOT_FOUND);
    assert_null(r);
}

static void assert_stat(const char *name, stash_ring_writer writer, uint32_t readers, bool stale)
{
    stash_ring_status st;
    assert_ok(stash_ring_stat(name, &st));
    assert_int_equal(st.writer, writer);
    assert_int_equal(st.readers, readers);
    assert_int_equal(st.stale, stale);
}

/* Handles in this process count as they would in others: each is its own open file. */
static void stat_counts_handles(const char *name)
{
    stash_ring_config cfg = config(2, 1024, STASH_DTYPE_FLOAT32);
    cfg.rate_hz = 250;
    stash_ring *w, *r1, *r2;
    assert_ok(stash_ring_create(name, &cfg, &w));
    stash_ring_status st;
    assert_ok(stash_ring_stat(name, &st));
    assert_int_equal(st.channels, 2);
    assert_int_equal(st.dtype, STASH_DTYPE_FLOAT32);
    assert_int_equal(st.capacity_samples, 1024);
    assert_int_equal(st.frame_bytes, 8);
    assert_true(st.rate_hz == 250);
    assert_int_equal(st.mapping, STASH_RING_MIRRORED);
    assert_int_equal(st.object_bytes, 4096 + 8192);
    assert_int_equal(st.writer_pid, getpid());
    assert_true(st.created_unix_ns > 0);
    assert_int_equal(st.writer, STASH_RING_WRITER_ALIVE);
    assert_int_equal(st.readers, 0);
    assert_false(st.stale);
    put_f32(w, 0, 3, 2);
    assert_ok(stash_ring_attach(name, 0, &r1));
    assert_ok(stash_ring_attach(name, 0, &r2));
    assert_stat(name, STASH_RING_WRITER_ALIVE, 2, false);
    assert_ok(stash_ring_stat(name, &st));
    assert_int_equal(st.written_samples, 3);
    assert_ok(stash_ring_close(&w));
    assert_stat(name, STASH_RING_WRITER_CLOSED, 2, false);
    assert_int_equal(stash_ring_remove_stale(name), STASH_E_BUSY);
    assert_ok(stash_ring_close(&r1));
    assert_stat(name, STASH_RING_WRITER_CLOSED, 1, false);
    assert_ok(stash_ring_close(&r2));
    assert_stat(name, STASH_RING_WRITER_CLOSED, 0, true);
    assert_ok(stash_ring_remove_stale(name));
    assert_int_equal(stash_ring_stat(name, &st), STASH_E_NOT_FOUND);
}

static void test_stat_tells_the_writer_and_counts_readers(void **state)
{
    (void)state;
    stat_counts_handles(shm_ring("stat"));
    stat_counts_handles(ring_at("stat"));
}

static void test_a_created_ring_with_no_writer_is_stale_until_attached(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    cfg.flags = STASH_RING_NO_WRITER;
    const char *name = ring_at("nowriter-stale");
    stash_ring *r;
    assert_ok(stash_ring_create(name, &cfg, &r)); /* the creator's reader handle */
    assert_stat(name, STASH_RING_WRITER_NONE_YET, 1, false);
    assert_int_equal(stash_ring_remove_stale(name), STASH_E_BUSY);
    assert_ok(stash_ring_close(&r));
    assert_stat(name, STASH_RING_WRITER_NONE_YET, 0, true);
    assert_ok(stash_ring_remove_stale(name));
}

/* A child that becomes the writer, puts a sample, says so on the pipe, and waits to be killed. */
static pid_t writer_to_kill(const char *name, const int pipe_fds[2])
{
    pid_t child = fork();
    if (child == 0) {
        stash_ring *w;
        if (stash_ring_attach(name, STASH_RING_WRITER, &w) != STASH_OK ||
            stash_ring_put(w, "x", 1) != STASH_OK || write(pipe_fds[1], "w", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    assert_true(child > 0);
    char c;
    assert_int_equal(read(pipe_fds[0], &c, 1), 1);
    return child;
}

static void kill_and_reap(pid_t child)
{
    int status;
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
}

static void test_remove_stale_takes_a_killed_writers_ring_and_keeps_a_read_one(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    cfg.flags = STASH_RING_NO_WRITER;
    const char *names[2] = {shm_ring("killed"), shm_ring("read")};
    stash_ring *r;
    for (int i = 0; i < 2; i++) {
        assert_ok(stash_ring_create(names[i], &cfg, &r));
        assert_ok(stash_ring_close(&r));
    }
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    stash_ring *reader;
    assert_ok(stash_ring_attach(names[1], 0, &reader)); /* a live reader keeps "read" */
    pid_t writers[2];
    for (int i = 0; i < 2; i++) {
        writers[i] = writer_to_kill(names[i], pipe_fds);
        assert_int_equal(stash_ring_remove_stale(names[i]), STASH_E_BUSY); /* a live writer */
        kill_and_reap(writers[i]);
    }
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    stash_ring_status st;
    assert_ok(stash_ring_stat(names[0], &st));
    assert_int_equal(st.writer, STASH_RING_WRITER_DEAD);
    assert_int_equal(st.writer_pid, writers[0]);
    assert_true(st.stale);
    assert_stat(names[1], STASH_RING_WRITER_DEAD, 1, false);
    assert_ok(stash_ring_remove_stale(names[0]));
    assert_int_equal(stash_ring_remove_stale(names[1]), STASH_E_BUSY);
    assert_int_equal(stash_ring_stat(names[0], &st), STASH_E_NOT_FOUND);
    assert_ok(stash_ring_stat(names[1], &st));
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_remove_stale(names[1]));
    /* Not a ring: nothing removed. */
    FILE *f = fopen(ring_at("not-a-ring"), "w");
    fputs("not a ring at all", f);
    fclose(f);
    assert_int_equal(stash_ring_remove_stale(ring_at("not-a-ring")), STASH_E_CORRUPT);
    assert_int_equal(access(ring_at("not-a-ring"), F_OK), 0);
}

/* True once /proc/locks shows a process blocked on a lock of the file at path. */
static bool someone_waits_on(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char inode[48];
    snprintf(inode, sizeof inode, ":%llu ", (unsigned long long)st.st_ino);
    FILE *f = fopen("/proc/locks", "r");
    assert_non_null(f);
    char line[256];
    bool waits = false;
    while (!waits && fgets(line, sizeof line, f))
        waits = strstr(line, "->") && strstr(line, inode);
    fclose(f);
    return waits;
}

static void test_an_attacher_waits_out_a_stale_removal_and_finds_nothing(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    cfg.flags = STASH_RING_NO_WRITER;
    const char *name = ring_at("removing");
    stash_ring *r;
    assert_ok(stash_ring_create(name, &cfg, &r));
    assert_ok(stash_ring_close(&r));
    /* Hold what remove_stale holds between its check and its unlink. */
    int fd = open(name, O_RDWR);
    assert_true(fd >= 0);
    assert_ok(ring_lock_unused(fd));
    pid_t child = fork();
    if (child == 0) {
        close(fd); /* the lock is the parent's: a shared description would keep it */
        _exit(stash_ring_attach(name, 0, &r) == STASH_E_NOT_FOUND ? 0 : 1);
    }
    for (int i = 0; !someone_waits_on(name); i++) {
        assert_true(i < 60000); /* a minute: only to catch a hang */
        assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
        usleep(1000);
    }
    assert_int_equal(unlink(name), 0);
    close(fd);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_remove_on_close_removes_only_its_own_ring(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    cfg.flags = STASH_RING_REMOVE_ON_CLOSE;
    const char *name = shm_ring("on-close");
    stash_ring *w, *reader;
    assert_ok(stash_ring_create(name, &cfg, &w));
    pid_t child = fork(); /* a child closing the handle it inherited removes nothing */
    if (child == 0)
        _exit(stash_ring_close(&w) == STASH_OK ? 0 : 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    stash_ring_status st;
    assert_ok(stash_ring_stat(name, &st));
    assert_ok(stash_ring_attach(name, 0, &reader));
    assert_ok(stash_ring_close(&w));
    assert_int_equal(stash_ring_stat(name, &st), STASH_E_NOT_FOUND);
    assert_int_equal(stash_ring_written(reader), 0); /* an attached handle keeps working */
    assert_ok(stash_ring_close(&reader));

    /* A reader handle (no writer) removes too; a ring made at the name since stays. */
    cfg.flags = STASH_RING_REMOVE_ON_CLOSE | STASH_RING_NO_WRITER;
    assert_ok(stash_ring_create(name, &cfg, &w));
    assert_ok(stash_ring_remove(name));
    cfg.flags = 0;
    stash_ring *other;
    assert_ok(stash_ring_create(name, &cfg, &other));
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_stat(name, &st));
    assert_ok(stash_ring_close(&other));
    assert_ok(stash_ring_remove(name));
}

/* True if this process maps the file with inode ino (the fifth field of /proc/self/maps). */
static bool maps_inode(ino_t ino)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    unsigned long long inode;
    while (maps && !found && fgets(line, sizeof line, maps))
        found = sscanf(line, "%*s %*s %*s %*s %llu", &inode) == 1 &&
                inode == (unsigned long long)ino;
    if (maps)
        fclose(maps);
    return found;
}

/*
 * A child that abandons its copy of the writer's handle leaves the parent the
 * ring's writer (a close would have marked it detached and woken readers),
 * and holds the claim no longer: once the parent closes, a new writer comes.
 */
static void test_a_forked_child_abandons_the_writer_it_inherited(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    const char *name = ring_at("abandon");
    stash_ring *w, *reader, *other;
    assert_ok(stash_ring_create(name, &cfg, &w));
    put_f32(w, 0, 2, 1);
    struct stat object;
    assert_int_equal(stat(name, &object), 0);
    int done[2], go[2];
    assert_int_equal(pipe(done), 0);
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    if (child == 0) {
        char byte = 'x';
        close(go[1]);
        bool ok = maps_inode(object.st_ino) && stash_ring_abandon(&w) == STASH_OK &&
                  w == NULL && !maps_inode(object.st_ino) && stash_ring_abandon(&w) == STASH_OK;
        ok = write(done[1], &byte, 1) == 1 && ok;
        ok = read(go[0], &byte, 1) == 0 && ok; /* alive until the parent has checked */
        _exit(ok ? 0 : 1);
    }
    close(go[0]);
    close(done[1]);
    char byte;
    assert_int_equal(read(done[0], &byte, 1), 1); /* the child has abandoned its copy */
    close(done[0]);
    stash_ring_info info;
    assert_ok(stash_ring_attach(name, 0, &reader));
    assert_ok(stash_ring_info_get(reader, &info));
    assert_true(info.writer_attached);
    assert_int_equal(stash_ring_wait(reader, 3, 0, 0), STASH_E_TIMEOUT); /* not WRITER_GONE */
    assert_int_equal(stash_ring_attach(name, STASH_RING_WRITER, &other), STASH_E_BUSY);
    put_f32(w, 2, 3, 1);
    assert_window_f32(reader, 0, 5, 1);
    /* The parent's close gives the claim up, whatever the child kept. */
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &other));
    put_f32(other, 5, 1, 1);
    assert_window_f32(reader, 0, 6, 1);
    close(go[1]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_ok(stash_ring_close(&other));
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_remove(name));
}

/* A writer's close frees the claim even while a forked child holds a copy of its handle. */
static void test_a_writers_close_frees_the_claim_a_child_shares(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 16, STASH_DTYPE_FLOAT32);
    const char *name = ring_at("shared-claim");
    stash_ring *w, *next;
    assert_ok(stash_ring_create(name, &cfg, &w));
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t child = fork();
    if (child == 0) { /* keeps its copy of the handle until the parent is done */
        char byte;
        close(go[1]);
        _exit(read(go[0], &byte, 1) == 0 ? 0 : 1);
    }
    close(go[0]);
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &next));
    close(go[1]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_ok(stash_ring_close(&next));
    assert_ok(stash_ring_remove(name));
}

/*
 * A detached writer is gone for the ring (readers told, the claim free for
 * the next) while its views stay readable, and closing it then touches nothing.
 */
static void test_a_detached_handle_keeps_its_views(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 16, STASH_DTYPE_FLOAT32);
    const char *name = ring_at("detach");
    stash_ring *w, *reader, *next;
    assert_ok(stash_ring_create(name, &cfg, &w));
    assert_ok(stash_ring_attach(name, 0, &reader));
    put_f32(w, 0, 4, 2);
    const float *seen;
    assert_ok(stash_ring_view(w, 0, 4, (const void **)&seen));
    assert_ok(stash_ring_detach(w));
    assert_int_equal(stash_ring_wait(reader, 5, -1, 0), STASH_E_WRITER_GONE);
    assert_true(seen[7] == 3001.0f);
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &next)); /* the claim is free */
    put_f32(next, 4, 13, 2); /* sample 16 replaces sample 0: the old view sees it */
    assert_true(seen[0] == 16000.0f);
    assert_ok(stash_ring_close(&w)); /* frees the mapping; nothing else happens */
    assert_null(w);
    stash_ring_info info;
    assert_ok(stash_ring_info_get(reader, &info));
    assert_true(info.writer_attached);
    assert_int_equal(stash_ring_detach(NULL), STASH_E_CLOSED);
    assert_ok(stash_ring_close(&next));
    assert_ok(stash_ring_close(&reader));

    /* The creator's detach removes a remove-on-close ring's name, as its close would. */
    cfg.flags = STASH_RING_REMOVE_ON_CLOSE;
    const char *shm = shm_ring("detach");
    stash_ring_status st;
    assert_ok(stash_ring_create(shm, &cfg, &w));
    assert_ok(stash_ring_detach(w));
    assert_int_equal(stash_ring_stat(shm, &st), STASH_E_NOT_FOUND);
    assert_ok(stash_ring_close(&w));
}

/* True once process pid has an inotify descriptor open. */
static bool has_inotify(pid_t pid)
{
    char fds[64], link[384], target[128];
    snprintf(fds, sizeof fds, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(fds);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        snprintf(link, sizeof link, "%s/%s", fds, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        found = n > 0 && (target[n] = '\0', strstr(target, "inotify") != NULL);
    }
    closedir(d);
    return found;
}

static void test_attach_wait_sees_a_ring_created_after_it_began(void **state)
{
    (void)state;
    const char *names[2] = {shm_ring("late"), ring_at("late")};
    for (int i = 0; i < 2; i++) {
        pid_t child = fork();
        if (child == 0) {
            stash_ring *r;
            stash_status st = stash_ring_attach_wait(names[i], 0, 60000000000, &r);
            _exit(st == STASH_OK && stash_ring_written(r) == 0 ? 0 : 1);
        }
        for (int k = 0; !has_inotify(child); k++) { /* its watch is set: creation is seen */
            assert_true(k < 60000);
            assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
            usleep(1000);
        }
        stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
        stash_ring *w;
        assert_ok(stash_ring_create(names[i], &cfg, &w));
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_ok(stash_ring_close(&w));
        assert_ok(stash_ring_remove(names[i]));
    }
}

static void test_attach_wait_times_out_cleanly(void **state)
{
    (void)state;
    stash_ring *r = NULL;
    assert_int_equal(stash_ring_attach_wait(shm_ring("never"), 0, 20000000, &r), STASH_E_TIMEOUT);
    assert_int_equal(stash_ring_attach_wait(ring_at("never"), 0, 0, &r), STASH_E_TIMEOUT);
    /* No directory to watch: it looks every 20 ms instead. */
    assert_int_equal(stash_ring_attach_wait(ring_at("no-dir/never"), 0, 30000000, &r),
                     STASH_E_TIMEOUT);
    assert_null(r);
    /* Anything else is returned at once: a bad name, not a ring, another writer. */
    assert_int_equal(stash_ring_attach_wait(".bad", 0, -1, &r), STASH_E_INVALID);
    assert_int_equal(stash_ring_attach_wait("/dev/null", 0, -1, &r), STASH_E_CORRUPT);
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    stash_ring *w;
    assert_ok(stash_ring_create(ring_at("taken"), &cfg, &w));
    assert_int_equal(stash_ring_attach_wait(ring_at("taken"), STASH_RING_WRITER, -1, &r),
                     STASH_E_BUSY);
    assert_ok(stash_ring_attach_wait(ring_at("taken"), 0, 0, &r));
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_close(&w));
}

/* ---- Metadata, names, permissions ----------------------------------------------------------- */

static void test_metadata_reaches_a_late_joiner(void **state)
{
    (void)state;
    const char *labels[] = {"Fz", "Cz", "Pz"}, *units[] = {"uV", "uV", "µV"};
    stash_ring_config cfg = config(3, 100, STASH_DTYPE_INT16);
    cfg.rate_hz = 512.5;
    cfg.labels = labels;
    cfg.units = units;
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("meta"), &cfg, &r));
    assert_ok(stash_ring_attach(ring_at("meta"), 0, &reader));
    stash_ring_info info;
    assert_ok(stash_ring_info_get(reader, &info));
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.dtype, STASH_DTYPE_INT16);
    assert_int_equal(info.capacity_samples, 100);
    assert_int_equal(info.frame_bytes, 6);
    assert_true(info.rate_hz == 512.5);
    assert_true(info.writer_attached);
    assert_false(info.is_writer);
    for (int c = 0; c < 3; c++) {
        assert_string_equal(info.labels[c], labels[c]);
        assert_string_equal(info.units[c], units[c]);
    }
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_info_get(reader, &info));
    assert_false(info.writer_attached);
    assert_ok(stash_ring_close(&reader));
}

/* ---- A copy of another ring: its first sample and skips ------------------------------ */

static void test_a_ring_starts_at_its_first_sample(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 16, STASH_DTYPE_FLOAT32);
    cfg.first_sample = 1000003; /* not a multiple of the capacity: slot 1000003 mod 16 */
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("first"), &cfg, &r));
    assert_int_equal(stash_ring_written(r), 1000003);
    stash_ring_info info;
    assert_ok(stash_ring_info_get(r, &info));
    assert_int_equal(info.readable_from, 1000003);
    assert_int_equal(stash_ring_check(r, 1000003, 1000003), STASH_RING_AVAILABLE);
    assert_int_equal(stash_ring_check(r, 1000002, 1000003), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(r, 0, 1), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(r, 1000003, 1000004), STASH_RING_NOT_WRITTEN);
    put_f32(r, 1000003, 20, 2); /* wraps */
    assert_window_f32(r, 1000007, 1000023, 2);
    assert_ok(stash_ring_attach(ring_at("first"), 0, &reader));
    assert_int_equal(stash_ring_written(reader), 1000023);
    assert_window_f32(reader, 1000010, 1000023, 2);
    assert_ok(stash_ring_close(&reader));
    assert_ok(stash_ring_close(&r));
    /* A later writer continues the numbering. */
    assert_ok(stash_ring_attach(ring_at("first"), STASH_RING_WRITER, &r));
    put_f32(r, 1000023, 3, 2);
    assert_window_f32(r, 1000020, 1000026, 2);
    assert_ok(stash_ring_close(&r));
    cfg.first_sample = UINT64_C(1) << 63;
    assert_int_equal(stash_ring_create(ring_at("first-too-far"), &cfg, &r), STASH_E_RANGE);
}

static void test_a_skip_leaves_a_gap_that_reads_overwritten(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r, *reader;
    assert_ok(stash_ring_create(ring_at("skip"), &cfg, &r));
    assert_ok(stash_ring_attach(ring_at("skip"), 0, &reader));
    put_f32(r, 0, 10, 2);
    const void *held;
    assert_ok(stash_ring_view(reader, 4, 10, &held)); /* held across the skip */
    assert_ok(stash_ring_skip_to(r, 10));              /* to where it is: nothing changes */
    assert_ok(stash_ring_validate(reader, 4));
    assert_ok(stash_ring_skip_to(r, 30));
    assert_int_equal(stash_ring_written(reader), 30);
    assert_int_equal(stash_ring_validate(reader, 4), STASH_E_OVERWRITTEN);
    /* Every window that starts before the skip point is gone, even one written before it. */
    assert_int_equal(stash_ring_check(reader, 4, 10), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(reader, 10, 30), STASH_RING_OVERWRITTEN);
    assert_int_equal(stash_ring_check(reader, 29, 30), STASH_RING_OVERWRITTEN);
    float dst[2 * 30];
    assert_int_equal(stash_ring_copy(reader, 0, 30, dst), STASH_E_OVERWRITTEN);
    assert_int_equal(stash_ring_check(reader, 30, 30), STASH_RING_AVAILABLE);
    put_f32(r, 30, 8, 2);
    assert_window_f32(reader, 30, 38, 2);
    assert_int_equal(stash_ring_check(reader, 29, 31), STASH_RING_OVERWRITTEN);
    stash_ring_info info;
    assert_ok(stash_ring_info_get(reader, &info));
    assert_int_equal(info.readable_from, 30);
    /* Far beyond the capacity, and back: refused. */
    assert_ok(stash_ring_skip_to(r, 1000));
    put_f32(r, 1000, 64, 2);
    assert_window_f32(reader, 1000, 1064, 2);
    assert_int_equal(stash_ring_skip_to(r, 999), STASH_E_RANGE);
    assert_int_equal(stash_ring_skip_to(r, (UINT64_C(1) << 63) + 1), STASH_E_RANGE);
    assert_int_equal(stash_ring_skip_to(reader, 2000), STASH_E_NOT_WRITABLE);
    assert_int_equal(stash_ring_skip_to(NULL, 2000), STASH_E_CLOSED);
    /* A writer that takes over after a skip continues from it; attach checks the counters. */
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_attach(ring_at("skip"), STASH_RING_WRITER, &r));
    assert_int_equal(stash_ring_written(r), 1064);
    assert_ok(stash_ring_skip_to(r, 1100));
    put_f32(r, 1100, 1, 2);
    assert_window_f32(r, 1100, 1101, 2);
    assert_ok(stash_ring_close(&r));
    assert_ok(stash_ring_close(&reader));
}

/* A child that waits for end on the ring, then exits with its status's distance from 0. */
static pid_t waiter_child(const char *name, uint64_t end)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stash_ring *r;
        if (stash_ring_attach(name, 0, &r) != STASH_OK)
            _exit(2);
        stash_status st = stash_ring_wait(r, end, 20000000000, 0);
        int gone = stash_ring_check(r, end - 1, end) == STASH_RING_OVERWRITTEN;
        stash_ring_abandon(&r);
        _exit(st == STASH_OK && gone ? 0 : 1);
    }
    return pid;
}

static void test_readers_waiting_in_a_gap_are_woken(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    assert_ok(stash_ring_create(ring_at("skip-wake"), &cfg, &r));
    pid_t child = waiter_child(ring_at("skip-wake"), 40);
    /* Until the child sleeps registered: its skip must wake it, whenever it comes. */
    const struct ring_wake *w = NULL;
    for (int i = 0; i < 20000; i++) {
        w = r->writer_wake;
        if (w && atomic_load(&w->waiters) > 0)
            break;
        usleep(1000);
    }
    assert_ok(stash_ring_skip_to(r, 50));
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_ok(stash_ring_close(&r));
}

static void test_modes_names_and_removal(void **state)
{
    (void)state;
    stash_ring_config cfg = config(1, 8, STASH_DTYPE_UINT8);
    stash_ring *r, *again;
    assert_ok(stash_ring_create(ring_at("mode"), &cfg, &r));
    struct stat st;
    assert_int_equal(stat(ring_at("mode"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stash_ring_create(ring_at("mode"), &cfg, &again), -EEXIST);
    assert_ok(stash_ring_remove(ring_at("mode")));
    assert_ok(stash_ring_put(r, "x", 1)); /* a removed ring goes on working for its handles */
    assert_int_equal(stash_ring_written(r), 1);
    assert_int_equal(stash_ring_remove(ring_at("mode")), STASH_E_NOT_FOUND);
    assert_int_equal(stash_ring_attach(ring_at("mode"), 0, &again), STASH_E_NOT_FOUND);
    assert_ok(stash_ring_close(&r));
    cfg.mode = 0640;
    assert_ok(stash_ring_create(ring_at("mode"), &cfg, &r));
    assert_int_equal(stat(ring_at("mode"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_ok(stash_ring_close(&r));

    /* A shared memory name, and names that are not. */
    char name[64];
    snprintf(name, sizeof name, "stash-test-ring-%d", (int)getpid());
    assert_ok(stash_ring_create(name, &cfg, &r));
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    assert_int_equal(stat(path, &st), 0);
    assert_ok(stash_ring_remove(name));
    assert_ok(stash_ring_close(&r));
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *bad[] = {"", ".hidden", "a b", "tab\t", long_name};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(stash_ring_create(bad[i], &cfg, &r), STASH_E_INVALID);
    assert_int_equal(stash_ring_attach(NULL, 0, &r), STASH_E_INVALID);

    /* remove deletes rings only: never a mistyped path's file, nor through a link. */
    FILE *f = fopen(ring_at("precious"), "w");
    fputs("not a ring", f);
    fclose(f);
    assert_int_equal(stash_ring_remove(ring_at("precious")), STASH_E_CORRUPT);
    assert_int_equal(symlink(ring_at("mode"), ring_at("link")), 0);
    assert_int_equal(stash_ring_remove(ring_at("link")), STASH_E_CORRUPT);
    assert_int_equal(access(ring_at("precious"), F_OK), 0);
    assert_int_equal(access(ring_at("mode"), F_OK), 0);
}

static void test_create_without_a_writer(void **state)
{
    (void)state;
    stash_ring_config cfg = config(2, 16, STASH_DTYPE_FLOAT32);
    cfg.flags = STASH_RING_NO_WRITER;
    stash_ring *r, *w;
    assert_ok(stash_ring_create(ring_at("nowriter"), &cfg, &r));
    stash_ring_info info;
    assert_ok(stash_ring_info_get(r, &info));
    assert_false(info.is_writer);
    assert_false(info.writer_attached);
    assert_int_equal(info.writer_sessions, 0);
    assert_int_equal(stash_ring_put(r, "12345678", 1), STASH_E_NOT_WRITABLE);
    assert_ok(stash_ring_attach(ring_at("nowriter"), STASH_RING_WRITER, &w));
    put_f32(w, 0, 3, 2);
    assert_window_f32(r, 0, 3, 2);
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_close(&r));
}

static void test_granules(void **state)
{
    (void)state;
    uint64_t g;
    assert_ok(stash_ring_granule_samples(64, STASH_DTYPE_FLOAT32, &g));
    assert_int_equal(g, 16);
    assert_ok(stash_ring_granule_samples(3, STASH_DTYPE_FLOAT64, &g));
    assert_int_equal(g, 512);
    assert_int_equal(stash_ring_granule_samples(0, STASH_DTYPE_FLOAT64, &g), STASH_E_INVALID);
    assert_string_equal(stash_ring_mapping_name(STASH_RING_POCKET), "pocket");
}

/* ---- Bad input --------------------------------------------------------------------------------- */

static void test_absurd_geometry_is_refused(void **state)
{
    (void)state;
    stash_ring *r;
    struct {
        stash_ring_config cfg;
        stash_status want;
    } cases[] = {
        {config(0, 10, STASH_DTYPE_FLOAT32), STASH_E_RANGE},
        {config(1, 0, STASH_DTYPE_FLOAT32), STASH_E_RANGE},
        {config(STASH_RING_MAX_CHANNELS + 1, 10, STASH_DTYPE_FLOAT32), STASH_E_RANGE},
        {config(1, UINT64_C(1) << 62, STASH_DTYPE_FLOAT32), STASH_E_RANGE},
        {config(65536, UINT64_MAX, STASH_DTYPE_COMPLEX128), STASH_E_RANGE},
        {config(1, 10, (stash_dtype)99), STASH_E_DTYPE},
        {config(1, 10, (stash_dtype)-1), STASH_E_DTYPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(stash_ring_create(ring_at("absurd"), &cases[i].cfg, &r), cases[i].want);
    stash_ring_config cfg = config(1, 10, STASH_DTYPE_FLOAT32);
    cfg.rate_hz = NAN;
    assert_int_equal(stash_ring_create(ring_at("absurd"), &cfg, &r), STASH_E_INVALID);
    cfg.rate_hz = 0;
    const char *bad_utf8[] = {"\xff"};
    cfg.labels = bad_utf8;
    assert_int_equal(stash_ring_create(ring_at("absurd"), &cfg, &r), STASH_E_INVALID);
    cfg.labels = NULL;
    cfg.flags = 1u << 7;
    assert_int_equal(stash_ring_create(ring_at("absurd"), &cfg, &r), STASH_E_INVALID);
    assert_int_equal(access(ring_at("absurd"), F_OK), -1); /* nothing left behind */
}

/* Writes a ring's header with one field changed, then attaches. */
static stash_status attach_damaged(size_t offset, const void *bytes, size_t len)
{
    stash_ring_config cfg = config(2, 64, STASH_DTYPE_FLOAT32);
    stash_ring *r;
    const char *name = ring_at("damaged");
    unlink(name);
    assert_ok(stash_ring_create(name, &cfg, &r));
    assert_ok(stash_ring_close(&r));
    int fd = open(name, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, len, (off_t)offset), (ssize_t)len);
    close(fd);
    stash_status st = stash_ring_attach(name, 0, &r);
    if (st == STASH_OK)
        stash_ring_close(&r);
    return st;
}

static void test_damaged_headers_are_refused(void **state)
{
    (void)state;
    uint32_t zero = 0, big = 0xffffffffu, one = 1, three = 3;
    uint64_t huge = UINT64_C(1) << 62, ten = 10;
    assert_int_equal(attach_damaged(0, "NOTARING", 8), STASH_E_CORRUPT);
    assert_int_equal(attach_damaged(0, "\0\0\0\0\0\0\0\0", 8), STASH_E_BUSY);
    assert_int_equal(attach_damaged(8, &one, 4), STASH_E_VERSION); /* the old layout */
    assert_int_equal(attach_damaged(8, &three, 4), STASH_E_VERSION);
    assert_int_equal(attach_damaged(12, &zero, 4), STASH_E_CORRUPT);  /* header bytes */
    assert_int_equal(attach_damaged(12, &big, 4), STASH_E_CORRUPT);
    assert_int_equal(attach_damaged(16, &zero, 4), STASH_E_CORRUPT);  /* channels */
    assert_int_equal(attach_damaged(16, &big, 4), STASH_E_CORRUPT);
    assert_int_equal(attach_damaged(20, &big, 4), STASH_E_CORRUPT);   /* frame bytes */
    assert_int_equal(attach_damaged(24, ">f4", 3), STASH_E_DTYPE);
    assert_int_equal(attach_damaged(24, "<U8", 3), STASH_E_DTYPE);
    assert_int_equal(attach_damaged(24, "<f4\0x", 5), STASH_E_CORRUPT);
    assert_int_equal(attach_damaged(32, &zero, 4), STASH_E_CORRUPT);  /* capacity 0 */
    assert_int_equal(attach_damaged(32, &huge, 8), STASH_E_CORRUPT);  /* capacity 2^62 */
    assert_int_equal(attach_damaged(32, &ten, 8), STASH_E_CORRUPT);   /* != data bytes */
    assert_int_equal(attach_damaged(48, &big, 4), STASH_E_CORRUPT);   /* unknown flags */
    assert_int_equal(attach_damaged(52, &big, 4), STASH_E_CORRUPT);   /* meta bytes */
    assert_int_equal(attach_damaged(512, "\xff", 1), STASH_E_CORRUPT); /* label not UTF-8 */
    assert_int_equal(attach_damaged(128, &ten, 8), STASH_E_CORRUPT);  /* written > announced */
    /* A cut file: TRUNCATED; a short non-ring: CORRUPT; not a regular file: CORRUPT. */
    stash_ring *r;
    assert_int_equal(attach_damaged(0, "STASHRNG", 8), STASH_OK);
    assert_int_equal(truncate(ring_at("damaged"), 4096 + 100), 0);
    assert_int_equal(stash_ring_attach(ring_at("damaged"), 0, &r), STASH_E_TRUNCATED);
    assert_int_equal(truncate(ring_at("damaged"), 100), 0);
    assert_int_equal(stash_ring_attach(ring_at("damaged"), 0, &r), STASH_E_TRUNCATED);
    assert_int_equal(truncate(ring_at("damaged"), 0), 0);
    assert_int_equal(stash_ring_attach(ring_at("damaged"), 0, &r), STASH_E_CORRUPT);
    assert_int_equal(stash_ring_attach(dir, 0, &r), -EISDIR);
    assert_int_equal(stash_ring_attach("/dev/null", 0, &r), STASH_E_CORRUPT);
}

int main(void)
{
    dir = scratch_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_reads_and_wraps_in_a_pocket),
        cmocka_unit_test(test_seed_reads_and_wraps_mirrored),
        cmocka_unit_test(test_forced_pocket_reads_and_wraps),
        cmocka_unit_test(test_seed_put_more_than_capacity_keeps_the_last),
        cmocka_unit_test(test_seed_checks_on_a_fresh_ring),
        cmocka_unit_test(test_seed_wrong_shape_is_refused),
        cmocka_unit_test(test_put_array_swaps_and_reorders),
        cmocka_unit_test(test_every_dtype_round_trips),
        cmocka_unit_test(test_every_wrapped_window_is_one_view),
        cmocka_unit_test(test_validate_reports_an_overwrite_after_the_view),
        cmocka_unit_test(test_reader_views_are_read_only),
        cmocka_unit_test(test_a_second_writer_is_refused),
        cmocka_unit_test(test_a_dead_writers_claim_is_taken_over),
        cmocka_unit_test(test_a_writer_killed_mid_put_loses_only_that_put),
        cmocka_unit_test(test_a_reader_attached_before_anything_waits_for_it),
        cmocka_unit_test(test_a_waiting_reader_learns_the_writer_died),
        cmocka_unit_test(test_wait_times_out_and_spins),
        cmocka_unit_test(test_a_reader_can_neither_truncate_nor_write_the_ring),
        cmocka_unit_test(test_a_ring_cut_short_is_refused_not_a_sigbus),
        cmocka_unit_test(test_a_user_who_may_only_read_attaches_and_sleeps),
        cmocka_unit_test(test_the_wake_segment_lives_as_long_as_its_handles),
        cmocka_unit_test(test_a_segment_id_that_names_another_segment_is_not_used),
        cmocka_unit_test(test_a_reader_killed_in_its_sleep_costs_the_writer_nothing),
        cmocka_unit_test(test_a_sleeping_reader_is_woken_by_a_put),
        cmocka_unit_test(test_metadata_reaches_a_late_joiner),
        cmocka_unit_test(test_a_ring_starts_at_its_first_sample),
        cmocka_unit_test(test_a_skip_leaves_a_gap_that_reads_overwritten),
        cmocka_unit_test(test_readers_waiting_in_a_gap_are_woken),
        cmocka_unit_test(test_modes_names_and_removal),
        cmocka_unit_test(test_create_without_a_writer),
        cmocka_unit_test(test_granules),
        cmocka_unit_test(test_absurd_geometry_is_refused),
        cmocka_unit_test(test_damaged_headers_are_refused),
        cmocka_unit_test(test_a_leading_slash_names_shared_memory),
        cmocka_unit_test(test_a_missing_ring_is_not_found),
        cmocka_unit_test(test_stat_tells_the_writer_and_counts_readers),
        cmocka_unit_test(test_a_created_ring_with_no_writer_is_stale_until_attached),
        cmocka_unit_test(test_remove_stale_takes_a_killed_writers_ring_and_keeps_a_read_one),
        cmocka_unit_test(test_an_attacher_waits_out_a_stale_removal_and_finds_nothing),
        cmocka_unit_test(test_remove_on_close_removes_only_its_own_ring),
        cmocka_unit_test(test_a_forked_child_abandons_the_writer_it_inherited),
        cmocka_unit_test(test_a_detached_handle_keeps_its_views),
        cmocka_unit_test(test_a_writers_close_frees_the_claim_a_child_shares),
        cmocka_unit_test(test_attach_wait_sees_a_ring_created_after_it_began),
        cmocka_unit_test(test_attach_wait_times_out_cleanly),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
