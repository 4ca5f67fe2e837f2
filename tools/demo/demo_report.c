/*
 * The demo's progress display and final report (see demo_report.h).
 *
 * The report is written through a stdio FILE * on a stash memory file, so it
 * costs no disk I/O until it is complete, then printed from the memory
 * file's view and saved (tools/save.h: aside, then renamed).
 */
#include "demo_report.h"

#include "demo_signal.h"
#include "save.h"

#include <stash/memfile.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t windows_done(const struct demo_plan *p)
{
    uint64_t done = 0;
    for (uint32_t k = 0; k < p->o->workers; k++)
        done += atomic_load_explicit(&p->shared->workers[k].windows_done, memory_order_acquire);
    return done;
}

/* n with a thin space between groups of three digits: "1 048 576". */
static const char *grouped(uint64_t n, char buf[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n), at = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[at++] = ' ';
        buf[at++] = digits[i];
    }
    buf[at] = '\0';
    return buf;
}

#define BAR_WIDTH 32

void demo_progress(FILE *out, bool tty, const struct demo_plan *p, double elapsed)
{
    static unsigned last_quarter;
    uint64_t done = windows_done(p), total = p->windows ? p->windows : 1;
    if (tty) {
        unsigned filled = (unsigned)(done * BAR_WIDTH / total);
        char bar[BAR_WIDTH + 1];
        memset(bar, '#', filled);
        memset(bar + filled, '.', BAR_WIDTH - filled);
        bar[BAR_WIDTH] = '\0';
        fprintf(out, "\r  [%s] %3u%%  %llu/%llu windows  %.1f s ", bar,
                (unsigned)(done * 100 / total), (unsigned long long)done,
                (unsigned long long)p->windows, elapsed);
        fflush(out);
        return;
    }
    unsigned quarter = (unsigned)(done * 4 / total);
    if (quarter > last_quarter) {
        last_quarter = quarter;
        fprintf(out, "  %3u%%: %llu of %llu windows analysed after %.2f s\n", quarter * 25,
                (unsigned long long)done, (unsigned long long)p->windows, elapsed);
        fflush(out);
    }
}

void demo_progress_end(FILE *out, bool tty, const struct demo_plan *p)
{
    (void)p;
    if (tty)
        fputc('\n', out);
}

static void row(FILE *f, const char *what, const char *text)
{
    fprintf(f, "| %s | %s |\n", what, text);
}

static void streamed_rows(FILE *f, const struct demo_plan *p, const struct demo_outcome *o)
{
    const struct demo_options *opt = p->o;
    char a[32], b[32], c[32], text[512];
    double bytes = (double)opt->samples * opt->channels * sizeof(float);
    snprintf(text, sizeof text,
             "%s per channel, %s values, %.1f MB, through /dev/shm/%s (a %s-sample ring, %s)",
             grouped(opt->samples, a), grouped(opt->samples * opt->channels, b), bytes / 1e6,
             p->ring_name, grouped(o->ring_samples, c), o->ring_mapping);
    row(f, "samples streamed", text);
    double secs = o->stream_seconds > 0 ? o->stream_seconds : 1e-9;
    snprintf(text, sizeof text,
             "%.2f s: %.2f M samples/s = %.0f MB/s = %.0fx real time; the acquisition held "
             "back for the readers %.0f%% of it",
             o->stream_seconds, (double)opt->samples / secs / 1e6, bytes / secs / 1e6,
             (double)opt->samples / DEMO_RATE_HZ / secs,
             100 * o->acquire_waited_seconds / secs);
    row(f, "throughput", text);
    snprintf(text, sizeof text,
             "%s of %u samples every %u, read in place from the ring (zero copy) by %u "
             "analysis processes; %llu overwritten before use",
             grouped(o->windows_done, a), opt->window, opt->hop, opt->workers,
             (unsigned long long)o->overwritten);
    row(f, "windows", text);
}

static void store_row(FILE *f, const struct demo_plan *p, const struct demo_outcome *o)
{
    char a[32], b[32], c[32], text[4400];
    bool keeps = strncmp(p->store_uri, "none:", 5) != 0;
    int n = snprintf(text, sizeof text, "`%s` %s hits, %s computed%s", p->store_uri,
                     grouped(o->hits, a), grouped(o->computed, b),
                     keeps ? " and stored" : " (none: keeps nothing)");
    if (o->repaired > 0)
        n += snprintf(text + n, sizeof text - n, " (%s replacing damaged entries)",
                      grouped(o->repaired, c));
    if (keeps && o->store_entries != UINT64_MAX)
        snprintf(text + n, sizeof text - n, "; %s entries in the store now",
                 grouped(o->store_entries, c));
    row(f, "result store", text);
}

/* "2.6 MB", "41.0 kB", "812 B" */
static const char *human_bytes(uint64_t n, char buf[32])
{
    if (n >= 1000000)
        snprintf(buf, 32, "%.1f MB", (double)n / 1e6);
    else if (n >= 1000)
        snprintf(buf, 32, "%.1f kB", (double)n / 1e3);
    else
        snprintf(buf, 32, "%llu B", (unsigned long long)n);
    return buf;
}

static void files_row(FILE *f, const struct demo_plan *p, const struct demo_outcome *o)
{
    char size[32], text[9000];
    snprintf(text, sizeof text,
             "%s (%s: metadata, then a %llu x %u x %d float64 array, read by "
             "NumPy, nengo and `stash nco ls`), %s",
             o->features_path, human_bytes(o->features_bytes, size),
             (unsigned long long)p->windows, p->o->channels, DEMO_BANDS, o->report_path);
    row(f, "files written", text);
}

static void verification_row(FILE *f, const struct demo_plan *p, const struct demo_verification *v)
{
    char a[32], text[512];
    if (v->status != STASH_OK) {
        snprintf(text, sizeof text, "FAILED: reading the features back: %s",
                 stash_strerror(v->status));
    } else if (!demo_verification_passed(v)) {
        snprintf(text, sizeof text,
                 "FAILED: %llu of %llu windows differ from their recomputation; %u channels "
                 "peak outside their sine's band; metadata %s",
                 (unsigned long long)v->mismatched_windows,
                 (unsigned long long)v->windows_checked, v->channels_off_band,
                 v->meta_matches ? "intact" : "DIFFERS");
    } else {
        snprintf(text, sizeof text,
                 "passed: all %s features equal, to the bit, their recomputation from the "
                 "signal's definition; every channel's strongest band is its sine's; the "
                 "metadata reads back intact",
                 grouped(v->windows_checked * p->o->channels * DEMO_BANDS, a));
    }
    row(f, "verification", text);
}

static void summary_line(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                         const struct demo_verification *v)
{
    char a[32], b[32];
    if (o->failure != NULL)
        fprintf(f, "\nFAILED: %s\n", o->failure);
    else if (!demo_verification_passed(v))
        fprintf(f, "\nFAILED: the features do not verify.\n");
    else if (o->computed == 0 && o->hits > 0)
        fprintf(f, "\nServed from the store: all %s windows; nothing was recomputed.\n",
                grouped(o->hits, a));
    else if (o->hits > 0)
        fprintf(f, "\nServed from the store: %s windows; %s computed.\n", grouped(o->hits, a),
                grouped(o->computed, b));
    else if (strncmp(p->store_uri, "none:", 5) == 0)
        fprintf(f, "\nComputed every window: none: keeps nothing, so every run computes.\n");
    else
        fprintf(f, "\nComputed every window. Run it again: the store will serve them.\n");
}

static void write_report(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                         const struct demo_verification *v)
{
    fprintf(f, "# stash demo\n\n%u channels of float32 (known sines plus noise, %d Hz nominal) "
               "streamed by one acquisition process to %u analysis processes.\n\n",
            p->o->channels, DEMO_RATE_HZ, p->o->workers);
    fputs("| | |\n|---|---|\n", f);
    streamed_rows(f, p, o);
    store_row(f, p, o);
    files_row(f, p, o);
    verification_row(f, p, v);
    summary_line(f, p, o, v);
}

int demo_report(FILE *out, const struct demo_plan *p, const struct demo_outcome *o,
                const struct demo_verification *v)
{
    stash_memfile *mf;
    FILE *f;
    void *data;
    uint64_t size;
    if (stash_memfile_create("demo-report", NULL, &mf) != STASH_OK)
        return 1;
    int rc = 1;
    if (stash_memfile_fopen(mf, "w", &f) == STASH_OK) {
        write_report(f, p, o, v);
        if (fclose(f) == 0 && stash_memfile_data(mf, &data, &size) == STASH_OK) {
            fputc('\n', out);
            fwrite(data, 1, (size_t)size, out);
            int err = save_file(o->report_path, &(struct iovec){data, (size_t)size}, 1);
            if (err != 0)
                fprintf(stderr, "stash demo: saving %s: %s\n", o->report_path, stash_strerror(err));
            rc = err != 0;
        }
    }
    stash_memfile_close(&mf);
    return rc;
}
