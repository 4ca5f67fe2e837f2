/*
 * Shared by the subcommands: arrays described for people (json_out.c has
 * them for programs), and
 * values from JSON arguments.
 */
#include "describe.h"
#include "commands.h"
#include "input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void print_shape(FILE *out, const stash_array_desc *d, const char *open,
                        const char *close)
{
    fputs(open, out);
    for (unsigned i = 0; i < d->ndim; i++)
        fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)d->shape[i]);
    fputs(d->ndim == 1 && open[0] == '(' ? ",)" : close, out);
}

void describe_array(FILE *out, const stash_array_desc *d)
{
    fprintf(out, "%s, shape ", stash_dtype_name(d->dtype));
    print_shape(out, d, "(", ")");
    fprintf(out, ", %s order", d->order == STASH_ORDER_F ? "Fortran" : "C");
    if (stash_dtype_size(d->dtype) > 1)
        fprintf(out, ", %s", d->byte_order == STASH_BIG_ENDIAN ? "big-endian" : "little-endian");
}

stash_status json_value(const char *who, const char *text, size_t len, stash_value **value)
{
    stash_json_error err = {0};
    stash_status status = stash_value_from_json(text, len, value, &err);
    if (status != STASH_OK && err.message[0])
        fprintf(stderr, "%s: line %zu, column %zu: %s\n", who, err.line, err.column,
                err.message);
    else if (status != STASH_OK)
        fprintf(stderr, "%s: %s\n", who, stash_strerror(status));
    return status;
}

stash_status json_argument(const char *who, const char *arg, stash_value **value)
{
    if (arg[0] != '@')
        return json_value(who, arg, strlen(arg), value);
    char *text = NULL;
    size_t len = 0;
    stash_status status = input_read_all(arg + 1, INPUT_JSON_MAX_BYTES, &text, &len);
    if (status != STASH_OK)
        input_complain(who, arg + 1, status, INPUT_JSON_MAX_BYTES);
    else
        status = json_value(who, text, len, value);
    free(text);
    return status;
}

bool parse_u64(const char *text, uint64_t *n)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end)
        return false;
    *n = value;
    return true;
}

bool is_file_argument(const char *arg)
{
    return arg[0] != '-' || strcmp(arg, "-") == 0;
}

int describe_input(const char *who, const char *arg, bool json,
                   int (*describe)(const char *who, const struct input *in, bool json))
{
    struct input in;
    stash_status status = input_open(arg, &in);
    if (status != STASH_OK) {
        input_complain(who, arg, status, INPUT_STDIN_MAX_BYTES);
        return 1;
    }
    int rc = describe(who, &in, json);
    input_close(&in);
    return rc;
}
