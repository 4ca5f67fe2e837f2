/*
 * Shared by the subcommands: arrays described for people and for JSON, and
 * values from JSON arguments.
 */
#include "describe.h"

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

void describe_array_json(FILE *out, const stash_array_desc *d)
{
    char descr[STASH_DESCR_MAX] = "";
    stash_array_descr(d, descr);
    fprintf(out, "\"dtype\": \"%s\", \"descr\": \"%s\", \"shape\": ",
            stash_dtype_name(d->dtype), descr);
    print_shape(out, d, "[", "]");
    fprintf(out, ", \"order\": \"%s\", \"byte_order\": \"%s\"",
            d->order == STASH_ORDER_F ? "F" : "C",
            d->byte_order == STASH_BIG_ENDIAN ? "big" : "little");
}

stash_status json_argument(const char *who, const char *arg, stash_value **value)
{
    char *text = NULL;
    size_t len = 0;
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "rb");
        if (!f) {
            fprintf(stderr, "%s: %s: cannot open\n", who, arg + 1);
            return STASH_E_NOT_FOUND;
        }
        size_t cap = 0, got;
        do {
            char *grown = realloc(text, cap += 65536);
            if (!grown)
                break;
            text = grown;
            len += got = fread(text + len, 1, cap - len, f);
        } while (got > 0);
        fclose(f);
    }
    stash_json_error err = {0};
    stash_status status = stash_value_from_json(arg[0] == '@' ? text : arg,
                                                arg[0] == '@' ? len : strlen(arg), value, &err);
    if (status != STASH_OK && err.message[0])
        fprintf(stderr, "%s: line %zu, column %zu: %s\n", who, err.line,
                err.column, err.message);
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
