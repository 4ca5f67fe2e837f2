/*
 * The demo's output and its proof: the feature matrix goes to an NCO file
 * (metadata pickle + NPY array, as nengo's cache writes them, published
 * atomically), which is then opened like any reader would, and every
 * feature in it is checked against a recomputation from the signal itself,
 * regenerated from its definition rather than read from the ring or store.
 * Same code, same float32 input: every feature must match to the bit.
 */
#include "demo_verify.h"

#include "demo_signal.h"

#include <stash/nco.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The NCO's metadata: what each axis is, and the parameters behind the numbers. */
static stash_status features_meta(const struct demo_plan *p, stash_value **out)
{
    const struct demo_options *o = p->o;
    stash_value *meta, *params = NULL;
    stash_status st = stash_value_new_dict(&meta);
    if (st != STASH_OK)
        return st;
    if ((st = demo_add_string(meta, "what", "band power per window, channel and band")) ||
        (st = demo_add_string(meta, "axes", "window, channel, band")) ||
        (st = demo_set_int(meta, "channels", o->channels)) ||
        (st = demo_set_int(meta, "samples", (int64_t)o->samples)) ||
        (st = demo_set_int(meta, "hop", o->hop)) ||
        (st = demo_add_string(meta, "window_first_sample", "window index x hop")) ||
        (st = demo_feature_params(o, &params)))
        goto fail;
    if ((st = stash_value_dict_set(meta, "parameters", params)) != STASH_OK) {
        stash_value_free(&params);
        goto fail;
    }
    *out = meta;
    return STASH_OK;
fail:
    stash_value_free(&meta);
    return st;
}

static stash_status matrix_desc(const struct demo_plan *p, stash_array_desc *desc)
{
    return stash_array_desc_init(desc, STASH_DTYPE_FLOAT64, 3,
                                 (uint64_t[]){p->windows, p->o->channels, DEMO_BANDS});
}

stash_status demo_write_features(const struct demo_plan *p, const char *path)
{
    stash_value *meta;
    stash_array_desc desc;
    stash_status st = matrix_desc(p, &desc);
    if (st != STASH_OK || (st = features_meta(p, &meta)) != STASH_OK)
        return st;
    st = stash_nco_pack(path, meta, &desc, p->matrix, 0);
    stash_value_free(&meta);
    return st;
}

/* The strongest band of each channel, over all windows, must be its sine's band. */
static uint32_t channels_off_band(const struct demo_plan *p, const double *matrix)
{
    uint32_t channels = p->o->channels, off = 0;
    for (uint32_t c = 0; c < channels && p->windows > 0; c++) {
        double total[DEMO_BANDS] = {0};
        for (uint64_t w = 0; w < p->windows; w++)
            for (unsigned b = 0; b < DEMO_BANDS; b++)
                total[b] += matrix[(w * channels + c) * DEMO_BANDS + b];
        unsigned strongest = 0;
        for (unsigned b = 1; b < DEMO_BANDS; b++)
            strongest = total[b] > total[strongest] ? b : strongest;
        off += strongest != demo_channel_band(c);
    }
    return off;
}

/* Recomputes windows first, first + step, ...; how many differ from the matrix. */
static uint64_t recompute(const struct demo_plan *p, const double *matrix, uint64_t first,
                          uint64_t step)
{
    const struct demo_options *o = p->o;
    size_t row_values = (size_t)o->channels * DEMO_BANDS;
    float *frames = malloc((size_t)o->window * o->channels * sizeof *frames);
    double *row = malloc(row_values * sizeof *row);
    struct demo_features *f = demo_features_new(o->window, o->channels);
    uint64_t mismatched = 0;
    for (uint64_t w = first; w < p->windows; w += step) {
        if (demo_stopping(p))
            break; /* a signal: the parent will publish nothing */
        if (frames == NULL || row == NULL || f == NULL) {
            mismatched++;
            continue;
        }
        demo_signal(demo_window_first(p, w), o->window, o->channels, frames);
        demo_features_compute(f, frames, row);
        mismatched += memcmp(row, matrix + w * row_values, row_values * sizeof *row) != 0;
    }
    demo_features_free(f);
    free(row);
    free(frames);
    return mismatched;
}

/*
 * Recomputes every window, shared among as many processes as the analysis
 * used. A process that fails to report counts all its windows as wrong.
 */
static uint64_t recompute_all(const struct demo_plan *p, const double *matrix)
{
    uint32_t n = p->o->workers;
    pid_t pid[DEMO_MAX_WORKERS];
    atomic_store(&p->shared->mismatched, 0);
    fflush(NULL);
    for (uint32_t k = 0; k < n; k++) {
        pid[k] = fork();
        if (pid[k] == 0) {
            atomic_fetch_add(&p->shared->mismatched, recompute(p, matrix, k, n));
            _exit(demo_stopping(p) ? 1 : 0); /* stopped: its windows were not all checked */
        }
    }
    uint64_t lost = 0;
    for (uint32_t k = 0; k < n; k++) {
        int status = 0;
        bool reported = pid[k] > 0 && waitpid(pid[k], &status, 0) == pid[k] &&
                        WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!reported)
            lost += (p->windows - k + n - 1) / n;
    }
    return atomic_load(&p->shared->mismatched) + lost;
}

static stash_status check_file(const struct demo_plan *p, stash_nco *nco,
                               struct demo_verification *v)
{
    stash_array_desc want, got;
    void *data = NULL;
    stash_value *meta = NULL, *expected = NULL;
    stash_status st = stash_nco_meta(nco, 0, &meta, NULL);
    if (st == STASH_OK && (st = features_meta(p, &expected)) == STASH_OK)
        v->meta_matches = stash_value_equal(meta, expected);
    stash_value_free(&meta);
    stash_value_free(&expected);
    if (st != STASH_OK || (st = matrix_desc(p, &want)) ||
        (st = stash_nco_array_read(nco, 0, &got, &data)))
        return st;
    if (got.ndim != 3 || memcmp(got.shape, want.shape, sizeof want.shape[0] * 3) != 0 ||
        got.dtype != want.dtype || got.byte_order != want.byte_order || got.order != want.order) {
        free(data);
        return STASH_E_SHAPE;
    }
    v->windows_checked = p->windows;
    v->mismatched_windows = recompute_all(p, data);
    v->channels_off_band = channels_off_band(p, data);
    free(data);
    return STASH_OK;
}

stash_status demo_verify(const struct demo_plan *p, const char *path,
                         struct demo_verification *v)
{
    *v = (struct demo_verification){0};
    stash_nco *nco;
    stash_status st = stash_nco_open(path, STASH_NCO_NO_MAP, &nco); /* read, as the program reads every file */
    if (st == STASH_OK) {
        stash_nco_info info;
        st = stash_nco_info_get(nco, &info);
        if (st == STASH_OK && info.count != 1)
            st = STASH_E_CORRUPT;
        if (st == STASH_OK)
            st = check_file(p, nco, v);
        stash_nco_close(&nco);
    }
    v->status = st;
    return st;
}

bool demo_verification_passed(const struct demo_verification *v)
{
    return v->status == STASH_OK && v->meta_matches && v->mismatched_windows == 0 &&
           v->channels_off_band == 0;
}
