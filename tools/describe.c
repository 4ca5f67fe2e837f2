#include "describe.h"

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
