/*
 * stash demo: the parts of the pipeline and what they share.
 *
 * The parent creates a ring and two memory files, then forks one acquisition
 * process (demo_acquire) and N analysis processes (demo_analyse). The
 * processes share the memory files' pages, inherited across fork:
 *   - the control block (struct demo_shared): progress, statistics, errors,
 *     and each analysis process's oldest needed sample, which the acquisition
 *     process reads so that it never overwrites a window still to be read;
 *   - the feature matrix, windows x channels x DEMO_BANDS float64, which each
 *     analysis process fills for its own windows (w = k, k + N, k + 2N, ...).
 * The parent watches the control block for the progress bar, then writes the
 * matrix as an NCO file, verifies it and assembles the report (demo_report).
 *
 * Stopping: SIGINT, SIGTERM and SIGHUP, in any of these processes, only set the
 * control block's stop flag (demo_stop.c), which every loop polls; so a
 * signal never cuts a put, a write or a rename in half, and the parent
 * decides what is left: the ring removed, nothing published, a report that
 * says so. A process that must stop says why in its state, or stops with
 * STASH_E_CLOSED (stopped because another asked) and exits 1.
 */
#ifndef STASH_TOOLS_DEMO_H
#define STASH_TOOLS_DEMO_H

#include <stash/value.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DEMO_MAX_WORKERS 16
#define DEMO_WHAT_MAX 160

struct demo_options {
    const char *dir;       /* everything the demo writes goes here */
    const char *store_uri; /* NULL: dir:DIR/store */
    uint32_t channels;
    uint64_t samples;      /* streamed per channel */
    uint32_t window, hop;  /* samples */
    uint32_t workers;      /* analysis processes */
    uint64_t ring_samples; /* the ring's capacity asked for (see demo_plan) */
    uint32_t chunk;        /* samples per put */
};

/*
 * What one process reports; written by it, read by the parent. hits and
 * computed count finished windows only (a window counts once it is in the
 * matrix and, if computed, in the store), so their sum is the windows done.
 */
struct demo_process_state {
    _Alignas(64) _Atomic uint64_t needed_from; /* analysis: the first sample still needed */
    _Atomic uint64_t hits, computed, overwritten;
    _Atomic uint64_t repaired; /* of computed: damaged store entries replaced */
    _Atomic uint64_t waited_ns; /* acquisition: time held back by slow readers */
    _Atomic int32_t status;     /* the stash_status that stopped it, or 0 */
    char what[DEMO_WHAT_MAX];   /* what it was doing then, written before status */
};

struct demo_shared {
    _Atomic uint32_t stop;        /* set when something failed or a signal came */
    _Atomic uint64_t mismatched;  /* verification: windows that differ, summed */
    struct demo_process_state acquire;
    struct demo_process_state workers[DEMO_MAX_WORKERS];
};

/* The pipeline's geometry, derived once from the options. */
struct demo_plan {
    const struct demo_options *o;
    char ring_name[64];
    uint64_t ring_capacity_samples; /* the ring's: --ring raised to fit and rounded */
    char store_uri[4200];
    uint64_t windows;
    struct demo_shared *shared;
    double *matrix; /* windows x channels x DEMO_BANDS */
};

static inline uint64_t demo_window_first(const struct demo_plan *p, uint64_t w)
{
    return w * p->o->hop;
}

/* The bodies of the child processes: each returns its exit status. */
int demo_acquire(const struct demo_plan *p);
int demo_analyse(const struct demo_plan *p, uint32_t worker);

/* The feature parameters: with each window they key the store; they go in the NCO's metadata. */
stash_status demo_feature_params(const struct demo_options *o, stash_value **out);

/* dict[key] = i, or = s; with key NULL, demo_add_string appends s to a list. On failure the
 * new value is freed and the container unchanged. (demo_params.c) */
stash_status demo_set_int(stash_value *dict, const char *key, int64_t i);
stash_status demo_add_string(stash_value *container, const char *key, const char *s);

/* Records a failure in a process's state: what, then the status (release). */
void demo_fail(struct demo_process_state *s, const char *what, int32_t status);

/* Whether the pipeline is to stop (a failure or a signal, in any process). */
static inline bool demo_stopping(const struct demo_plan *p)
{
    return atomic_load_explicit(&p->shared->stop, memory_order_acquire) != 0;
}

/* ---- Signals (demo_stop.c) -------------------------------------------------------------- */

/* Catches SIGINT, SIGTERM and SIGHUP here and in what this process forks; call first. */
void demo_catch_signals(void);

/* From now on a caught signal also sets *stop (the control block's flag); NULL: no longer. */
void demo_stop_on_signals(_Atomic uint32_t *stop);

/* The first of them this process caught, or 0; how many it caught. */
int demo_caught_signal(void);
unsigned demo_caught_count(void);

/* In a child just forked from parent: stop (as on SIGTERM) when the parent dies. */
void demo_child_stops_with(pid_t parent);

/* "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", or "signal N" (into buf). */
const char *demo_signal_name(int sig, char buf[16]);

#endif
