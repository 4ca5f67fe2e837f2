/*
 * stash bench: runs the benchmarks of each part, prints their tables as they
 * come, and writes the report page (docs/benchmarks.md for a full run): the
 * machine, a summary of targets met and missed per part, then every table.
 *
 * The tables are gathered in a stash memory file while they run; the page is
 * written once they are all done, aside and renamed, so an interrupted run
 * leaves the previous page whole.
 */
#include "bench_memfile.h"
#include "bench_nco.h"
#include "bench_python.h"
#include "bench_ring.h"
#include "bench_store.h"
#include "bench_streams.h"
#include "bench_util.h"
#include "commands.h"
#include "options.h"
#include "save.h"

#include <stash/memfile.h>
#include <stash/version.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_REPORT "docs/benchmarks.md"

struct bench_part {
    const char *name, *title;
    void (*run)(struct bench_config *c);
};

static const struct bench_part parts[] = {
    {"streams", "Streams and storages", bench_streams},
    {"memfile", "Memory files", bench_memfile},
    {"nco", "Cache objects (NPY, NCO)", bench_nco},
    {"store", "Result store", bench_store},
    {"ring", "Shared ring", bench_ring},
    {"python", "Python package", bench_python_package},
};
#define PART_COUNT (sizeof parts / sizeof parts[0])

struct bench_options {
    bool quick;
    const char *scratch_dir;
    const char *report_path; /* NULL: no page */
    bool selected[PART_COUNT];
    bool some_selected;
};

struct part_outcome {
    bool ran;
    unsigned met, missed;
    double seconds;
};

static int parse(int argc, char **argv, struct bench_options *o)
{
    bool report_given = false;
    for (int i = 1; i < argc; i++) {
        size_t p = 0;
        while (p < PART_COUNT && strcmp(parts[p].name, argv[i]) != 0)
            p++;
        if (p < PART_COUNT) {
            o->selected[p] = o->some_selected = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            o->scratch_dir = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            o->report_path = argv[++i];
            report_given = true;
        } else if (strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--out") == 0) {
            return cli_usage_error("stash bench", "bench", "%s needs a value", argv[i]);
        } else if (strcmp(argv[i], "--json") == 0) {
            return cli_usage_error("stash bench", "bench",
                                   "--json is not an option of bench (it writes Markdown)");
        } else {
            return cli_usage_error("stash bench", "bench", "%s %s",
                                   argv[i][0] == '-' ? "unknown option" : "no part named",
                                   argv[i]);
        }
    }
    if (!report_given && !o->quick && !o->some_selected)
        o->report_path = DEFAULT_REPORT;
    for (size_t p = 0; p < PART_COUNT && !o->some_selected; p++)
        o->selected[p] = true;
    return 0;
}

/* ---- The page ------------------------------------------------------------------------- */

/* The CPU's name from /proc/cpuinfo, or "unknown CPU". */
static void cpu_name(char *buf, size_t size)
{
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(buf, size, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL)
        fclose(f);
}

/* The first line of a sysfs file, without its newline; false if there is none. */
static bool read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    bool ok = f != NULL && fgets(buf, (int)size, f) != NULL;
    if (f != NULL)
        fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

/* CPU 0's caches from sysfs, e.g. "L1d 32K, L1i 32K, L2 512K, L3 32768K (shared by CPUs 0-1)". */
static void cache_sizes(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 8; i++) {
        char dir[96], path[128], level[16], type[32], bytes[32], shared[64];
        snprintf(dir, sizeof dir, "/sys/devices/system/cpu/cpu0/cache/index%d", i);
        snprintf(path, sizeof path, "%s/level", dir);
        if (!read_line(path, level, sizeof level))
            break;
        snprintf(path, sizeof path, "%s/type", dir);
        if (!read_line(path, type, sizeof type))
            snprintf(type, sizeof type, "?");
        snprintf(path, sizeof path, "%s/size", dir);
        if (!read_line(path, bytes, sizeof bytes))
            snprintf(bytes, sizeof bytes, "?");
        snprintf(path, sizeof path, "%s/shared_cpu_list", dir);
        bool is_shared = read_line(path, shared, sizeof shared) && strpbrk(shared, ",-");
        const char *kind = strcmp(type, "Data") == 0          ? "d"
                           : strcmp(type, "Instruction") == 0 ? "i"
                                                              : "";
        int n = snprintf(buf + used, size - used, "%sL%s%s %s%s%s%s", used ? ", " : "", level,
                         kind, bytes, is_shared ? " (shared by CPUs " : "",
                         is_shared ? shared : "", is_shared ? ")" : "");
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, size, "cache sizes unknown");
}

/* The machine in one line: CPU model, CPUs online, caches, kernel and compiler. */
static void describe_machine(char *buf, size_t size)
{
    char cpu[256], caches[512];
    struct utsname u;
    cpu_name(cpu, sizeof cpu);
    cache_sizes(caches, sizeof caches);
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "unknown");
    snprintf(buf, size, "%s, %ld CPUs online; caches of CPU 0: %s; Linux %s; built with %s", cpu,
             sysconf(_SC_NPROCESSORS_ONLN), caches, u.release, __VERSION__);
}

static void write_header(FILE *f, const struct bench_options *o)
{
    char machine[1024], date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    describe_machine(machine, sizeof machine);
    fprintf(f,
            "# Benchmarks\n\n"
            "Written by `stash bench%s` (stash %s) on %s.\n\n"
            "**Machine:** %s.\n\n",
            o->quick ? " --quick" : "", stash_version_string(), date, machine);
    if (o->quick)
        fputs("**A quick run: smoke figures on small inputs, no verdicts.** Only a full run "
              "(`stash bench`, on an otherwise idle machine) holds figures to their targets.\n\n",
              f);
    fprintf(f,
            "Every target is a ratio to a baseline that is the limit of the same operation, "
            "measured in the same run on the same machine (each table says which in one line): "
            "a bare transfer through shared memory for the ring, the bare system calls for "
            "opening a file, raw `read()` of the same chunk size for streams, a bare `memcpy` "
            "for memory. A machine that is faster or slower moves the figure and its baseline "
            "together, so the ratio holds. Stash and its baseline run interleaved, in rounds "
            "(%d unless the table says otherwise); a ratio is the median of the rounds' ratios, "
            "with their spread (min-max) beside it. Absolute figures and budgets are only "
            "indicative. Peer libraries (NumPy, h5py, "
            "joblib, Python) have rows of their own: they say where stash stands for a user. "
            "`stash bench` rewrites this page; `stash bench PART` prints one part's tables "
            "without touching it.\n\n",
            BENCH_ROUNDS);
}

static void write_summary(FILE *f, const struct bench_options *o,
                          const struct part_outcome *outcomes)
{
    unsigned met = 0, missed = 0;
    if (o->quick) { /* no verdicts: only the parts and their times */
        fputs("| part | time |\n|---|---|\n", f);
        for (size_t p = 0; p < PART_COUNT; p++)
            if (outcomes[p].ran)
                fprintf(f, "| [%s](#%s) | %.0f s |\n", parts[p].title, parts[p].name,
                        outcomes[p].seconds);
        return;
    }
    fputs("| part | targets met | missed | time |\n|---|---|---|---|\n", f);
    for (size_t p = 0; p < PART_COUNT; p++) {
        if (!outcomes[p].ran)
            continue;
        fprintf(f, "| [%s](#%s) | %u | %s%u%s | %.0f s |\n", parts[p].title, parts[p].name,
                outcomes[p].met, outcomes[p].missed ? "**" : "", outcomes[p].missed,
                outcomes[p].missed ? "**" : "", outcomes[p].seconds);
        met += outcomes[p].met;
        missed += outcomes[p].missed;
    }
    fprintf(f, "| all | %u | %u | |\n", met, missed);
}

/* The header, the summary and the tables, published over path (tools/save.h). */
static int write_page(const char *path, const struct bench_options *o,
                      const struct part_outcome *outcomes, const void *tables, size_t len)
{
    char *head = NULL;
    size_t head_len = 0;
    FILE *f = open_memstream(&head, &head_len);
    if (f == NULL)
        return -errno;
    write_header(f, o);
    write_summary(f, o, outcomes);
    int err = fclose(f) == 0 ? 0 : -ENOMEM;
    if (err == 0) {
        struct iovec page[2] = {{head, head_len}, {(void *)tables, len}};
        err = save_file(path, page, 2);
    }
    free(head);
    return err;
}

/* "docs" for "docs/benchmarks.md", "." for "benchmarks.md". */
static void directory_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, size, ".");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path > 0 ? slash - path : 1), path);
}

/* ---- The run -------------------------------------------------------------------------- */

static void run_parts(struct bench_config *c, const struct bench_options *o,
                      struct part_outcome *outcomes)
{
    for (size_t p = 0; p < PART_COUNT; p++) {
        if (!o->selected[p])
            continue;
        unsigned met = c->met, missed = c->missed;
        double started = bench_seconds();
        /* An anchor for the summary's links. */
        bench_printf(c, "\n<a id=\"%s\"></a>\n", parts[p].name);
        parts[p].run(c);
        outcomes[p] = (struct part_outcome){true, c->met - met, c->missed - missed,
                                            bench_seconds() - started};
    }
}

/* The scratch directory must be a directory this process can create files in. */
static int check_scratch_dir(const char *dir)
{
    struct stat st;
    int err = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
    if (err == 0 && access(dir, W_OK | X_OK) != 0)
        err = errno;
    if (err != 0)
        fprintf(stderr, "stash bench: --dir %s: %s\n", dir, strerror(err));
    return err == 0 ? 0 : 1;
}

static int run(int argc, char **argv)
{
    struct bench_options o = {.scratch_dir = "."};
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (check_scratch_dir(o.scratch_dir) != 0)
        return 1;
    /* The page on stdout: the running tables go to stderr. Plots go beside a
     * page that is a file, never beside stdout or a device (/dev/null). */
    bool page_to_stdout = o.report_path != NULL && strcmp(o.report_path, "-") == 0;
    struct stat page;
    bool plots = o.report_path != NULL && !page_to_stdout &&
                 (stat(o.report_path, &page) != 0 || S_ISREG(page.st_mode));
    FILE *console = page_to_stdout ? stderr : stdout;
    struct bench_config c = {.out = console, .scratch_dir = o.scratch_dir, .quick = o.quick};
    struct part_outcome outcomes[PART_COUNT] = {{0}};
    stash_memfile *tables = NULL;
    char plot_dir[4096] = ".";
    if (o.report_path != NULL) {
        if (plots)
            directory_of(o.report_path, plot_dir, sizeof plot_dir);
        stash_status st = stash_memfile_create("bench-report", NULL, &tables);
        if (st == STASH_OK)
            st = stash_memfile_fopen(tables, "w", &c.report);
        if (st != STASH_OK || (mkdir(plot_dir, 0777) != 0 && errno != EEXIST)) {
            fprintf(stderr, "stash bench: cannot prepare %s: %s\n", o.report_path,
                    st != STASH_OK ? stash_strerror(st) : strerror(errno));
            stash_memfile_close(&tables);
            return 1;
        }
        c.plot_dir = plots ? plot_dir : NULL;
    }
    char machine[1024];
    describe_machine(machine, sizeof machine);
    fprintf(console, "## stash benchmarks%s\n\n%s\n",
            o.quick ? " (quick run: smoke figures, no verdicts)" : "", machine);
    run_parts(&c, &o, outcomes);
    if (o.quick)
        fprintf(console, "\nquick run: smoke figures, no verdicts\n");
    else
        fprintf(console, "\ntargets met: %u, missed: %u\n", c.met, c.missed);
    if (c.failed != 0) { /* a page with holes is no report: keep the old one */
        fprintf(stderr, "stash bench: %u setup%s or measurement%s failed (see above)%s\n",
                c.failed, c.failed == 1 ? "" : "s", c.failed == 1 ? "" : "s",
                tables ? "; the report was not written" : "");
        if (c.report)
            fclose(c.report);
        stash_memfile_close(&tables);
        return 1;
    }
    if (tables == NULL)
        return 0;
    void *data;
    uint64_t len;
    int written = fclose(c.report) == 0 ? 0 : -EIO;
    if (written == 0 && stash_memfile_data(tables, &data, &len) == STASH_OK)
        written = write_page(o.report_path, &o, outcomes, data, (size_t)len);
    stash_memfile_close(&tables);
    if (written != 0) {
        fprintf(stderr, "stash bench: writing %s: %s\n", o.report_path, stash_strerror(written));
        return 1;
    }
    if (!page_to_stdout)
        printf("wrote %s\n", o.report_path);
    return 0;
}

const struct stash_command cmd_bench = {
    .name = "bench",
    .summary = "run the benchmarks and write docs/benchmarks.md",
    .usage = "usage: stash bench [PART...] [--quick] [--dir DIR] [--out FILE|-]\n\n"
             "Runs the benchmarks of the named parts (default: all; parts: streams, memfile,\n"
             "nco, store, ring, python) and prints one Markdown table per measure: each\n"
             "figure beside a baseline measured in the same run (the limit of the same\n"
             "operation), their ratio (the median of interleaved rounds, with its spread),\n"
             "the target and whether it was met. A full run (no PART, no --quick) also\n"
             "writes the page docs/benchmarks.md, with the machine, a summary per part and\n"
             "plots (PNG, drawn by gnuplot) beside it; --out FILE writes the page to FILE\n"
             "instead (a symlink's target is replaced, a FIFO or device written into:\n"
             "--out /dev/null writes none), and --out - writes it to standard output, the\n"
             "tables going to stderr, no plots.\n"
             "--quick uses small inputs and prints smoke figures with no verdicts (what CI\n"
             "runs); --dir puts scratch files in DIR (default .).\n"
             "A setup or measurement that fails is reported on stderr, never as a row,\n"
             "and makes the command exit 1 (without writing the page).\n"
             "A full run wants an otherwise idle machine.\n\n"
             "examples:\n"
             "  $ stash bench                    # everything, and docs/benchmarks.md\n"
             "  $ stash bench ring --quick       # one part, small, printed only\n"
             "  $ stash bench --quick --out /tmp/bench.md\n",
    .run = run,
};
