/*
 * stash info FILE [--json]: names a file's format from its first bytes and
 * describes it with that format's own reader.
 */
#include "commands.h"

#include <stash/pickle.h>

#include <errno.h>
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
    if (json)
        printf("{\"format\": \"%s\"}\n", names[f]);
    else
        printf("%s: %s\n", path,
               f == NCO_INDEX ? "stash's index of an NCO file"
               : f == HDF5    ? "HDF5 (see `stash store` once the HDF5 store lands)"
                              : "a Python pickle (protocol 2 or later)");
    return 0;
}

static int info(const char *path, bool json)
{
    unsigned char head[16];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "stash info: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    enum format format = sniff(head, n);
    switch (format) {
    case NPY:
        return npy_describe("stash info", path, json);
    case NCO:
        return nco_describe("stash info", path, json);
    case UNKNOWN:
        fprintf(stderr, "stash info: %s: not a format stash knows (NPY, NCO, pickle, HDF5)\n",
                path);
        return 1;
    default:
        return describe_other(path, format, json);
    }
}

static int run(int argc, char **argv)
{
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    if (argc != 2 + json || argv[1][0] == '-') {
        fputs(cmd_info.usage, stderr);
        return 2;
    }
    return info(argv[1], json);
}

const struct stash_command cmd_info = {
    .name = "info",
    .summary = "name a file's format and describe it",
    .usage = "usage: stash info FILE [--json]\n\n"
             "Reads the first bytes of FILE to find its format (NPY, NCO, pickle, HDF5,\n"
             "stash's NCO index) and describes it as `stash npy info` or `stash nco ls`\n"
             "would. A file stash cannot read exits 1 with one line saying why.\n\n"
             "example:\n  $ stash info weights.npy\n"
             "  weights.npy: NPY 1.0, float64, shape (3, 4), C order, little-endian,"
             " 96 bytes of data at offset 128\n",
    .run = run,
};
