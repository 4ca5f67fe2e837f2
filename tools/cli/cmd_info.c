/*
 * stash info FILE [--json]: names a file's format from its first bytes and
 * describes it with that format's own reader.
 */
#include "commands.h"
#include "json_out.h"
#include "input.h"
#include "options.h"
#include "core/sysio.h"

#include <stash/pickle.h>
#include <stash/ring.h>
#include <stash/store.h>

#include <stdio.h>
#include <string.h>

enum format { UNKNOWN, NPY, NCO, NCO_INDEX, PICKLE, HDF5, RING };

static enum format sniff(const unsigned char *b, size_t n)
{
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return NPY;
    if (n >= 3 && memcmp(b, "NCO", 3) == 0)
        return NCO;
    if (n >= 8 && memcmp(b, "STASHIDX", 8) == 0)
        return NCO_INDEX;
    if (n >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0)
        return HDF5;
    if (n >= 8 && memcmp(b, "STASHRNG", 8) == 0)
        return RING;
    if (n >= 2 && b[0] == 0x80 && b[1] <= STASH_PICKLE_PROTOCOL_MAX)
        return PICKLE;
    return UNKNOWN;
}

static const char *const names[] = {"unknown", "npy",  "nco", "nco-index",
                                    "pickle",  "hdf5", "ring"};

static int describe_other(const char *path, enum format f, bool json)
{
    if (json) {
        stash_value *o = json_out_object();
        stash_status st = STASH_OK;
        json_out_add(o, "format", json_out_string(names[f]), &st);
        return json_out_print(&o, st) == STASH_OK ? 0 : 1;
    }
    printf("%s: %s\n", path,
           f == NCO_INDEX ? "stash's index of an NCO file" : "a Python pickle (protocol 2 or later)");
    return 0;
}

/* ---- HDF5: read as a store, read-only (no lock file is made) ---------------------------- */

struct key_count {
    uint64_t keys, bytes;
};

static stash_status count_key(void *ctx, const char *key, uint64_t bytes)
{
    (void)key;
    struct key_count *c = ctx;
    c->keys++;
    c->bytes += bytes;
    return STASH_OK;
}

/* Opens path as a read-only store of the given scheme and counts its keys and bytes. */
static stash_status count_store_keys(const char *scheme, const char *path, struct key_count *c)
{
    char uri[4200];
    snprintf(uri, sizeof uri, "%s%s", scheme, path);
    stash_store_options read_only = {.flags = STASH_STORE_READ_ONLY};
    stash_store *store = NULL;
    stash_status status = stash_store_open(uri, &read_only, &store);
    if (status == STASH_OK)
        status = stash_store_list(store, count_key, c);
    stash_store_close(&store);
    return status;
}

static int describe_hdf5(const char *who, const struct input *in, bool json)
{
    if (in->copy_fd >= 0) { /* HDF5 opens files by name, and refuses /proc/self/fd/N */
        if (!json)
            printf("%s: HDF5 (give its file name to see its keys)\n", in->name);
        return json ? describe_other(in->name, HDF5, true) : 0;
    }
    struct key_count c = {0};
    stash_status status = count_store_keys("hdf5:", in->use, &c);
    if (status != STASH_OK) {
        fprintf(stderr, "%s: %s: HDF5, but not readable as a store: %s\n", who, in->name,
                stash_strerror(status));
        return 1;
    }
    if (json) {
        stash_value *o = json_out_object();
        json_out_add(o, "format", json_out_string("hdf5"), &status);
        json_out_add(o, "keys", json_out_uint(c.keys), &status);
        json_out_add(o, "bytes", json_out_uint(c.bytes), &status);
        return json_out_print(&o, status) == STASH_OK ? 0 : 1;
    }
    printf("%s: HDF5, %llu key%s, %llu bytes of data (`stash store ls hdf5:%s` lists them)\n",
           in->name, (unsigned long long)c.keys, c.keys == 1 ? "" : "s",
           (unsigned long long)c.bytes, in->name);
    return 0;
}

/* ---- Pickles: corelay's PickleStorage files read as a pickle: store, read-only -------- */

static int describe_pickle(const char *who, const struct input *in, bool json)
{
    (void)who;
    struct key_count c = {0};
    stash_status status = count_store_keys("pickle:", in->use, &c);
    if (status != STASH_OK || c.keys == 0)
        return describe_other(in->name, PICKLE, json); /* one pickle, not records */
    if (json) {
        stash_value *o = json_out_object();
        json_out_add(o, "format", json_out_string("pickle-store"), &status);
        json_out_add(o, "keys", json_out_uint(c.keys), &status);
        json_out_add(o, "bytes", json_out_uint(c.bytes), &status);
        return json_out_print(&o, status) == STASH_OK ? 0 : 1;
    }
    printf("%s: pickle records as corelay's PickleStorage writes them, %llu key%s, %llu bytes "
           "of records (`stash store ls pickle:%s` lists them)\n",
           in->name, (unsigned long long)c.keys, c.keys == 1 ? "" : "s",
           (unsigned long long)c.bytes, in->name);
    return 0;
}

/* ---- Rings: attached as a reader, which maps the data read-only ------------------------- */

static stash_status print_ring_json(const stash_ring_info *r)
{
    stash_value *o = json_out_object();
    stash_status st = STASH_OK;
    json_out_add(o, "format", json_out_string("ring"), &st);
    json_out_add(o, "channels", json_out_uint(r->channels), &st);
    json_out_add(o, "dtype", json_out_string(stash_dtype_name(r->dtype)), &st);
    json_out_add(o, "capacity_samples", json_out_uint(r->capacity_samples), &st);
    json_out_add(o, "rate_hz", json_out_float(r->rate_hz), &st);
    json_out_add(o, "written_samples", json_out_uint(r->written_samples), &st);
    json_out_add(o, "writer_attached", json_out_bool(r->writer_attached), &st);
    json_out_add(o, "writer_pid", json_out_int(r->writer_pid), &st);
    return json_out_print(&o, st);
}

static int describe_ring(const char *who, const struct input *in, bool json)
{
    /* A ring name with a '/' is a file path; a bare name would be a shared memory object. */
    char name[4200];
    snprintf(name, sizeof name, "%s%s", strchr(in->use, '/') ? "" : "./", in->use);
    stash_ring *ring = NULL;
    stash_ring_info r;
    stash_status status = stash_ring_attach(name, 0, &ring);
    if (status == STASH_OK)
        status = stash_ring_info_get(ring, &r);
    if (status == STASH_OK && json)
        status = print_ring_json(&r);
    else if (status == STASH_OK)
        printf("%s: stash ring, %u channel%s of %s, %llu samples kept, %.15g Hz, %llu written, "
               "writer %s (`stash ring info %s` says more)\n",
               in->name, (unsigned)r.channels, r.channels == 1 ? "" : "s",
               stash_dtype_name(r.dtype), (unsigned long long)r.capacity_samples, r.rate_hz,
               (unsigned long long)r.written_samples,
               r.writer_attached ? "attached" : r.writer_sessions ? "gone" : "none yet", name);
    stash_ring_close(&ring);
    if (status != STASH_OK) {
        fprintf(stderr, "%s: %s: a stash ring, but not readable: %s\n", who, in->name,
                stash_strerror(status));
        return 1;
    }
    return 0;
}

static int info(const char *who, const struct input *in, bool json)
{
    unsigned char head[16];
    size_t n = 0;
    int fd;
    stash_status status = sysio_open_input(in->use, &fd);
    if (status == STASH_OK) {
        status = sysio_pread_full(fd, head, sizeof head, 0, &n);
        sysio_close(fd);
    }
    if (status != STASH_OK) {
        fprintf(stderr, "%s: %s: %s\n", who, in->name, stash_strerror(status));
        return 1;
    }
    enum format format = sniff(head, n);
    switch (format) {
    case NPY:
        return npy_describe(who, in, json);
    case NCO:
        return nco_describe(who, in, json);
    case HDF5:
        return describe_hdf5(who, in, json);
    case RING:
        return describe_ring(who, in, json);
    case PICKLE:
        return describe_pickle(who, in, json);
    case UNKNOWN:
        fprintf(stderr, "%s: %s: not a format stash knows (NPY, NCO, pickle, HDF5, ring)\n", who,
                in->name);
        return 1;
    default:
        return describe_other(in->name, format, json);
    }
}

static int run(int argc, char **argv)
{
    static const struct cli_option json_option = {"--json", false};
    static const struct cli_verb info_verb = {"", "FILE", 1};
    struct cli_args a;
    if (cli_parse("stash info", "info", &json_option, 1, &info_verb, argc, argv, 1, &a))
        return 2;
    return describe_input("stash info", a.arg[0], a.value[0] != NULL, info);
}

const struct stash_command cmd_info = {
    .name = "info",
    .summary = "name a file's format and describe it",
    .usage = "usage: stash info FILE|- [--json]\n\n"
             "Reads the first bytes of FILE (- reads standard input) to find its format\n"
             "(NPY, NCO, pickle, HDF5, a stash ring, stash's NCO index) and describes it:\n"
             "NPY as `stash npy info`, NCO as `stash nco ls`, HDF5 and a file of pickled\n"
             "records (corelay's PickleStorage) as a store (how many keys, how many\n"
             "bytes), a ring by its geometry. It only reads: nothing is\n"
             "written, no index and no lock file. A file stash cannot read, or one that is\n"
             "not a regular file (a FIFO, a device), exits 1 with one line saying why.\n\n"
             "example:\n  $ stash info weights.npy\n"
             "  weights.npy: NPY 1.0, float64, shape (3, 4), C order, little-endian,"
             " 96 bytes of data at offset 128\n",
    .run = run,
};
