/*
 * stash demo: until the full pipeline exists (issue 7), a real small job over
 * the parts built so far: typed records written through a file stream, read
 * back through a storage and a range window, copied into a memory file and
 * read through its view and its descriptor's path, and many temp storages
 * sharing a small descriptor pool. Exits non-zero if any byte does not verify.
 */
#include "commands.h"

#include <stash/stash.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_BYTES 12 /* u32 id, f64 value, both little endian */

struct demo_options {
    const char *dir;
    unsigned long records;
    unsigned long temps;
    unsigned long pool_max;
};

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double value_of(uint32_t id)
{
    return (double)id * 0.5 - 3.25;
}

static int fail(const char *what, stash_status status)
{
    fprintf(stderr, "stash demo: %s: %s\n", what, stash_strerror(status));
    return 1;
}

static int write_records(const char *path, unsigned long n)
{
    stash_stream *s;
    stash_status status = stash_stream_open_file(path, "w", &s);
    if (status != STASH_OK)
        return fail(path, status);
    for (uint32_t id = 0; id < n && status == STASH_OK; id++) {
        status = stash_stream_write_u32le(s, id);
        if (status == STASH_OK)
            status = stash_stream_write_f64le(s, value_of(id));
    }
    stash_status closed = stash_stream_close(&s);
    return status != STASH_OK || closed != STASH_OK
               ? fail("writing records", status != STASH_OK ? status : closed)
               : 0;
}

/* Decodes every record of a whole-file copy; returns how many are wrong. */
static unsigned long check_records(const unsigned char *data, size_t len, unsigned long n)
{
    unsigned long bad = len == n * RECORD_BYTES ? 0 : 1;
    size_t at = 0;
    for (uint32_t id = 0; id < n; id++) {
        uint32_t got_id;
        double got_value;
        if (stash_bytes_read_u32le(data, len, &at, &got_id) != STASH_OK ||
            stash_bytes_read_f64le(data, len, &at, &got_value) != STASH_OK)
            return bad + (n - id);
        bad += got_id != id || got_value != value_of(id);
    }
    return bad;
}

static int read_records(const char *path, unsigned long n, unsigned long *bad)
{
    stash_storage *st;
    void *data = NULL;
    size_t len = 0;
    stash_status status = stash_storage_open_file(path, "r", &st);
    if (status == STASH_OK)
        status = stash_storage_read_all(st, &data, &len);
    if (status != STASH_OK) {
        stash_storage_close(&st);
        return fail("reading records", status);
    }
    *bad = check_records(data, len, n);
    free(data);

    /* One record through a range window over the storage's stream. */
    uint32_t pick = (uint32_t)(n / 2), id = 0;
    double value = 0;
    stash_stream *window = NULL;
    status = stash_stream_open_range(stash_storage_stream(st), (uint64_t)pick * RECORD_BYTES,
                                     (uint64_t)(pick + 1) * RECORD_BYTES, &window);
    if (status == STASH_OK)
        status = stash_stream_read_u32le(window, &id);
    if (status == STASH_OK)
        status = stash_stream_read_f64le(window, &value);
    *bad += status != STASH_OK || id != pick || value != value_of(pick);
    stash_stream_close(&window);
    stash_storage_close(&st);
    return 0;
}

/* Copies the file into a memory file through a handle, 1 MiB at a time. */
static stash_status load_into_memfile(const char *path, stash_memfile *mf)
{
    stash_stream *in, *out = NULL;
    stash_status status = stash_stream_open_file(path, "r", &in);
    if (status == STASH_OK)
        status = stash_memfile_open(mf, "w", &out);
    static unsigned char chunk[1 << 20];
    size_t got = 1;
    while (status == STASH_OK && got > 0) {
        status = stash_stream_read(in, chunk, sizeof chunk, &got);
        if (status == STASH_OK)
            status = stash_stream_write(out, chunk, got);
    }
    stash_stream_close(&in);
    stash_stream_close(&out);
    return status;
}

/* Reads a whole file by path with stdio, as a path-only library would. */
static unsigned long check_by_path(const char *path, size_t len, unsigned long n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(len + 1);
    size_t got = f != NULL && data != NULL ? fread(data, 1, len + 1, f) : 0;
    unsigned long bad = check_records(data, got, n);
    if (f != NULL)
        fclose(f);
    free(data);
    return bad;
}

static int exercise_memfile(const char *path, unsigned long n, unsigned long *bad)
{
    stash_memfile *mf;
    stash_status status = stash_memfile_create("demo-records", NULL, &mf);
    if (status == STASH_OK)
        status = load_into_memfile(path, mf);
    void *view = NULL;
    uint64_t size = 0;
    int fd = -1;
    if (status == STASH_OK)
        status = stash_memfile_data(mf, &view, &size);
    if (status == STASH_OK)
        status = stash_memfile_fd(mf, &fd);
    if (status == STASH_OK) {
        char fd_path[64];
        snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
        *bad += check_records(view, (size_t)size, n);
        *bad += check_by_path(fd_path, (size_t)size, n);
        close(fd);
    }
    stash_memfile_close(&mf);
    return status == STASH_OK ? 0 : fail("memory file", status);
}

static int exercise_pool(const struct demo_options *o, unsigned long *bad, size_t *peak_open)
{
    stash_storage_pool *pool;
    stash_status status = stash_storage_pool_create(o->pool_max, NULL, &pool);
    if (status != STASH_OK)
        return fail("creating the temp pool", status);
    stash_storage **temps = calloc(o->temps, sizeof *temps);
    if (temps == NULL)
        return fail("allocating", -ENOMEM);
    char text[32];
    for (unsigned long i = 0; i < o->temps && status == STASH_OK; i++) {
        int len = snprintf(text, sizeof text, "temp storage %lu", i);
        status = stash_storage_open_temp(pool, &temps[i]);
        if (status == STASH_OK)
            status = stash_storage_write(temps[i], text, (size_t)len);
        size_t open_now = stash_storage_pool_open_count(pool);
        *peak_open = open_now > *peak_open ? open_now : *peak_open;
    }
    for (unsigned long i = 0; i < o->temps && status == STASH_OK; i++) {
        char got[32] = {0};
        size_t n = 0;
        int len = snprintf(text, sizeof text, "temp storage %lu", i);
        status = stash_storage_readinto(temps[i], got, sizeof got, &n);
        *bad += n != (size_t)len || memcmp(got, text, n) != 0;
    }
    for (unsigned long i = 0; i < o->temps; i++)
        stash_storage_close(&temps[i]);
    free(temps);
    stash_storage_pool_close(&pool);
    return status == STASH_OK ? 0 : fail("temp storages", status);
}

/* Each option takes a value: --dir DIR, --records N, --temps N. */
static int parse(int argc, char **argv, struct demo_options *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value != NULL && strcmp(argv[i], "--dir") == 0) {
            o->dir = value;
        } else if (value != NULL && strcmp(argv[i], "--records") == 0) {
            o->records = strtoul(value, NULL, 10);
        } else if (value != NULL && strcmp(argv[i], "--temps") == 0) {
            o->temps = strtoul(value, NULL, 10);
        } else {
            fprintf(stderr, "stash demo: unknown option '%s' (see stash demo --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (o->records == 0 || o->records > UINT32_MAX || o->temps == 0) {
        fprintf(stderr, "stash demo: --records and --temps must be positive\n");
        return 2;
    }
    return 0;
}

static int run(int argc, char **argv)
{
    struct demo_options o = {.dir = "stash-demo", .records = 1000000, .temps = 2000,
                             .pool_max = 100};
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (mkdir(o.dir, 0777) != 0 && errno != EEXIST)
        return fail(o.dir, -errno);
    char path[4096];
    snprintf(path, sizeof path, "%s/records.bin", o.dir);

    unsigned long bad = 0;
    size_t peak_open = 0;
    double t0 = seconds();
    if ((rc = write_records(path, o.records)) != 0)
        return rc;
    double t1 = seconds();
    if ((rc = read_records(path, o.records, &bad)) != 0)
        return rc;
    double t2 = seconds();
    if ((rc = exercise_memfile(path, o.records, &bad)) != 0)
        return rc;
    double t3 = seconds();
    if ((rc = exercise_pool(&o, &bad, &peak_open)) != 0)
        return rc;
    double t4 = seconds();

    double mb = (double)o.records * RECORD_BYTES / 1e6;
    printf("stash demo (streams, storages, memory files)\n");
    printf("  wrote %lu typed records (%.1f MB) to %s in %.3f s (%.0f MB/s)\n", o.records,
           mb, path, t1 - t0, mb / (t1 - t0));
    printf("  read them back through a storage and a range window in %.3f s\n", t2 - t1);
    printf("  copied them into a memory file and read them through its view and through\n"
           "  /proc/self/fd/N with stdio in %.3f s\n", t3 - t2);
    printf("  %lu temp storages through a pool of %lu descriptors (peak %zu open) in %.3f s\n",
           o.temps, o.pool_max, peak_open, t4 - t3);
    printf("  verification: %s (%lu mismatches)\n", bad == 0 ? "ok" : "FAILED", bad);
    return bad == 0 && peak_open <= o.pool_max ? 0 : 1;
}

const struct stash_command cmd_demo = {
    .name = "demo",
    .summary = "run the end-to-end demo and verify it",
    .usage = "usage: stash demo [--dir DIR] [--records N] [--temps N]\n\n"
             "Writes N typed records (default 1000000) through a file stream into\n"
             "DIR/records.bin (default stash-demo/), reads them back through a storage\n"
             "and a range window, copies them into a memory file and reads them through\n"
             "its view and its descriptor's /proc path, and round-trips N temp storages\n"
             "(default 2000)\n"
             "through a pool of 100 descriptors. Exits 1 if anything fails to verify.\n\n"
             "example:\n  $ stash demo --records 100000\n",
    .run = run,
};
