#include "bench_util.h"

#include <math.h>
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

void bench_table(struct bench_config *c, const char *title)
{
    fprintf(c->out, "\n### %s\n\n", title);
    fprintf(c->out, "| benchmark | stash | baseline | ratio | target | |\n");
    fprintf(c->out, "|---|---|---|---|---|---|\n");
}

static bool target_met(double ratio, const char *target)
{
    double bound = strtod(target + 2, NULL);
    return strncmp(target, ">=", 2) == 0 ? ratio >= bound : ratio <= bound;
}

void bench_row(struct bench_config *c, const char *what, const char *stash_figure,
               const char *baseline_figure, double ratio, const char *target)
{
    const char *verdict = "";
    if (target != NULL && !isnan(ratio)) {
        bool met = target_met(ratio, target);
        verdict = met ? "met" : "MISSED";
        met ? c->met++ : c->missed++;
    }
    fprintf(c->out, "| %s | %s | %s | %.3g | %s | %s |\n", what, stash_figure, baseline_figure,
            ratio, target ? target : "", verdict);
    fflush(c->out);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
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
