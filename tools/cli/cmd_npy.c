/*
 * stash npy info FILE [--json]: what an NPY file holds, or why it is bad.
 * The header is read with pread through a stream, never mapped: a file cut
 * short meanwhile by another program is an error message, not SIGBUS.
 */
#include "commands.h"
#include "json_out.h"
#include "describe.h"
#include "input.h"
#include "options.h"

#include <stash/npy.h>

#include <string.h>

/* The header of the NPY file at path, checked against the file's size. */
static stash_status read_header(const char *path, stash_npy_header *h)
{
    stash_stream *s;
    stash_status status = stash_stream_open_file(path, "r", &s);
    if (status != STASH_OK)
        return status;
    status = stash_npy_read_header(s, h);
    stash_stream_close(&s);
    return status;
}

int npy_describe(const char *who, const struct input *in, bool json)
{
    const char *path = in->name;
    stash_npy_header header, *h = &header;
    stash_status status = read_header(in->use, h);
    if (status != STASH_OK) {
        npy_complain(who, in, status);
        return 1;
    }
    if (json) {
        char version[16];
        snprintf(version, sizeof version, "%u.%u", h->major, h->minor);
        stash_value *o = json_out_object();
        stash_status st = STASH_OK;
        json_out_add(o, "format", json_out_string("npy"), &st);
        json_out_add(o, "version", json_out_string(version), &st);
        json_out_add_array_desc(o, &h->desc, &st);
        json_out_add(o, "data_offset", json_out_uint(h->data_offset), &st);
        json_out_add(o, "data_bytes", json_out_uint(h->data_bytes), &st);
        if (json_out_print(&o, st) != STASH_OK)
            return 1;
    } else {
        printf("%s: NPY %u.%u, ", path, h->major, h->minor);
        describe_array(stdout, &h->desc);
        printf(", %llu bytes of data at offset %llu\n", (unsigned long long)h->data_bytes,
               (unsigned long long)h->data_offset);
    }
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct cli_option json_option = {"--json", false};
    static const struct cli_verb info = {"info", "FILE", 1};
    const struct cli_verb *verb =
        cli_find_verb("stash npy", "npy", &info, 1, argc > 1 ? argv[1] : "");
    struct cli_args a;
    if (!verb || cli_parse("stash npy info", "npy", &json_option, 1, verb, argc, argv, 2, &a))
        return 2;
    return describe_input("stash npy info", a.arg[0], a.value[0] != NULL, npy_describe);
}

const struct stash_command cmd_npy = {
    .name = "npy",
    .summary = "describe NumPy .npy files",
    .usage = "usage: stash npy info FILE|- [--json]\n\n"
             "Prints the version, element type, shape, order, byte order and data size\n"
             "of an NPY file (- reads standard input), or one line naming what is wrong\n"
             "with it (exit 1). FILE must be a regular file: a FIFO or device is refused.\n"
             "--json prints one JSON object instead.\n\n"
             "example:\n  $ stash npy info weights.npy\n"
             "  weights.npy: NPY 1.0, float64, shape (3, 4), C order, little-endian,"
             " 96 bytes of data at offset 128\n",
    .run = run,
};
