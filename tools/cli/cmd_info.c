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

#include <stdio.h>
#include <string.h>

enum format { UNKNOWN, NPY, NCO, NCO_INDEX, PICKLE, HDF5 };

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
    if (n >= 2 && b[0] == 0x80 && b[1] <= STASH_PICKLE_PROTOCOL_MAX)
        return PICKLE;
    return UNKNOWN;
}

static const char *const names[] = {"unknown", "npy", "nco", "nco-index", "pickle", "hdf5"};

static int describe_other(const char *path, enum format f, bool json)
{
    if (json) {
        stash_value *o = json_out_object();
        stash_status st = STASH_OK;
        json_out_add(o, "format", json_out_string(names[f]), &st);
        return json_out_print(&o, st) == STASH_OK ? 0 : 1;
    }
        printf("%s: %s\n", path,
               f == NCO_INDEX ? "stash's index of an NCO file"
               : f == HDF5    ? "HDF5 (see `stash store` once the HDF5 store lands)"
                              : "a Python pickle (protocol 2 or later)");
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
    case UNKNOWN:
        fprintf(stderr, "%s: %s: not a format stash knows (NPY, NCO, pickle, HDF5)\n", who,
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
             "(NPY, NCO, pickle, HDF5, stash's NCO index) and describes it as `stash npy\n"
             "info` or `stash nco ls` would. A file stash cannot read, or one that is not\n"
             "a regular file (a FIFO, a device), exits 1 with one line saying why.\n\n"
             "example:\n  $ stash info weights.npy\n"
             "  weights.npy: NPY 1.0, float64, shape (3, 4), C order, little-endian,"
             " 96 bytes of data at offset 128\n",
    .run = run,
};
