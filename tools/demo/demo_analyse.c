/*
 * An analysis process of the demo: attaches to the ring as a reader and, for
 * each of its windows (w = k, k + N, ...), waits for the samples, views them
 * in place (zero copy, wrapped or not), and looks their features up in the
 * result store under a content key of the window and the feature parameters.
 * On a miss it computes them from the view, checks that the writer did not
 * lap the window meanwhile (stash_ring_validate), and only then stores them,
 * so features of a torn window can never be memoised. An entry that is
 * damaged (corrupt, truncated, of the wrong shape) is treated as a miss and
 * replaced; an entry that is well formed but wrong is caught by the
 * parent's verification, which fails the run.
 *
 * The key is stash_hash_inputs of (the window's content key, the feature
 * parameters): the window is hashed where it lies in the ring, never copied
 * into a value tree.
 */
#include "demo.h"
#include "demo_signal.h"

#include <stash/hash.h>
#include <stash/ring.h>
#include <stash/store.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WAIT_SLICE_NS 100000000 /* check the stop flag this often while waiting */

struct analyser {
    const struct demo_plan *p;
    struct demo_process_state *me;
    stash_ring *ring;
    stash_store *store;
    stash_value *params;
    struct demo_features *features;
    stash_array_desc window_desc, features_desc;
};

static stash_status memo_key(struct analyser *a, const void *frames, stash_key *key)
{
    stash_key window_key;
    stash_status st = stash_hash_array(&a->window_desc, frames, &window_key);
    stash_value *inputs;
    if (st != STASH_OK ||
        (st = stash_value_new_string(window_key.text, strlen(window_key.text), &inputs)))
        return st;
    st = stash_hash_inputs(inputs, a->params, key);
    stash_value_free(&inputs);
    return st;
}

/* Copies a stored result into row; STASH_E_SHAPE if it is not what we store. */
static stash_status use_stored(struct analyser *a, const stash_value *v, double *row)
{
    const stash_array_desc *desc;
    const void *data;
    stash_status st = stash_value_get_array(v, &desc, &data);
    if (st != STASH_OK)
        return STASH_E_SHAPE;
    if (desc->dtype != STASH_DTYPE_FLOAT64 || desc->ndim != 2 ||
        desc->shape[0] != a->features_desc.shape[0] || desc->shape[1] != DEMO_BANDS ||
        desc->byte_order != STASH_LITTLE_ENDIAN || desc->order != STASH_ORDER_C)
        return STASH_E_SHAPE;
    memcpy(row, data, (size_t)a->p->o->channels * DEMO_BANDS * sizeof *row);
    return STASH_OK;
}

static stash_status compute_and_store(struct analyser *a, uint64_t first, const void *frames,
                                      const stash_key *key, double *row)
{
    demo_features_compute(a->features, frames, row);
    stash_status st = stash_ring_validate(a->ring, first);
    if (st != STASH_OK)
        return st; /* lapped: the row may be of torn data; store nothing */
    if (!stash_store_is_active(a->store))
        return STASH_OK;
    stash_value *v;
    if ((st = stash_value_new_array(&a->features_desc, row, &v)) != STASH_OK)
        return st;
    st = stash_store_put(a->store, key->text, v);
    stash_value_free(&v);
    return st;
}

/* An entry that cannot be what we stored: recompute it and put it right. */
static bool is_damaged(stash_status st)
{
    return st == STASH_E_CORRUPT || st == STASH_E_TRUNCATED || st == STASH_E_SHAPE ||
           st == STASH_E_VERSION || st == STASH_E_DTYPE || st == STASH_E_UNSAFE;
}

/*
 * Waits in slices, to see the stop flag. Once the pipeline is stopping, what
 * the wait says (the writer gone, say) only echoes the stop: STASH_E_CLOSED.
 */
static stash_status wait_for(struct analyser *a, uint64_t end)
{
    for (;;) {
        stash_status st = stash_ring_wait(a->ring, end, WAIT_SLICE_NS, 0);
        if (st != STASH_OK && demo_stopping(a->p))
            return STASH_E_CLOSED;
        if (st != STASH_E_TIMEOUT)
            return st;
    }
}

enum window_outcome { WINDOW_HIT, WINDOW_COMPUTED, WINDOW_REPAIRED };

/* One window's features into the matrix (and, if computed, the store); *how says which. */
static stash_status analyse_window(struct analyser *a, uint64_t w, enum window_outcome *how)
{
    const struct demo_options *o = a->p->o;
    uint64_t first = demo_window_first(a->p, w);
    double *row = a->p->matrix + w * o->channels * DEMO_BANDS;
    const void *frames;
    stash_key key;
    stash_status st = wait_for(a, first + o->window);
    if (st != STASH_OK || (st = stash_ring_view(a->ring, first, first + o->window, &frames)) ||
        (st = memo_key(a, frames, &key)))
        return st;
    stash_value *stored = NULL;
    st = stash_store_is_active(a->store) ? stash_store_get(a->store, key.text, &stored)
                                         : STASH_E_NOT_FOUND;
    if (st == STASH_OK)
        st = use_stored(a, stored, row);
    stash_value_free(&stored);
    if (st == STASH_OK) {
        *how = WINDOW_HIT;
        return stash_ring_validate(a->ring, first);
    }
    if (is_damaged(st))
        *how = WINDOW_REPAIRED; /* the put below replaces it */
    else if (st == STASH_E_NOT_FOUND)
        *how = WINDOW_COMPUTED;
    else
        return st;
    return compute_and_store(a, first, frames, &key, row);
}

/* Counts a finished window; the progress display and the report sum these. */
static void count(struct demo_process_state *me, enum window_outcome how)
{
    if (how == WINDOW_REPAIRED)
        atomic_fetch_add(&me->repaired, 1);
    atomic_fetch_add_explicit(how == WINDOW_HIT ? &me->hits : &me->computed, 1,
                              memory_order_release);
}

static int analyse_all(struct analyser *a, uint32_t worker)
{
    const struct demo_plan *p = a->p;
    for (uint64_t w = worker; w < p->windows; w += p->o->workers) {
        atomic_store_explicit(&a->me->needed_from, demo_window_first(p, w), memory_order_release);
        enum window_outcome how = WINDOW_HIT;
        stash_status st = demo_stopping(p) ? STASH_E_CLOSED : analyse_window(a, w, &how);
        if (st == STASH_E_OVERWRITTEN)
            atomic_fetch_add(&a->me->overwritten, 1);
        if (st != STASH_OK) {
            char what[DEMO_WHAT_MAX];
            snprintf(what, sizeof what, "window %llu", (unsigned long long)w);
            demo_fail(a->me, what, st);
            return 1;
        }
        count(a->me, how);
    }
    return 0;
}

static stash_status open_all(struct analyser *a)
{
    const struct demo_options *o = a->p->o;
    stash_status st;
    if ((st = stash_array_desc_init(&a->window_desc, STASH_DTYPE_FLOAT32, 2,
                                    (uint64_t[]){o->window, o->channels})) ||
        (st = stash_array_desc_init(&a->features_desc, STASH_DTYPE_FLOAT64, 2,
                                    (uint64_t[]){o->channels, DEMO_BANDS})))
        return st;
    if ((st = stash_ring_attach(a->p->ring_name, 0, &a->ring)) != STASH_OK) {
        demo_fail(a->me, "attaching to the ring", st);
        return st;
    }
    if ((st = stash_store_open(a->p->store_uri, NULL, &a->store)) != STASH_OK) {
        demo_fail(a->me, a->p->store_uri, st);
        return st;
    }
    if ((st = demo_feature_params(o, &a->params)) != STASH_OK ||
        (a->features = demo_features_new(o->window, o->channels)) == NULL) {
        demo_fail(a->me, "preparing the features", st ? st : -ENOMEM);
        return st ? st : -ENOMEM;
    }
    return STASH_OK;
}

int demo_analyse(const struct demo_plan *p, uint32_t worker)
{
    struct analyser a = {.p = p, .me = &p->shared->workers[worker]};
    int rc = open_all(&a) == STASH_OK ? analyse_all(&a, worker) : 1;
    atomic_store_explicit(&a.me->needed_from, UINT64_MAX, memory_order_release);
    demo_features_free(a.features);
    stash_value_free(&a.params);
    stash_store_close(&a.store);
    stash_ring_close(&a.ring);
    return rc;
}
