#include "bench_util.h"

#include <stash/error.h>

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

double bench_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void bench_sink(uint64_t value)
{
    sink += value;
}

void bench_printf(struct bench_config *c, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(c->out, format, args);
    va_end(args);
    fflush(c->out);
    if (c->report != NULL) {
        va_start(args, format);
        vfprintf(c->report, format, args);
        va_end(args);
    }
}

void bench_fail(struct bench_config *c, const char *what, const char *why)
{
    fflush(c->out);
    fprintf(stderr, "stash bench: %s: %s\n", what, why);
    c->failed++;
}

void bench_fail_status(struct bench_config *c, const char *what, int status)
{
    bench_fail(c, what, stash_strerror(status));
}

void bench_section(struct bench_config *c, const char *title, const char *method)
{
    bench_printf(c, "\n## %s\n\n%s\n", title, method);
}

void bench_table_against(struct bench_config *c, const char *title, const char *baseline)
{
    bench_printf(c, "\n### %s%s\n\n", title,
                 c->quick ? " (quick run: smoke figures, no verdicts)" : "");
    if (baseline != NULL)
        bench_printf(c, "Baseline: %s\n\n", baseline);
    bench_printf(c, "| benchmark | stash | baseline | ratio | spread | target | |\n"
                    "|---|---|---|---|---|---|---|\n");
}

void bench_table(struct bench_config *c, const char *title)
{
    bench_table_against(c, title, NULL);
}

int bench_rounds(const struct bench_config *c)
{
    return c->quick ? BENCH_QUICK_ROUNDS : BENCH_ROUNDS;
}

static bool target_met(double ratio, const char *target)
{
    double bound = strtod(target + 2, NULL);
    return strncmp(target, ">=", 2) == 0 ? ratio >= bound : ratio <= bound;
}

/* The row itself; spread is "" for a single figure. A quick run gives no verdict. */
static void print_row(struct bench_config *c, const char *what, const char *stash_figure,
                      const char *baseline_figure, double ratio, const char *spread,
                      const char *target)
{
    if (!isfinite(ratio)) {
        bench_fail(c, what, "the measurement failed; no figure");
        return;
    }
    const char *verdict = "";
    if (target != NULL && !c->quick) {
        bool met = target_met(ratio, target);
        verdict = met ? "met" : "MISSED";
        met ? c->met++ : c->missed++;
    }
    bench_printf(c, "| %s | %s | %s | %.3g | %s | %s | %s |\n", what, stash_figure,
                 baseline_figure, ratio, spread, target ? target : "", verdict);
}

void bench_row(struct bench_config *c, const char *what, const char *stash_figure,
               const char *baseline_figure, double ratio, const char *target)
{
    print_row(c, what, stash_figure, baseline_figure, ratio, "", target);
}

void bench_row_rounds(struct bench_config *c, const char *what, const char *stash_figure,
                      const char *baseline_figure, const double *ratios, size_t rounds,
                      const char *target)
{
    struct bench_stats s = bench_stats_of(ratios, rounds);
    char spread[64] = "";
    if (rounds > 1)
        snprintf(spread, sizeof spread, "%.3g-%.3g", s.min, s.max);
    print_row(c, what, stash_figure, baseline_figure, s.median, spread, target);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(values[i]))
            return NAN;
    if (n == 0)
        return NAN;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct bench_stats bench_stats_of(const double *values, size_t n)
{
    struct bench_stats s = {NAN, NAN, NAN};
    double *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (sorted == NULL)
        return s;
    memcpy(sorted, values, n * sizeof *sorted);
    s.median = bench_median(sorted, n);
    if (!isnan(s.median)) {
        s.min = sorted[0];
        s.max = sorted[n - 1];
    }
    free(sorted);
    return s;
}

/* value with digits significant digits, never in exponent form: 12345 stays 12345. */
static void significant(char *buf, size_t size, double value, int digits)
{
    if (fabs(value) >= pow(10, digits))
        snprintf(buf, size, "%.0f", value);
    else
        snprintf(buf, size, "%.*g", digits, value);
}

void bench_spread(char *buf, size_t size, const double *values, size_t n, double scale,
                  int digits, const char *unit)
{
    struct bench_stats s = bench_stats_of(values, n);
    char median[32], min[32], max[32];
    if (isnan(s.median)) {
        snprintf(buf, size, "n/a");
        return;
    }
    significant(median, sizeof median, s.median * scale, digits);
    significant(min, sizeof min, s.min * scale, digits);
    significant(max, sizeof max, s.max * scale, digits);
    if (n == 1)
        snprintf(buf, size, "%s %s", median, unit);
    else
        snprintf(buf, size, "%s %s (%s-%s)", median, unit, min, max);
}

double bench_python(const char *program)
{
    char command[4096];
    snprintf(command, sizeof command, "/usr/bin/python3 -c '%s' 2>/dev/null", program);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return NAN;
    double value = NAN;
    if (fscanf(p, "%lf", &value) != 1)
        value = NAN;
    if (pclose(p) != 0)
        value = NAN;
    return value;
}

/* Feeds gnuplot a script with the data inline; false if it cannot run or fails. */
static bool draw(const struct bench_plot *plot, const char *png)
{
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (g == NULL)
        return false;
    fprintf(g, "set terminal pngcairo size 900,520 font 'sans,11'\nset output '%s'\n"
               "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset logscale x 2\n"
               "set key top left\nset grid\nset yrange [0:*]\n$data << EOD\n",
            png, plot->title, plot->x_label, plot->y_label);
    for (size_t i = 0; i < plot->points; i++) {
        fprintf(g, "%g", plot->x[i]);
        for (size_t s = 0; s < plot->series_count; s++)
            fprintf(g, " %g", plot->y[s * plot->points + i]);
        fputc('\n', g);
    }
    fputs("EOD\nplot ", g);
    for (size_t s = 0; s < plot->series_count; s++)
        fprintf(g, "%s$data using 1:%zu with linespoints lw 2 title '%s'", s ? ", " : "", s + 2,
                plot->series_names[s]);
    fputc('\n', g);
    return pclose(g) == 0;
}

void bench_plot(struct bench_config *c, const struct bench_plot *plot)
{
    if (c->plot_dir == NULL)
        return;
    char png[4096];
    snprintf(png, sizeof png, "%s/%s.png", c->plot_dir, plot->name);
    if (draw(plot, png))
        bench_printf(c, "\n![%s](%s.png)\n", plot->title, plot->name);
    else
        bench_printf(c, "\n(plot %s.png not drawn: gnuplot is missing or failed)\n", plot->name);
}
