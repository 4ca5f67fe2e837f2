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
    FILE *out;
    const char *scratch_dir; /* where benchmark files go */
    unsigned met, missed;
};

double bench_seconds(void);

/* Keeps a computed value alive. */
void bench_sink(uint64_t value);

void bench_table(struct bench_config *c, const char *title);

/*
 * One row: stash's figure and the baseline's (with units), the ratio
 * stash/baseline in the direction the target is stated, and the target, e.g.
 * ">= 0.8" or "<= 1.5"; target NULL means informational.
 */
void bench_row(struct bench_config *c, const char *what, const char *stash_figure,
               const char *baseline_figure, double ratio, const char *target);

/* The median of n values; reorders them. */
double bench_median(double *values, size_t n);

/* Runs /usr/bin/python3 with a program that prints one number; NaN on failure. */
double bench_python(const char *program);

#endif
