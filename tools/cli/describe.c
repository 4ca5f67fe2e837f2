/*
 * Shared by the subcommands: arrays described for people (json_out.c has
 * them for programs), and
 * values from JSON arguments.
 */
#include "describe.h"
#include "commands.h"
#include "input.h"
#include "core/sysio.h"

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

/*
 * The text of the "descr" value in the NPY header at path (up to size - 1
 * bytes), for naming a type stash refused; false if it cannot be found.
 * Only for messages: the library's reader decides what is valid.
 */
static bool npy_descr_text(const char *path, char *descr, size_t size)
{
    char head[4096];
    size_t n = 0;
    int fd;
    if (sysio_open_input(path, &fd) != STASH_OK)
        return false;
    sysio_pread_full(fd, head, sizeof head - 1, 0, &n);
    sysio_close(fd);
    head[n] = '\0';
    char *at = n > 10 ? strstr(head + 10, "descr") : NULL;
    if (!at || !(at = strchr(at, ':')))
        return false;
    at += strspn(at + 1, " ") + 1;
    /* The value ends at a ',' or '}' outside brackets and quotes. */
    int depth = 0;
    char quote = 0;
    size_t len = 0;
    for (; at[len] && len + 1 < size; len++) {
        char c = at[len];
        if (quote)
            quote = c == quote ? 0 : quote;
        else if (c == '\'' || c == '"')
            quote = c;
        else if (c == '[' || c == '(')
            depth++;
        else if ((c == ']' || c == ')') && depth > 0)
            depth--;
        else if ((c == ',' || c == '}') && depth == 0)
            break;
    }
    snprintf(descr, size, "%.*s", (int)len, at);
    return len > 0;
}

void npy_complain(const char *who, const struct input *in, stash_status status)
{
    char descr[96];
    if (status == STASH_E_DTYPE && npy_descr_text(in->use, descr, sizeof descr))
        fprintf(stderr,
                "%s: %s: element type %s is not one stash reads (booleans, integers, floats "
                "and complex numbers of NumPy's fixed sizes)\n",
                who, in->name, descr);
    else
        input_complain(who, in->name, status, INPUT_STDIN_MAX_BYTES);
}
