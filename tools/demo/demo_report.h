/*
 * What the demo shows: the progress while it streams, and the final report,
 * assembled in a memory file, printed, and saved beside the other outputs.
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
    double stream_seconds;     /* from the fork to the last child's exit */
    double acquire_waited_seconds;
    uint64_t windows_done, hits, computed, overwritten, repaired;
    uint64_t store_entries;    /* after the run; UINT64_MAX if unknown */
    const char *ring_mapping;  /* "mirrored" or "pocket" */
    uint64_t ring_samples;     /* its capacity */
    uint64_t features_bytes;   /* the NCO file */
    char features_path[4200], report_path[4200];
    const char *failure;       /* NULL, or what went wrong before verification */
};

/* Redraws the progress bar (tty) or prints a plain line at each quarter (not a tty). */
void demo_progress(FILE *out, bool tty, const struct demo_plan *p, double elapsed);

/* Ends the progress display (the bar's line) before the report. */
void demo_progress_end(FILE *out, bool tty, const struct demo_plan *p);

/*
 * Writes the report into a memory file, prints it to out and saves it to
 * o->report_path (atomically). 0, or 1 if the report could not be made.
 */
int demo_report(FILE *out, const struct demo_plan *p, const struct demo_outcome *o,
                const struct demo_verification *v);

#endif
