/*
 * stash dump FILE [--type T] [--offset N] [--count K] [--json]: typed values
 * from any file, read as a user of the byte codecs would read them: a file
 * stream, a range stream over [offset, offset + K x size), and the codecs'
 * array readers (stash/bytes.h) on it.
 */
#include "commands.h"
#include "describe.h"
#include "input.h"
#include "json_out.h"
#include "options.h"

#include <stash/bytes.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "stash dump"
/* Values the array readers fetch per call. */
#define CHUNK 4096
/* --json builds the whole answer in memory first, so it has a cap. */
#define JSON_MAX_VALUES ((uint64_t)1 << 20)

/* A value widened to one of three kinds, so one printer serves every type. */
enum kind { UNSIGNED, SIGNED, FLOAT };
union wide {
    uint64_t u;
    int64_t i;
    double f;
};

struct dump_type {
    const char *name;
    size_t size;
    enum kind kind;
    bool single; /* f32: shortest digits that read back as the same float */
    stash_status (*read)(stash_stream *s, union wide *out, size_t n);
};

/* Reads n <= CHUNK values with a type's array reader and widens them. */
#define DUMP_READER(name, ctype, member)                                                   \
    static stash_status read_##name(stash_stream *s, union wide *out, size_t n)            \
    {                                                                                      \
        ctype v[CHUNK];                                                                    \
        stash_status status = stash_stream_read_##name##_array(s, v, n);                   \
        for (size_t i = 0; status == STASH_OK && i < n; i++)                               \
            out[i].member = v[i];                                                          \
        return status;                                                                     \
    }
/* X(name, C type, member of union wide, kind) for every type with a byte order. */
#define DUMP_ORDERED_TYPES(X)                                                              \
    X(u16le, uint16_t, u, UNSIGNED) X(u16be, uint16_t, u, UNSIGNED)                        \
    X(u32le, uint32_t, u, UNSIGNED) X(u32be, uint32_t, u, UNSIGNED)                        \
    X(u64le, uint64_t, u, UNSIGNED) X(u64be, uint64_t, u, UNSIGNED)                        \
    X(i16le, int16_t, i, SIGNED) X(i16be, int16_t, i, SIGNED)                              \
    X(i32le, int32_t, i, SIGNED) X(i32be, int32_t, i, SIGNED)                              \
    X(i64le, int64_t, i, SIGNED) X(i64be, int64_t, i, SIGNED)                              \
    X(f32le, float, f, FLOAT) X(f32be, float, f, FLOAT)                                    \
    X(f64le, double, f, FLOAT) X(f64be, double, f, FLOAT)
#define DUMP_DEFINE_READER(name, ctype, member, kind) DUMP_READER(name, ctype, member)
DUMP_ORDERED_TYPES(DUMP_DEFINE_READER)

/* Single bytes have no byte order, and no array reader: read them whole. */
static stash_status read_u8(stash_stream *s, union wide *out, size_t n)
{
    uint8_t v[CHUNK];
    stash_status status = stash_stream_read_exact(s, v, n);
    for (size_t i = 0; status == STASH_OK && i < n; i++)
        out[i].u = v[i];
    return status;
}

static stash_status read_i8(stash_stream *s, union wide *out, size_t n)
{
    uint8_t v[CHUNK];
    stash_status status = stash_stream_read_exact(s, v, n);
    for (size_t i = 0; status == STASH_OK && i < n; i++)
        out[i].i = stash_bytes_load_i8(&v[i]);
    return status;
}

#define DUMP_TYPE_ROW(name, ctype, member, kind)                                           \
    {#name, sizeof(ctype), kind, sizeof(ctype) == sizeof(float) && kind == FLOAT, read_##name},
static const struct dump_type types[] = {
    {"u8", 1, UNSIGNED, false, read_u8},
    {"i8", 1, SIGNED, false, read_i8},
    DUMP_ORDERED_TYPES(DUMP_TYPE_ROW)
};
#define TYPE_COUNT (sizeof types / sizeof types[0])

/* One line saying what is wrong with the command line; exit code 2 (options.h). */
#define usage_error(...) cli_usage_error(WHO, "dump", __VA_ARGS__)

struct dump_args {
    const char *file;
    const struct dump_type *type;
    uint64_t offset, count;
    bool has_count, json;
};

/* ---- Printing ---------------------------------------------------------------------- */

/* The fewest significant digits that read back as the same value of its type. */
static void format_float(char *buf, size_t cap, double x, bool single)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, x);
        if (x != x || (single ? strtof(buf, NULL) == (float)x : strtod(buf, NULL) == x))
            return;
    }
}

static void print_value(uint64_t at, const struct dump_type *t, union wide v)
{
    char text[32];
    if (t->kind == FLOAT)
        format_float(text, sizeof text, v.f, t->single);
    else if (t->kind == SIGNED)
        snprintf(text, sizeof text, "%" PRId64, v.i);
    else
        snprintf(text, sizeof text, "%" PRIu64, v.u);
    printf("%" PRIu64 "  %s\n", at, text);
}

/* JSON numbers stop at int64 in the value tree: larger u64 values are strings. */
static stash_value *json_value_of(const struct dump_type *t, union wide v)
{
    char text[32];
    if (t->kind == FLOAT) {
        format_float(text, sizeof text, v.f, t->single);
        return json_out_float(strtod(text, NULL));
    }
    if (t->kind == SIGNED)
        return json_out_int(v.i);
    if (v.u <= (uint64_t)INT64_MAX)
        return json_out_int((int64_t)v.u);
    snprintf(text, sizeof text, "%" PRIu64, v.u);
    return json_out_string(text);
}

/* ---- Reading ----------------------------------------------------------------------- */

/* Reads count values from window (which starts at byte offset of the file) and prints
 * them, or adds them to list when it is not NULL. */
static stash_status dump_values(stash_stream *window, const struct dump_args *a, uint64_t count,
                                stash_value *list)
{
    static union wide values[CHUNK];
    stash_status status = STASH_OK;
    for (uint64_t done = 0; status == STASH_OK && done < count;) {
        size_t n = count - done < CHUNK ? (size_t)(count - done) : CHUNK;
        status = a->type->read(window, values, n);
        for (size_t i = 0; status == STASH_OK && i < n; i++) {
            if (list)
                json_out_add(list, NULL, json_value_of(a->type, values[i]), &status);
            else
                print_value(a->offset + (done + i) * a->type->size, a->type, values[i]);
        }
        done += n;
    }
    return status;
}

static int fail(const char *name, stash_status status)
{
    fprintf(stderr, WHO ": %s: %s\n", name, stash_strerror(status));
    return 1;
}

/* How many values to read, or 1 after a one-line error. */
static int plan(const struct dump_args *a, uint64_t size, uint64_t *count, uint64_t *left_over)
{
    const char *name = a->file;
    if (a->offset > size) {
        fprintf(stderr, WHO ": %s: --offset %" PRIu64 " is past the end (%" PRIu64 " bytes)\n",
                name, a->offset, size);
        return 1;
    }
    uint64_t whole = (size - a->offset) / a->type->size;
    *count = a->has_count ? a->count : whole;
    *left_over = a->has_count ? 0 : (size - a->offset) % a->type->size;
    if (*count > whole) {
        fprintf(stderr,
                WHO ": %s: --count %" PRIu64 ": the file holds only %" PRIu64
                    " whole values of %s from offset %" PRIu64 " (it has %" PRIu64 " bytes)\n",
                name, *count, whole, a->type->name, a->offset, size);
        return 1;
    }
    if (a->json && *count > JSON_MAX_VALUES) {
        fprintf(stderr,
                WHO ": %s: %" PRIu64 " values are more than --json prints (%" PRIu64
                    "); choose a range with --offset and --count\n",
                name, *count, JSON_MAX_VALUES);
        return 1;
    }
    return 0;
}

static int dump_stream(stash_stream *file, const struct dump_args *a)
{
    uint64_t size, count, left_over;
    stash_status status = stash_stream_size(file, &size);
    if (status != STASH_OK)
        return fail(a->file, status);
    if (plan(a, size, &count, &left_over) != 0)
        return 1;
    stash_stream *window;
    status = stash_stream_open_range(file, a->offset, a->offset + count * a->type->size,
                                     &window);
    if (status != STASH_OK)
        return fail(a->file, status);
    stash_value *object = NULL, *list = NULL;
    if (a->json) {
        object = json_out_object();
        list = json_out_list();
        status = object && list ? STASH_OK : -ENOMEM;
    }
    if (status == STASH_OK)
        status = dump_values(window, a, count, list);
    stash_stream_close(&window);
    if (a->json) {
        json_out_add(object, "file", json_out_string(a->file), &status);
        json_out_add(object, "type", json_out_string(a->type->name), &status);
        json_out_add(object, "offset", json_out_uint(a->offset), &status);
        json_out_add(object, "count", json_out_uint(count), &status);
        json_out_add(object, "values", list, &status);
        status = json_out_print(&object, status);
    }
    if (status == STASH_OK && (fflush(stdout) != 0 || ferror(stdout)))
        status = errno ? -errno : -EIO;
    if (status != STASH_OK)
        return fail(a->file, status);
    if (left_over)
        fprintf(stderr, WHO ": %s: not shown: the last %" PRIu64 " byte%s, less than one %s\n",
                a->file, left_over, left_over == 1 ? "" : "s", a->type->name);
    return 0;
}

static int dump(const struct dump_args *a)
{
    struct input in;
    stash_status status = input_open(a->file, &in);
    if (status != STASH_OK) {
        input_complain(WHO, a->file, status, INPUT_STDIN_MAX_BYTES);
        return 1;
    }
    stash_stream *file;
    status = stash_stream_open_file(in.use, "r", &file);
    int rc = status == STASH_OK ? dump_stream(file, a) : fail(a->file, status);
    stash_stream_close(&file);
    input_close(&in);
    return rc;
}

/* ---- The command line -------------------------------------------------------------- */

static const struct dump_type *find_type(const char *name)
{
    for (size_t i = 0; i < TYPE_COUNT; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

/* Takes the value of --type, --offset or --count: 0, or 2 after a usage error. */
static int take_value(struct dump_args *a, const char *option, const char *value)
{
    if (strcmp(option, "--type") == 0 && (a->type = find_type(value)) == NULL)
        return usage_error("--type: '%s' is not a type: u8, i8, or one of u16 u32 u64 i16 i32 "
                           "i64 f32 f64 followed by le or be (f64le)",
                           value);
    if (strcmp(option, "--offset") == 0 && !parse_u64(value, &a->offset))
        return usage_error("--offset: '%s' is not a whole number of bytes", value);
    if (strcmp(option, "--count") == 0 && !(a->has_count = parse_u64(value, &a->count)))
        return usage_error("--count: '%s' is not a whole number of values", value);
    return 0;
}

static int run(int argc, char **argv)
{
    struct dump_args a = {.type = &types[0]};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool valued = strcmp(arg, "--type") == 0 || strcmp(arg, "--offset") == 0 ||
                      strcmp(arg, "--count") == 0;
        int rc = 0;
        if (strcmp(arg, "--json") == 0)
            a.json = true;
        else if (valued && i + 1 == argc)
            return usage_error("%s needs a value", arg);
        else if (valued)
            rc = take_value(&a, arg, argv[++i]);
        else if (!is_file_argument(arg))
            return usage_error("unknown option %s", arg);
        else if (a.file)
            return usage_error("takes one FILE, not also '%s'", arg);
        else
            a.file = arg;
        if (rc != 0)
            return rc;
    }
    if (a.file == NULL)
        return usage_error("needs a FILE (- for standard input)");
    return dump(&a);
}

const struct stash_command cmd_dump = {
    .name = "dump",
    .summary = "print typed values from any file, as stash's byte codecs read them",
    .usage =
        "usage: stash dump FILE|- [--type T] [--offset N] [--count K] [--json]\n\n"
        "Reads values of type T from FILE (- reads standard input) through a range\n"
        "stream and stash's typed codecs, and prints each on a line after its byte\n"
        "offset in the file. T is u8 (the default) or i8, or one of u16 u32 u64 i16\n"
        "i32 i64 f32 f64 followed by le (little-endian) or be (big-endian). --offset\n"
        "starts N bytes in (0 by default). --count reads K values, which the file\n"
        "must hold (else an error, and nothing printed); without it every whole value\n"
        "to the end is read, and bytes left over are named on stderr. Floats print in\n"
        "the fewest digits that read back as the same value of their type.\n"
        "--json prints one object instead: file, type, offset, count and values, at\n"
        "most 1048576 of them; a u64 past 2^63 - 1 is a string of its digits, and a\n"
        "NaN or infinity is {\"$float\": \"nan\"} (or \"inf\", \"-inf\").\n"
        "FILE must be a regular file: a FIFO or device is refused.\n"
        "Exit status: 0 on success, 1 after a one-line error, 2 for bad usage.\n\n"
        "example:\n"
        "  $ stash dump run.bin --type f64le --offset 16 --count 3\n"
        "  16  1\n"
        "  24  1.5\n"
        "  32  2\n",
    .run = run,
};
