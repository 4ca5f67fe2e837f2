/*
 * What every benchmark shares: a clock, a sink the optimiser cannot remove,
 * and one table format in which each figure stands beside a baseline
 * measured in the same run, their ratio, its spread over the rounds and the
 * target.
 *
 * A target is a ratio to the limit of the same operation measured in the
 * same run, so that any machine of the same design meets it or not alike.
 * Verdicts come only from full runs: a quick run (--quick, what CI runs)
 * prints the same tables as smoke figures, with no verdict.
 */
#ifndef STASH_BENCH_UTIL_H
#define STASH_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_config {
    bool quick; /* smaller inputs and fewer rounds, for smoke runs: figures, no verdicts */
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

/* A table whose rows share one baseline, defined in one line under the title. */
void bench_table_against(struct bench_config *c, const char *title, const char *baseline);

/* How many interleaved rounds a full run takes of each figure with a target, and a quick one. */
#define BENCH_ROUNDS 5
#define BENCH_QUICK_ROUNDS 2
int bench_rounds(const struct bench_config *c);

/*
 * One row: stash's figure and the baseline's (with units), the ratio
 * stash/baseline in the direction the target is stated, and the target, e.g.
 * ">= 0.8" or "<= 1.5"; target NULL means informational. A ratio that is
 * not a finite number (NaN from a failed measurement) is a failure
 * (bench_fail), not a row. This form is for a single figure (itself a best
 * or a median of many operations); it has no spread.
 */
void bench_row(struct bench_config *c, const char *what, const char *stash_figure,
               const char *baseline_figure, double ratio, const char *target);

/*
 * A row from rounds: ratios[i] is round i's ratio (stash and baseline
 * measured side by side in that round). The row shows their median, which
 * the target is held to, and their spread (min-max).
 */
void bench_row_rounds(struct bench_config *c, const char *what, const char *stash_figure,
                      const char *baseline_figure, const double *ratios, size_t rounds,
                      const char *target);

/*
 * "MEDIAN UNIT (MIN-MAX)" of n figures (just "MEDIAN UNIT" for one), each
 * times scale, with digits significant digits and never in exponent form,
 * into buf; "n/a" if any is NaN. The figures are not reordered.
 */
void bench_spread(char *buf, size_t size, const double *values, size_t n, double scale,
                  int digits, const char *unit);

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

/* The median, least and greatest of n values, which are not reordered; NaN as above. */
struct bench_stats {
    double median, min, max;
};
struct bench_stats bench_stats_of(const double *values, size_t n);

/* Runs /usr/bin/python3 with a program that prints one number; NaN on failure. */
double bench_python(const char *program);

#endif
