/*
 * What every benchmark shares: a clock, a sink the optimiser cannot remove,
 * and one table format in which each figure stands beside a baseline
 * measured in the same run, their ratio and the target.
 */
#ifndef STASH_BENCH_UTIL_H
#define STASH_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_config {
    bool quick; /* smaller inputs, for smoke runs */
    FILE *out;  /* the live tables */
    FILE *report; /* the same Markdown for the report file, or NULL */
    const char *plot_dir; /* where PNG plots go (NULL: none are drawn) */
    const char *scratch_dir; /* where benchmark files go */
    unsigned met, missed;
    unsigned failed; /* setups and measurements that failed: `stash bench` exits 1 */
};

double bench_seconds(void);

/* Keeps a computed value alive. */
void bench_sink(uint64_t value);

/* printf to the live output and to the report. */
void bench_printf(struct bench_config *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A setup or measurement that failed: says so on stderr ("stash bench: what:
 * why") and counts it, so that `stash bench` exits non-zero. A failure is
 * never a row of the tables.
 */
void bench_fail(struct bench_config *c, const char *what, const char *why);

/* bench_fail with a status's text. */
void bench_fail_status(struct bench_config *c, const char *what, int status);

/* A part's heading and the prose that says how it was measured. */
void bench_section(struct bench_config *c, const char *title, const char *method);

void bench_table(struct bench_config *c, const char *title);

/*
 * One row: stash's figure and the baseline's (with units), the ratio
 * stash/baseline in the direction the target is stated, and the target, e.g.
 * ">= 0.8" or "<= 1.5"; target NULL means informational. A ratio that is
 * not a finite number (NaN from a failed measurement) is a failure
 * (bench_fail), not a row.
 */
void bench_row(struct bench_config *c, const char *what, const char *stash_figure,
               const char *baseline_figure, double ratio, const char *target);

/*
 * A line plot of series_count curves sharing the x values (log-scaled x),
 * drawn by gnuplot into plot_dir/NAME.png and linked from the report; y is
 * series-major: y[s * points + i]. Without gnuplot or plot_dir, a note says so.
 */
struct bench_plot {
    const char *name, *title, *x_label, *y_label;
    size_t series_count, points;
    const char *const *series_names;
    const double *x, *y;
};
void bench_plot(struct bench_config *c, const struct bench_plot *plot);

/* The median of n values; reorders them. NaN if there are none, or if any is NaN (a
 * repetition that failed fails the median). */
double bench_median(double *values, size_t n);

/* Runs /usr/bin/python3 with a program that prints one number; NaN on failure. */
double bench_python(const char *program);

#endif
