/*
 * The demo's metadata as value trees: the feature parameters, which key the
 * store with each window and go in the NCO file, and the two setters both
 * use.
 */
#include "demo.h"
#include "demo_signal.h"

#include <stdio.h>
#include <string.h>

stash_status demo_set_int(stash_value *dict, const char *key, int64_t i)
{
    stash_value *v;
    stash_status st = stash_value_new_int(i, &v);
    if (st == STASH_OK && (st = stash_value_dict_set(dict, key, v)) != STASH_OK)
        stash_value_free(&v);
    return st;
}

stash_status demo_add_string(stash_value *container, const char *key, const char *s)
{
    stash_value *v;
    stash_status st = stash_value_new_string(s, strlen(s), &v);
    if (st != STASH_OK)
        return st;
    st = key ? stash_value_dict_set(container, key, v) : stash_value_append(container, v);
    if (st != STASH_OK)
        stash_value_free(&v);
    return st;
}

/* The parameters that, with the window, determine its features. */
stash_status demo_feature_params(const struct demo_options *o, stash_value **out)
{
    stash_value *params, *bands = NULL;
    stash_status st = stash_value_new_dict(&params);
    if (st != STASH_OK)
        return st;
    if ((st = demo_add_string(params, "feature", "band power, Hann-windowed periodogram")) ||
        (st = demo_set_int(params, "version", 1)) ||
        (st = demo_set_int(params, "rate_hz", DEMO_RATE_HZ)) ||
        (st = demo_set_int(params, "window", o->window)) || (st = stash_value_new_list(&bands)))
        goto fail;
    for (unsigned b = 0; b < DEMO_BANDS && st == STASH_OK; b++) {
        char text[64];
        snprintf(text, sizeof text, "%s [%g, %g) Hz", demo_bands[b].name, demo_bands[b].low_hz,
                 demo_bands[b].high_hz);
        st = demo_add_string(bands, NULL, text);
    }
    if (st != STASH_OK || (st = stash_value_dict_set(params, "bands", bands)) != STASH_OK)
        goto fail;
    *out = params;
    return STASH_OK;
fail:
    stash_value_free(&bands);
    stash_value_free(&params);
    return st;
}
