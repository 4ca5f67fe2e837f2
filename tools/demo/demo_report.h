/*
 * What the demo shows: the progress while it streams, and the final report,
 * assembled in a memory file, printed, and - for a run that verified -
 * published with the features it describes.
 */
#ifndef STASH_TOOLS_DEMO_REPORT_H
#define STASH_TOOLS_DEMO_REPORT_H

#include "demo.h"
#include "demo_verify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* What the parent gathered from the run. */
struct demo_outcome {
    int signal;                /* the SIGINT, SIGTERM or SIGHUP that stopped the run, or 0 */
    bool signal_after_streaming; /* it came while the features were written or verified */
    const char *failure;       /* NULL, or what went wrong (maybe in failure_text) */
    char failure_text[600];
    double stream_seconds;     /* from the fork to the last child's exit */
    double acquire_waited_seconds;
    uint64_t samples_streamed; /* per channel: what the writer put in the ring */
    uint64_t hits, computed, overwritten, repaired; /* hits + computed: windows done */
    uint64_t store_entries;    /* after the run; UINT64_MAX if unknown */
    const char *ring_mapping;  /* "mirrored" or "pocket" */
    stash_status ring_removed; /* of removing the ring: STASH_OK once it is gone */
    uint64_t features_bytes;   /* the NCO file */
    bool features_published;   /* features_path is this run's */
    /* The verified features are written to staging_path and renamed to features_path. */
    char features_path[4200], staging_path[4200], report_path[4200];
};

/* Redraws the progress bar (tty) or prints a plain line at each quarter (not a tty). */
void demo_progress(FILE *out, bool tty, const struct demo_plan *p, double elapsed);

/* Ends the progress display (the bar's line) before the report. */
void demo_progress_end(FILE *out, bool tty, const struct demo_plan *p);

/*
 * Ends the run: a run that verified publishes its features and its report
 * together (staging_path renamed to features_path, then report_path saved;
 * the old report is removed first, so no moment pairs it with the new
 * features). Any other run - failed, or stopped by a signal - removes the
 * staging file and publishes nothing, keeping what the last complete run
 * published. Either way the report, which says which happened, is printed
 * to out. Returns the exit status: 0, 1, or 128 + the signal.
 */
int demo_conclude(FILE *out, const struct demo_plan *p, struct demo_outcome *o,
                  const struct demo_verification *v);

#endif
