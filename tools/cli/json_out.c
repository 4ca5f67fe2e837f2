#include "json_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

stash_value *json_out_object(void)
{
    stash_value *v = NULL;
    stash_value_new_dict(&v);
    return v;
}

stash_value *json_out_list(void)
{
    stash_value *v = NULL;
    stash_value_new_list(&v);
    return v;
}

stash_value *json_out_int(int64_t n)
{
    stash_value *v = NULL;
    stash_value_new_int(n, &v);
    return v;
}

/* Sizes and counts past INT64_MAX cannot occur in a file; they print as the largest int. */
stash_value *json_out_uint(uint64_t n)
{
    return json_out_int(n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n);
}

stash_value *json_out_float(double x)
{
    stash_value *v = NULL;
    stash_value_new_float(x, &v);
    return v;
}

stash_value *json_out_bool(bool b)
{
    stash_value *v = NULL;
    stash_value_new_bool(b, &v);
    return v;
}

stash_value *json_out_string(const char *s)
{
    stash_value *v = NULL;
    stash_value_new_string(s, strlen(s), &v);
    return v;
}

stash_value *json_out_strings(const char *const *strings, uint32_t n)
{
    stash_value *list = json_out_list();
    stash_status status = list ? STASH_OK : -ENOMEM;
    for (uint32_t i = 0; i < n && status == STASH_OK; i++)
        json_out_add(list, NULL, json_out_string(strings[i]), &status);
    if (status != STASH_OK)
        stash_value_free(&list);
    return list;
}

void json_out_add_array_desc(stash_value *object, const stash_array_desc *d, stash_status *status)
{
    char descr[STASH_DESCR_MAX] = "";
    stash_array_descr(d, descr);
    stash_value *shape = json_out_list();
    for (unsigned i = 0; shape && i < d->ndim; i++)
        json_out_add(shape, NULL, json_out_uint(d->shape[i]), status);
    json_out_add(object, "dtype", json_out_string(stash_dtype_name(d->dtype)), status);
    json_out_add(object, "descr", json_out_string(descr), status);
    json_out_add(object, "shape", shape, status);
    json_out_add(object, "order", json_out_string(d->order == STASH_ORDER_F ? "F" : "C"), status);
    json_out_add(object, "byte_order",
             json_out_string(d->byte_order == STASH_BIG_ENDIAN ? "big" : "little"), status);
}

void json_out_add(stash_value *container, const char *key, stash_value *item, stash_status *status)
{
    if (*status == STASH_OK && (container == NULL || item == NULL))
        *status = -ENOMEM;
    if (*status == STASH_OK)
        *status = key ? stash_value_dict_set(container, key, item)
                      : stash_value_append(container, item);
    if (*status != STASH_OK)
        stash_value_free(&item);
}

stash_status json_out_print(stash_value **value, stash_status status)
{
    char *text = NULL;
    if (status == STASH_OK && *value == NULL)
        status = -ENOMEM;
    if (status == STASH_OK)
        status = stash_value_to_json(*value, 0, &text, NULL);
    if (status == STASH_OK)
        puts(text);
    free(text);
    stash_value_free(value);
    return status;
}
