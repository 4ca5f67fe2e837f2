/*
 * The demo's progress display and final report (see demo_report.h).
 *
 * The report is written through a stdio FILE * on a stash memory file, so it
 * costs no disk I/O until it is complete, then saved (tools/save.h: aside,
 * then renamed) and printed from the memory file's view.
 *
 * It must never be false: every count in it is one the processes counted
 * for finished work, every file it names exists when it is printed, and
 * report.md is only ever saved beside the features it describes. A run that
 * does not verify, or is stopped by a signal, publishes nothing and says so.
 */
#include "demo_report.h"

#include "demo_signal.h"
#include "save.h"

#include <stash/memfile.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Windows finished so far: each process counts its own as hits or computed. */
static uint64_t windows_done(const struct demo_plan *p)
{
    uint64_t done = 0;
    for (uint32_t k = 0; k < p->o->workers; k++) {
        const struct demo_process_state *w = &p->shared->workers[k];
        done += atomic_load_explicit(&w->hits, memory_order_acquire) +
                atomic_load_explicit(&w->computed, memory_order_acquire);
    }
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

/* Why nothing is published: "interrupted by SIGINT", "failed". */
static const char *ending(const struct demo_outcome *o, char buf[64])
{
    char name[16];
    if (o->signal == 0)
        return "failed";
    snprintf(buf, 64, "interrupted by %s", demo_signal_name(o->signal, name));
    return buf;
}

static void streamed_rows(FILE *f, const struct demo_plan *p, const struct demo_outcome *o)
{
    const struct demo_options *opt = p->o;
    char a[32], b[32], c[32], d[32], text[640];
    uint64_t streamed = o->samples_streamed;
    double bytes = (double)streamed * opt->channels * sizeof(float);
    int n = streamed == opt->samples
                ? snprintf(text, sizeof text, "%s per channel", grouped(streamed, a))
                : snprintf(text, sizeof text, "%s of %s per channel", grouped(streamed, a),
                           grouped(opt->samples, d));
    snprintf(text + n, sizeof text - n,
             ", %s values, %.1f MB, through the ring %s in /dev/shm (%s samples, %s; %s)",
             grouped(streamed * opt->channels, b), bytes / 1e6, p->ring_name,
             grouped(p->ring_capacity_samples, c), o->ring_mapping ? o->ring_mapping : "?",
             o->ring_removed == STASH_OK ? "removed when the streaming ended"
                                          : "NOT removed: see below");
    row(f, "samples streamed", text);
    double secs = o->stream_seconds > 0 ? o->stream_seconds : 1e-9;
    snprintf(text, sizeof text,
             "%.2f s: %.2f M samples/s = %.0f MB/s = %.0fx real time; the acquisition held "
             "back for the readers %.0f%% of it",
             o->stream_seconds, (double)streamed / secs / 1e6, bytes / secs / 1e6,
             (double)streamed / DEMO_RATE_HZ / secs, 100 * o->acquire_waited_seconds / secs);
    row(f, "throughput", text);
    snprintf(text, sizeof text,
             "%s of %s, of %u samples every %u, read in place from the ring (zero copy) by %u "
             "analysis processes; %llu overwritten before use",
             grouped(o->hits + o->computed, a), grouped(p->windows, b), opt->window, opt->hop,
             opt->workers, (unsigned long long)o->overwritten);
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
        snprintf(text + n, sizeof text - n, "; %s entries in the store after this run",
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

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* The outputs a run that published nothing leaves: whatever was there, untouched. */
static void kept_files(char *text, size_t size, const struct demo_outcome *o, const char *why)
{
    const char *paths[] = {o->features_path, o->report_path};
    int n = snprintf(text, size, "none: a run that %s publishes nothing", why);
    bool first = true;
    for (size_t i = 0; i < 2; i++) {
        if (!exists(paths[i]))
            continue;
        n += snprintf(text + n, size - (size_t)n, "%s%s", first ? "; kept as they were: " : ", ",
                      paths[i]);
        first = false;
    }
}

static void files_row(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                      bool publishing)
{
    char size[32], text[9000];
    if (!o->features_published && !publishing) {
        kept_files(text, sizeof text, o, o->signal ? "is interrupted" : "fails");
    } else {
        int n = snprintf(text, sizeof text,
                         "%s (%s: metadata, then a %llu x %u x %d float64 array, read by "
                         "NumPy, nengo and `stash nco ls`)",
                         o->features_path, human_bytes(o->features_bytes, size),
                         (unsigned long long)p->windows, p->o->channels, DEMO_BANDS);
        snprintf(text + n, sizeof text - (size_t)n, "%s%s", publishing ? ", " : "; ",
                 publishing ? o->report_path : "its report could not be saved: see below");
    }
    row(f, "files written", text);
}

static void verification_row(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                             const struct demo_verification *v)
{
    char a[32], why[64], text[512];
    if (o->signal != 0 || v->status == STASH_E_CLOSED) {
        snprintf(text, sizeof text, "not done: %s", o->signal ? ending(o, why)
                                                              : "the run failed before it");
    } else if (v->status != STASH_OK) {
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

static void stopped_line(FILE *f, const struct demo_plan *p, const struct demo_outcome *o)
{
    char a[32], b[32], name[16];
    fprintf(f, "\nINTERRUPTED by %s ", demo_signal_name(o->signal, name));
    if (o->signal_after_streaming)
        fprintf(f, "while checking the features; all %s windows were analysed in %.2f s. ",
                grouped(o->hits + o->computed, a), o->stream_seconds);
    else
        fprintf(f, "after %.2f s, with %s of %s windows done; the processes were stopped. ",
                o->stream_seconds, grouped(o->hits + o->computed, a), grouped(p->windows, b));
    if (o->ring_removed == STASH_OK)
        fprintf(f, "The ring was removed and nothing was published.\n");
    else
        fprintf(f, "The ring could not be removed (%s); nothing was published.\n",
                stash_strerror(o->ring_removed));
}

static void summary_line(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                         const struct demo_verification *v)
{
    char a[32], b[32];
    if (o->signal != 0)
        stopped_line(f, p, o);
    else if (o->failure != NULL)
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
    if (o->signal == 0 && o->ring_removed != STASH_OK)
        fprintf(f, "The ring %s could not be removed: %s.\n", p->ring_name,
                stash_strerror(o->ring_removed));
}

static void write_report(FILE *f, const struct demo_plan *p, const struct demo_outcome *o,
                         const struct demo_verification *v, bool publishing)
{
    char why[64];
    fprintf(f, "# stash demo%s%s\n\n", publishing ? "" : ": ",
            publishing ? "" : ending(o, why));
    fprintf(f, "%u channels of float32 (known sines plus noise, %d Hz nominal) streamed by one "
               "acquisition process to %u analysis processes.\n\n",
            p->o->channels, DEMO_RATE_HZ, p->o->workers);
    fputs("| | |\n|---|---|\n", f);
    streamed_rows(f, p, o);
    store_row(f, p, o);
    files_row(f, p, o, publishing);
    verification_row(f, p, o, v);
    summary_line(f, p, o, v);
}

/* The report, as text in a new memory file. */
static stash_status make_report(const struct demo_plan *p, const struct demo_outcome *o,
                                const struct demo_verification *v, bool publishing,
                                stash_memfile **report)
{
    FILE *f;
    stash_status st = stash_memfile_create("demo-report", NULL, report);
    if (st == STASH_OK && (st = stash_memfile_fopen(*report, "w", &f)) == STASH_OK) {
        write_report(f, p, o, v, publishing);
        st = fclose(f) == 0 ? STASH_OK : -errno;
    }
    if (st != STASH_OK)
        stash_memfile_close(report);
    return st;
}

/* nco.h names an NCO file's index "<path>.stashidx". */
static void index_path(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s.stashidx", path);
}

/* The staging file and its index, if they are still there. */
static void remove_staging(const struct demo_outcome *o)
{
    char index[4300];
    index_path(o->staging_path, index, sizeof index);
    unlink(o->staging_path);
    unlink(index);
}

/*
 * The verified staging file becomes the features, and the report is saved
 * beside them. The old report goes first: a run killed between the steps
 * leaves no report, or the old one with the old features, never a report
 * beside features it does not describe.
 */
static stash_status publish(struct demo_outcome *o, stash_memfile *report,
                            const char **step)
{
    void *data;
    uint64_t size;
    char from[4300], to[4300];
    stash_status st = stash_memfile_data(report, &data, &size);
    *step = "reading the report back";
    if (st != STASH_OK)
        return st;
    *step = "removing the old report";
    if (unlink(o->report_path) != 0 && errno != ENOENT)
        return -errno;
    *step = "renaming the verified features into place";
    if (rename(o->staging_path, o->features_path) != 0)
        return -errno;
    o->features_published = true;
    /* The index names its file by inode, size and time, which a rename keeps: it moves along. */
    index_path(o->staging_path, from, sizeof from);
    index_path(o->features_path, to, sizeof to);
    if (rename(from, to) != 0)
        unlink(to); /* the old file's, stale now */
    *step = "saving the report";
    return save_file(o->report_path, &(struct iovec){data, (size_t)size}, 1);
}

static void print_report(FILE *out, stash_memfile *report)
{
    void *data;
    uint64_t size;
    if (stash_memfile_data(report, &data, &size) == STASH_OK) {
        fputc('\n', out);
        fwrite(data, 1, (size_t)size, out);
        fflush(out);
    }
}

/* One line on stderr for a run that did not publish, whatever stdout is. */
static void say_why(const struct demo_outcome *o, const struct demo_verification *v)
{
    char name[16];
    if (o->signal != 0)
        fprintf(stderr, "stash demo: interrupted by %s; nothing published\n",
                demo_signal_name(o->signal, name));
    else if (o->failure != NULL)
        fprintf(stderr, "stash demo: FAILED: %s%s\n", o->failure,
                o->features_published ? "" : "; nothing published");
    else if (!demo_verification_passed(v))
        fprintf(stderr, "stash demo: FAILED: the features do not verify; nothing published\n");
}

int demo_conclude(FILE *out, const struct demo_plan *p, struct demo_outcome *o,
                  const struct demo_verification *v)
{
    bool publishing = o->signal == 0 && o->failure == NULL && demo_verification_passed(v);
    stash_memfile *report = NULL;
    const char *step = "making the report";
    stash_status st = make_report(p, o, v, publishing, &report);
    if (st == STASH_OK && publishing)
        st = publish(o, report, &step);
    if (st != STASH_OK && publishing) {
        snprintf(o->failure_text, sizeof o->failure_text, "publishing: %s: %s", step,
                 stash_strerror(st));
        o->failure = o->failure_text;
        publishing = false;
        stash_memfile_close(&report);
        st = make_report(p, o, v, false, &report);
    }
    remove_staging(o);
    if (st == STASH_OK)
        print_report(out, report);
    else
        fprintf(stderr, "stash demo: making the report: %s\n", stash_strerror(st));
    stash_memfile_close(&report);
    if (!publishing)
        say_why(o, v);
    return o->signal ? 128 + o->signal : publishing && st == STASH_OK ? 0 : 1;
}
