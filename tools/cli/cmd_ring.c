/*
 * stash ring create | info | write | read | ls | rm | publish | subscribe:
 * shared rings from the shell.
 *
 * Frames cross the command line raw: write takes little-endian frames on
 * stdin, read gives a window of them on stdout, so any program that can
 * write bytes can feed a ring, and any that can read them can follow one.
 * publish and subscribe carry a ring to another machine (stash/relay.h).
 */
#include "commands.h"
#include "json_out.h"
#include "options.h"
#include "describe.h"

#include <stash/relay.h>
#include <stash/ring.h>
#include <stash/value.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WHO "stash ring"
/* write reads stdin this much at a time, rounded down to whole frames. */
#define CHUNK_BYTES (1u << 20)
/* A line naming a ring: its name or path (at most 4095 bytes) and a few words. */
#define RING_LINE_MAX 4224

static int fail(const char *what, stash_status status)
{
    fprintf(stderr, WHO ": %s: %s\n", what, stash_strerror(status));
    return 1;
}

/* fail, for a status about the ring name: which rule a bad name breaks; no such ring. */
static int fail_ring(const char *name, stash_status status)
{
    const char *problem = stash_ring_name_problem(name);
    if (status == STASH_E_INVALID && problem)
        fprintf(stderr, WHO ": %s: not a ring name: %s\n", name, problem);
    else if (status == STASH_E_NOT_FOUND)
        fprintf(stderr, WHO ": %s: no such ring\n", name);
    else
        return fail(name, status);
    return 1;
}

/* One line saying what is wrong with the command line; exit code 2 (options.h). */
#define usage_error(...) cli_usage_error(WHO, "ring", __VA_ARGS__)

/* ---- The command line: a verb, one NAME, and the options the verb allows ------------ */

enum option { CHANNELS, CAPACITY, DTYPE, RATE, LABELS, UNITS, MODE, POCKET, JSON, FIRST, END,
              WAIT, STALE, CHUNK, HWM, TIMEOUT, SECRET_KEY_FILE, SERVER_KEY, OPTION_COUNT };
#define BIT(option) (1u << (option))
#define FLAG_OPTIONS (BIT(POCKET) | BIT(JSON) | BIT(STALE)) /* the options that take no value */

static const char *const option_names[OPTION_COUNT] = {
    "--channels", "--capacity", "--dtype", "--rate", "--labels", "--units", "--mode",
    "--pocket",   "--json",     "--first", "--end",  "--wait",   "--stale",
    "--chunk",    "--hwm",      "--timeout", "--curve-secret-key-file", "--curve-server-key",
};

struct ring_args {
    const char *name;
    const char *endpoint; /* publish and subscribe */
    const char *value[OPTION_COUNT]; /* NULL where not given */
    unsigned given;                  /* BIT(option) for each option given */
};

/* A finite real number >= 0 ("1000", "0.25", "2e3"). */
static bool parse_real(const char *text, double *x)
{
    if ((text[0] < '0' || text[0] > '9') && text[0] != '.')
        return false;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end || !isfinite(value))
        return false;
    *x = value;
    return true;
}

static bool u64_option(const struct ring_args *a, enum option opt, uint64_t min, uint64_t max,
                       uint64_t *n)
{
    if (parse_u64(a->value[opt], n) && *n >= min && *n <= max)
        return true;
    if (max == UINT64_MAX)
        usage_error("%s: '%s' is not a whole number >= %llu", option_names[opt], a->value[opt],
                    (unsigned long long)min);
    else
        usage_error("%s: '%s' is not a whole number from %llu to %llu", option_names[opt],
                    a->value[opt], (unsigned long long)min, (unsigned long long)max);
    return false;
}

/*
 * --labels or --units: channels strings split at commas, in one allocation
 * (the pointers, then a copy of the text they point into), or NULL if not
 * given. 0, or the exit code after a one-line error.
 */
static int split_list(const struct ring_args *a, enum option opt, uint32_t channels,
                      const char ***list)
{
    const char *text = a->value[opt];
    *list = NULL;
    if (text == NULL)
        return 0;
    size_t commas = 0;
    for (const char *p = text; *p; p++)
        commas += *p == ',';
    if (commas + 1 != channels)
        return usage_error("%s: %zu names for %u channels", option_names[opt], commas + 1,
                           (unsigned)channels);
    size_t len = strlen(text);
    const char **strings = malloc(channels * sizeof *strings + len + 1);
    if (strings == NULL)
        return fail(option_names[opt], -ENOMEM);
    char *copy = memcpy((char *)(strings + channels), text, len + 1);
    for (uint32_t i = 0; i < channels; i++) {
        char *comma = strchr(copy, ',');
        if (comma)
            *comma = '\0';
        strings[i] = copy;
        if (strlen(copy) > STASH_RING_LABEL_MAX) {
            free(strings);
            return usage_error("%s: a name is longer than %u bytes", option_names[opt],
                               STASH_RING_LABEL_MAX);
        }
        copy += strlen(copy) + 1;
    }
    *list = strings;
    return 0;
}

/* ---- create -------------------------------------------------------------------------- */

/* Why a ring came out in the pocket layout, and what would have mapped mirrored. */
static void explain_pocket(const char *name, const stash_ring_info *info)
{
    uint64_t granule;
    if (stash_ring_granule_samples(info->channels, info->dtype, &granule) != STASH_OK)
        return;
    uint64_t capacity = info->capacity_samples;
    if (capacity % granule)
        fprintf(stderr,
                WHO ": %s: uses the pocket layout (the data held twice): capacities that are "
                    "multiples of %llu samples, such as %llu, map mirrored\n",
                name, (unsigned long long)granule,
                (unsigned long long)((capacity / granule + 1) * granule));
    else
        fprintf(stderr,
                WHO ": %s: uses the pocket layout (the data held twice): this system refused "
                    "the mirrored mapping\n",
                name);
}

static int create_ring(const char *name, const stash_ring_config *cfg)
{
    stash_ring *ring;
    stash_status status = stash_ring_create(name, cfg, &ring);
    if (status == STASH_E_NOT_FOUND) {
        fprintf(stderr, WHO ": %s: no such directory to create the ring in\n", name);
        return 1;
    }
    if (status == STASH_E_INVALID)
        return fail_ring(name, status);
    if (status == STASH_E_RANGE) {
        fprintf(stderr,
                WHO ": %s: too large: %u channels of %s x %llu samples (a ring holds at most "
                    "1 TiB of data and 16 MiB of labels and units)\n",
                name, (unsigned)cfg->channels, stash_dtype_name(cfg->dtype),
                (unsigned long long)cfg->capacity_samples);
        return 1;
    }
    if (status != STASH_OK)
        return fail(name, status);
    stash_ring_info info;
    bool forced = cfg->flags & STASH_RING_FORCE_POCKET;
    if (!forced && stash_ring_info_get(ring, &info) == STASH_OK &&
        info.mapping == STASH_RING_POCKET)
        explain_pocket(name, &info);
    stash_ring_close(&ring);
    return 0;
}

static int create(const struct ring_args *a)
{
    uint64_t channels, capacity, mode = 0;
    /* No writer claims the ring yet: readers started next wait for the first one. */
    stash_ring_config cfg = {.flags = STASH_RING_NO_WRITER |
                                      (a->given & BIT(POCKET) ? STASH_RING_FORCE_POCKET : 0)};
    if (!u64_option(a, CHANNELS, 1, STASH_RING_MAX_CHANNELS, &channels) ||
        !u64_option(a, CAPACITY, 1, UINT64_MAX, &capacity))
        return 2;
    if (stash_dtype_from_name(a->value[DTYPE], &cfg.dtype) != STASH_OK)
        return usage_error("--dtype: '%s' is not a NumPy dtype name (float32, int16, uint8, ...)",
                           a->value[DTYPE]);
    if (a->value[RATE] && !parse_real(a->value[RATE], &cfg.rate_hz))
        return usage_error("--rate: '%s' is not a rate in Hz (a number >= 0)", a->value[RATE]);
    if (a->value[MODE]) {
        char *end;
        mode = strtoul(a->value[MODE], &end, 8);
        if (a->value[MODE][0] < '0' || a->value[MODE][0] > '7' || *end || mode > 0777)
            return usage_error("--mode: '%s' is not permission bits in octal (0600, 0640, ...)",
                               a->value[MODE]);
        if ((mode & 0600) != 0600) /* the writer reads and writes; and 0 would mean 0600 */
            return usage_error("--mode: %s does not let the owner read and write", a->value[MODE]);
    }
    cfg.channels = (uint32_t)channels;
    cfg.capacity_samples = capacity;
    cfg.mode = (unsigned)mode;
    const char **labels = NULL, **units = NULL;
    int rc = split_list(a, LABELS, cfg.channels, &labels);
    if (rc == 0)
        rc = split_list(a, UNITS, cfg.channels, &units);
    if (rc == 0) {
        cfg.labels = labels;
        cfg.units = units;
        rc = create_ring(a->name, &cfg);
    }
    free(labels);
    free(units);
    return rc;
}

/* ---- info ---------------------------------------------------------------------------- */

/* A list of labels or units for people: comma-separated, control characters escaped. */
static void print_strings(const char *key, const char *const *strings, uint32_t n)
{
    bool any = false;
    for (uint32_t i = 0; i < n && !any; i++)
        any = strings[i][0] != '\0';
    printf("%-18s%s", key, any ? "" : "(none)");
    for (uint32_t i = 0; i < n && any; i++) {
        if (i)
            putchar(',');
        for (const unsigned char *p = (const unsigned char *)strings[i]; *p; p++) {
            if (*p < 0x20 || *p == 0x7f)
                printf("\\x%02x", *p);
            else
                putchar(*p);
        }
    }
    putchar('\n');
}

static void print_text(const stash_ring_info *info)
{
    printf("channels:         %u\n"
           "dtype:            %s\n"
           "capacity_samples: %llu\n"
           "frame_bytes:      %zu\n"
           "rate_hz:          %.15g\n"
           "mapping:          %s\n"
           "written_samples:  %llu\n"
           "readable_from:    %llu\n"
           "writer_attached:  %s\n"
           "writer_pid:       %d\n"
           "writer_sessions:  %u\n",
           (unsigned)info->channels, stash_dtype_name(info->dtype),
           (unsigned long long)info->capacity_samples, info->frame_bytes, info->rate_hz,
           stash_ring_mapping_name(info->mapping), (unsigned long long)info->written_samples,
           (unsigned long long)info->readable_from, info->writer_attached ? "yes" : "no",
           (int)info->writer_pid, (unsigned)info->writer_sessions);
    print_strings("labels:", info->labels, info->channels);
    print_strings("units:", info->units, info->channels);
}

static stash_status print_json(const stash_ring_info *info)
{
    stash_value *o = json_out_object();
    stash_status st = STASH_OK;
    json_out_add(o, "channels", json_out_uint(info->channels), &st);
    json_out_add(o, "dtype", json_out_string(stash_dtype_name(info->dtype)), &st);
    json_out_add(o, "capacity_samples", json_out_uint(info->capacity_samples), &st);
    json_out_add(o, "frame_bytes", json_out_uint(info->frame_bytes), &st);
    json_out_add(o, "rate_hz", json_out_float(info->rate_hz), &st);
    json_out_add(o, "mapping", json_out_string(stash_ring_mapping_name(info->mapping)), &st);
    json_out_add(o, "written_samples", json_out_uint(info->written_samples), &st);
    json_out_add(o, "readable_from", json_out_uint(info->readable_from), &st);
    json_out_add(o, "writer_attached", json_out_bool(info->writer_attached), &st);
    json_out_add(o, "writer_pid", json_out_int(info->writer_pid), &st);
    json_out_add(o, "writer_sessions", json_out_uint(info->writer_sessions), &st);
    json_out_add(o, "labels", json_out_strings(info->labels, info->channels), &st);
    json_out_add(o, "units", json_out_strings(info->units, info->channels), &st);
    return json_out_print(&o, st);
}

static int info(const struct ring_args *a)
{
    stash_ring *ring;
    stash_ring_info info;
    stash_status status = stash_ring_attach(a->name, 0, &ring);
    if (status != STASH_OK)
        return fail_ring(a->name, status);
    status = stash_ring_info_get(ring, &info);
    if (status == STASH_OK && (a->given & BIT(JSON)))
        status = print_json(&info);
    else if (status == STASH_OK)
        print_text(&info);
    stash_ring_close(&ring); /* after printing: the strings belong to the handle */
    return status == STASH_OK ? 0 : fail(a->name, status);
}

/* ---- write --------------------------------------------------------------------------- */

/* Says who holds the writer's claim, if a reader can tell. */
static int writer_busy(const char *name)
{
    stash_ring *ring;
    stash_ring_info info;
    int32_t pid = 0;
    if (stash_ring_attach(name, 0, &ring) == STASH_OK) {
        if (stash_ring_info_get(ring, &info) == STASH_OK && info.writer_attached)
            pid = info.writer_pid;
        stash_ring_close(&ring);
    }
    if (pid)
        fprintf(stderr, WHO ": %s: another writer is attached (pid %d)\n", name, (int)pid);
    else
        fprintf(stderr, WHO ": %s: another writer is attached, or the ring is being created\n",
                name);
    return 1;
}

/*
 * Puts stdin's whole frames as they come: read(2) rather than fread, so a
 * slow producer's frames are published at once instead of a chunk later.
 */
static int put_stdin(stash_ring *ring, const char *name, size_t frame)
{
    size_t chunk = CHUNK_BYTES / frame * frame; /* a frame is at most 1 MiB */
    size_t held = 0;                            /* bytes at buf's start, less than a frame */
    unsigned char *buf = malloc(chunk);
    if (buf == NULL)
        return fail(name, -ENOMEM);
    int rc = 0;
    for (;;) {
        ssize_t got = read(STDIN_FILENO, buf + held, chunk - held);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = fail("stdin", -errno);
        if (got <= 0)
            break;
        held += (size_t)got;
        size_t whole = held / frame;
        stash_status status = stash_ring_put(ring, buf, whole);
        if (status != STASH_OK) {
            rc = fail(name, status);
            break;
        }
        held -= whole * frame;
        memmove(buf, buf + whole * frame, held);
    }
    if (rc == 0 && held) {
        fprintf(stderr,
                WHO ": %s: %zu bytes left over at the end of the input, not a whole frame of "
                    "%zu bytes\n",
                name, held, frame);
        rc = 1;
    }
    free(buf);
    return rc;
}

static int write_frames(const struct ring_args *a)
{
    stash_ring *ring;
    stash_status status = stash_ring_attach(a->name, STASH_RING_WRITER, &ring);
    if (status == STASH_E_BUSY)
        return writer_busy(a->name);
    if (status != STASH_OK)
        return fail_ring(a->name, status);
    stash_ring_info info;
    status = stash_ring_info_get(ring, &info);
    int rc = status == STASH_OK ? put_stdin(ring, a->name, info.frame_bytes)
                                : fail(a->name, status);
    stash_ring_close(&ring);
    return rc;
}

/* ---- read ---------------------------------------------------------------------------- */

/*
 * SIGINT and SIGTERM while read waits: say so, and exit 130 or 143 at once
 * (nothing has reached stdout yet). The lines are made before the handler
 * is installed, so it only writes and exits.
 */
static char interrupted_line[RING_LINE_MAX], terminated_line[RING_LINE_MAX];

static void on_stop_signal(int sig)
{
    const char *line = sig == SIGINT ? interrupted_line : terminated_line;
    ssize_t ignored = write(STDERR_FILENO, line, strlen(line));
    (void)ignored;
    _exit(128 + sig);
}

static void catch_stop_signals(const char *name)
{
    snprintf(interrupted_line, sizeof interrupted_line, WHO ": %s: interrupted\n", name);
    snprintf(terminated_line, sizeof terminated_line, WHO ": %s: terminated\n", name);
    int signals[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old, sa = {.sa_handler = on_stop_signal};
        sigemptyset(&sa.sa_mask);
        /* A signal ignored (a background job of a script, nohup) stays ignored. */
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(signals[i], &sa, NULL);
    }
}

static int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The timeout left until deadline_ns (-1: none), never negative. */
static int64_t left_until(int64_t deadline_ns)
{
    if (deadline_ns < 0)
        return -1;
    int64_t left = deadline_ns - monotonic_ns();
    return left > 0 ? left : 0;
}

/* Attaches to name as a reader, waiting until deadline_ns for it to be created. */
static int attach_waiting(const char *name, int64_t deadline_ns, double seconds, stash_ring **ring)
{
    stash_status status = stash_ring_attach_wait(name, 0, left_until(deadline_ns), ring);
    if (status == STASH_E_TIMEOUT)
        fprintf(stderr, WHO ": %s: timed out after %g s waiting for the ring to be created\n",
                name, seconds);
    else if (status != STASH_OK)
        return fail_ring(name, status);
    return status == STASH_OK ? 0 : 1;
}

/* Waits until deadline_ns for sample end - 1; 0, or 1 after a one-line error. */
static int wait_for(const stash_ring *ring, const char *name, uint64_t end, int64_t deadline_ns)
{
    stash_status status = stash_ring_wait(ring, end, left_until(deadline_ns), 0);
    unsigned long long last = (unsigned long long)end - 1;
    unsigned long long written = (unsigned long long)stash_ring_written(ring);
    stash_ring_info info;
    if (status == STASH_E_TIMEOUT) {
        /* A wait that began after the writer left waits for the next one: say so. */
        bool writerless = stash_ring_info_get(ring, &info) == STASH_OK && !info.writer_attached;
        fprintf(stderr, WHO ": %s: timed out waiting for sample %llu (written: %llu%s)\n", name,
                last, written, writerless ? "; no writer is attached" : "");
    } else if (status == STASH_E_WRITER_GONE)
        fprintf(stderr,
                WHO ": %s: the writer has gone before sample %llu was written (written: %llu)\n",
                name, last, written);
    else if (status != STASH_OK)
        return fail(name, status);
    return status == STASH_OK ? 0 : 1;
}

/* Copies the whole window, so what reaches stdout was all valid at once, or nothing does. */
static int copy_out(const stash_ring *ring, const char *name, uint64_t first, uint64_t end,
                    size_t frame)
{
    size_t bytes = (size_t)(end - first) * frame; /* at most the ring's data, 1 TiB */
    void *buf = malloc(bytes ? bytes : 1);
    if (buf == NULL)
        return fail(name, -ENOMEM);
    stash_status status = stash_ring_copy(ring, first, end, buf);
    stash_ring_info info;
    if (status == STASH_E_OVERWRITTEN && stash_ring_info_get(ring, &info) == STASH_OK)
        fprintf(stderr,
                WHO ": %s: samples %llu..%llu were overwritten (the oldest readable is %llu)\n",
                name, (unsigned long long)first, (unsigned long long)end - 1,
                (unsigned long long)info.readable_from);
    else if (status == STASH_E_NOT_WRITTEN)
        fprintf(stderr, WHO ": %s: samples up to %llu are not written yet (written: %llu)\n", name,
                (unsigned long long)end - 1, (unsigned long long)stash_ring_written(ring));
    else if (status != STASH_OK)
        fail(name, status);
    int rc = status == STASH_OK ? 0 : 1;
    if (rc == 0 && (fwrite(buf, 1, bytes, stdout) != bytes || fflush(stdout) != 0))
        rc = fail("stdout", errno ? -errno : -EIO);
    free(buf);
    return rc;
}

/* The window's limits against the ring's capacity: 0, or 1 after a one-line error. */
static int check_window(const stash_ring_info *info, const char *name, uint64_t first,
                        uint64_t end)
{
    if (first > end)
        fprintf(stderr, WHO ": %s: --first %llu is after --end %llu\n", name,
                (unsigned long long)first, (unsigned long long)end);
    else if (end - first > info->capacity_samples)
        fprintf(stderr,
                WHO ": %s: the window %llu..%llu is %llu samples, more than the capacity of %llu\n",
                name, (unsigned long long)first, (unsigned long long)end - 1,
                (unsigned long long)(end - first), (unsigned long long)info->capacity_samples);
    else
        return 0;
    return 1;
}

static int read_window(const struct ring_args *a)
{
    uint64_t first, end;
    double seconds = 0;
    if (!u64_option(a, FIRST, 0, UINT64_MAX, &first) || !u64_option(a, END, 0, UINT64_MAX, &end))
        return 2;
    if (a->value[WAIT] && !parse_real(a->value[WAIT], &seconds))
        return usage_error("--wait: '%s' is not a number of seconds", a->value[WAIT]);
    bool wait = a->value[WAIT] != NULL;
    /* One deadline for the ring to appear and the samples to come; 9e9 s (285 years): none. */
    int64_t deadline = !wait || seconds >= 9e9 ? -1 : monotonic_ns() + (int64_t)(seconds * 1e9);
    stash_ring *ring;
    int rc;
    if (wait) {
        catch_stop_signals(a->name);
        rc = attach_waiting(a->name, deadline, seconds, &ring);
    } else {
        stash_status status = stash_ring_attach(a->name, 0, &ring);
        rc = status == STASH_OK ? 0 : fail_ring(a->name, status);
    }
    if (rc != 0)
        return rc;
    stash_ring_info info;
    stash_status status = stash_ring_info_get(ring, &info);
    if (status != STASH_OK)
        rc = fail(a->name, status);
    if (rc == 0)
        rc = check_window(&info, a->name, first, end);
    if (rc == 0 && wait)
        rc = wait_for(ring, a->name, end, deadline);
    if (rc == 0)
        rc = copy_out(ring, a->name, first, end, info.frame_bytes);
    stash_ring_close(&ring);
    return rc;
}

/* ---- ls and rm: the rings in a directory, and which are stale ------------------------- */

#define SHM_DIR "/dev/shm"

/* A ring found by ls: its name for the other verbs, and what stat said. */
struct ring_row {
    char *name;
    stash_status status; /* STASH_OK, or why the ring could not be read (shown) */
    stash_ring_status ring;
};

struct ring_rows {
    struct ring_row *row;
    size_t count, cap;
};

/* True if name (given with a '/') is a directory: then ls and rm --stale look inside. */
static bool is_directory(const char *name)
{
    struct stat st;
    return strchr(name, '/') && stat(name, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True for "/dev/shm", "/dev/shm/", ...: where a bare name lives. */
static bool is_shm_dir(const char *dir)
{
    size_t len = strlen(SHM_DIR);
    return strncmp(dir, SHM_DIR, len) == 0 && strspn(dir + len, "/") == strlen(dir + len);
}

/* The name of entry in dir: the bare name for /dev/shm (if it is a valid one), else a path. */
static char *entry_name(const char *dir, const char *entry)
{
    bool shm = is_shm_dir(dir) && stash_ring_name_problem(entry) == NULL;
    size_t len = strlen(dir);
    const char *slash = len && dir[len - 1] == '/' ? "" : "/";
    size_t bytes = len + strlen(entry) + 2;
    char *name = malloc(bytes);
    if (name && shm)
        snprintf(name, bytes, "%s", entry);
    else if (name)
        snprintf(name, bytes, "%s%s%s", dir, slash, entry);
    return name;
}

/* Adds name's row if it is a ring: a damaged or newer one is shown, anything else skipped. */
static stash_status add_row(struct ring_rows *rows, char *name)
{
    stash_ring_status ring;
    stash_status status = stash_ring_stat(name, &ring);
    bool shown = status == STASH_OK || status == STASH_E_VERSION || status == STASH_E_TRUNCATED;
    if (!shown) {
        free(name); /* not a ring, not readable, or gone since the listing */
        return STASH_OK;
    }
    if (rows->count == rows->cap) {
        size_t cap = rows->cap ? 2 * rows->cap : 16;
        struct ring_row *more = realloc(rows->row, cap * sizeof *more);
        if (more == NULL) {
            free(name);
            return -ENOMEM;
        }
        rows->row = more;
        rows->cap = cap;
    }
    rows->row[rows->count++] = (struct ring_row){.name = name, .status = status, .ring = ring};
    return STASH_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ring_row *)a)->name, ((const struct ring_row *)b)->name);
}

/* The rings in dir, sorted by name. Entries starting with '.' are skipped (temporaries). */
static stash_status find_rings(const char *dir, struct ring_rows *rows)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    stash_status st = STASH_OK;
    struct dirent *e;
    while (st == STASH_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN))
            continue;
        char *name = entry_name(dir, e->d_name);
        st = name ? add_row(rows, name) : -ENOMEM;
    }
    closedir(d);
    if (rows->count)
        qsort(rows->row, rows->count, sizeof *rows->row, by_name);
    return st;
}

static void free_rows(struct ring_rows *rows)
{
    for (size_t i = 0; i < rows->count; i++)
        free(rows->row[i].name);
    free(rows->row);
}

/* What ls looks at: the rings in /dev/shm, in a directory, or one ring. 0, or 1 after an error. */
static int gather(const char *name, struct ring_rows *rows)
{
    const char *dir = name == NULL ? SHM_DIR : is_directory(name) ? name : NULL;
    stash_status st;
    if (dir != NULL) {
        st = find_rings(dir, rows);
        return st == STASH_OK ? 0 : fail(dir, st);
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return fail(name, -ENOMEM);
    struct ring_row row = {.name = copy};
    row.status = stash_ring_stat(name, &row.ring);
    if (row.status != STASH_OK && row.status != STASH_E_VERSION &&
        row.status != STASH_E_TRUNCATED) {
        free(copy);
        return fail_ring(name, row.status);
    }
    rows->row = malloc(sizeof *rows->row);
    if (rows->row == NULL) {
        free(copy);
        return fail(name, -ENOMEM);
    }
    rows->row[0] = row;
    rows->count = rows->cap = 1;
    return 0;
}

static const char *writer_word(stash_ring_writer writer)
{
    static const char *const words[] = {"none", "alive", "closed", "dead"};
    return (unsigned)writer < 4 ? words[writer] : "unknown";
}

static double age_seconds(const stash_ring_status *ring)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double age = (double)now.tv_sec + now.tv_nsec * 1e-9 - (double)ring->created_unix_ns * 1e-9;
    return age > 0 ? age : 0;
}

/* "42s", "5m02s", "3h07m", "2d04h": an age for people. */
static void format_age(double seconds, char *out, size_t cap)
{
    unsigned long long s = (unsigned long long)seconds;
    if (s < 60)
        snprintf(out, cap, "%llus", s);
    else if (s < 3600)
        snprintf(out, cap, "%llum%02llus", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, cap, "%lluh%02llum", s / 3600, s / 60 % 60);
    else
        snprintf(out, cap, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

/* "16.0 MiB": a size for people. */
static void format_bytes(uint64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)bytes;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, cap, "%.1f %s", x, units[u]);
}

static void print_row_text(const struct ring_row *row)
{
    const stash_ring_status *r = &row->ring;
    if (row->status != STASH_OK) {
        printf("%-24s damaged: %s\n", row->name, stash_strerror(row->status));
        return;
    }
    char writer[48], geometry[96], size[32], age[32];
    if (r->writer == STASH_RING_WRITER_NONE_YET)
        snprintf(writer, sizeof writer, "none yet");
    else
        snprintf(writer, sizeof writer, "%s, pid %d", writer_word(r->writer), (int)r->writer_pid);
    snprintf(geometry, sizeof geometry, "%u x %s x %llu %s", (unsigned)r->channels,
             stash_dtype_name(r->dtype), (unsigned long long)r->capacity_samples,
             stash_ring_mapping_name(r->mapping));
    format_bytes(r->object_bytes, size, sizeof size);
    format_age(age_seconds(r), age, sizeof age);
    printf("%-24s %-18s %7u  %-32s %10s %7s%s\n", row->name, writer, (unsigned)r->readers,
           geometry, size, age, r->stale ? "  stale" : "");
}

static stash_value *row_json(const struct ring_row *row, stash_status *st)
{
    const stash_ring_status *r = &row->ring;
    stash_value *o = json_out_object();
    json_out_add(o, "name", json_out_string(row->name), st);
    if (row->status != STASH_OK) {
        json_out_add(o, "error", json_out_string(stash_strerror(row->status)), st);
        return o;
    }
    json_out_add(o, "writer", json_out_string(writer_word(r->writer)), st);
    json_out_add(o, "writer_pid", json_out_int(r->writer_pid), st);
    json_out_add(o, "readers", json_out_uint(r->readers), st);
    json_out_add(o, "stale", json_out_bool(r->stale), st);
    json_out_add(o, "channels", json_out_uint(r->channels), st);
    json_out_add(o, "dtype", json_out_string(stash_dtype_name(r->dtype)), st);
    json_out_add(o, "capacity_samples", json_out_uint(r->capacity_samples), st);
    json_out_add(o, "frame_bytes", json_out_uint(r->frame_bytes), st);
    json_out_add(o, "rate_hz", json_out_float(r->rate_hz), st);
    json_out_add(o, "mapping", json_out_string(stash_ring_mapping_name(r->mapping)), st);
    json_out_add(o, "object_bytes", json_out_uint(r->object_bytes), st);
    json_out_add(o, "written_samples", json_out_uint(r->written_samples), st);
    json_out_add(o, "created_unix_ns", json_out_uint(r->created_unix_ns), st);
    json_out_add(o, "age_seconds", json_out_float(age_seconds(r)), st);
    return o;
}

static int ls(const struct ring_args *a)
{
    struct ring_rows rows = {0};
    int rc = gather(a->name, &rows);
    if (rc == 0 && (a->given & BIT(JSON))) {
        stash_value *list = json_out_list();
        stash_status st = STASH_OK;
        for (size_t i = 0; i < rows.count; i++)
            json_out_add(list, NULL, row_json(&rows.row[i], &st), &st);
        st = json_out_print(&list, st);
        rc = st == STASH_OK ? 0 : fail("--json", st);
    } else if (rc == 0) {
        if (rows.count)
            printf("%-24s %-18s %7s  %-32s %10s %7s\n", "NAME", "WRITER", "READERS",
                   "CHANNELS x DTYPE x CAPACITY", "SIZE", "AGE");
        for (size_t i = 0; i < rows.count; i++)
            print_row_text(&rows.row[i]);
    }
    free_rows(&rows);
    return rc;
}

/* Removes one ring if stale; why not otherwise. 0 removed, 1 not. */
static int remove_if_stale(const char *name, bool quiet_if_used)
{
    stash_status status = stash_ring_remove_stale(name);
    if (status == STASH_OK) {
        printf("removed %s\n", name);
        return 0;
    }
    stash_ring_status ring;
    if (status == STASH_E_BUSY && quiet_if_used)
        return 1;
    if (status == STASH_E_BUSY && stash_ring_stat(name, &ring) == STASH_OK) {
        if (ring.writer == STASH_RING_WRITER_ALIVE)
            fprintf(stderr, WHO ": %s: not stale: its writer (pid %d) is alive\n", name,
                    (int)ring.writer_pid);
        else
            fprintf(stderr, WHO ": %s: not stale: %u reader%s attached\n", name,
                    (unsigned)ring.readers, ring.readers == 1 ? " is" : "s are");
        return 1;
    }
    return fail_ring(name, status);
}

/* rm --stale: one ring, or every stale ring in /dev/shm or a directory. */
static int rm_stale(const char *name)
{
    if (name != NULL && !is_directory(name))
        return remove_if_stale(name, false);
    struct ring_rows rows = {0};
    int rc = gather(name, &rows);
    for (size_t i = 0; rc == 0 && i < rows.count; i++)
        if (rows.row[i].status == STASH_OK && rows.row[i].ring.stale)
            remove_if_stale(rows.row[i].name, true); /* in use again since: it stays */
    free_rows(&rows);
    return rc;
}

static int rm(const struct ring_args *a)
{
    if (a->given & BIT(STALE))
        return rm_stale(a->name);
    if (a->name == NULL)
        return usage_error("rm needs a NAME (or --stale)");
    stash_status status = stash_ring_remove(a->name);
    return status == STASH_OK ? 0 : fail_ring(a->name, status);
}

/* ---- publish and subscribe: a ring followed over ZeroMQ (stash/relay.h) ---------------- */

/* The relay a signal stops: set before the handlers are installed, read by them. */
static stash_relay *volatile running_relay;

static void on_relay_signal(int sig)
{
    (void)sig;
    stash_relay *relay = running_relay;
    if (relay) /* async-signal-safe; run returns and the stats print */
        stash_relay_stop(relay);
}

static void stop_relay_on_signals(stash_relay *relay)
{
    running_relay = relay;
    int signals[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old, sa = {.sa_handler = on_relay_signal};
        sigemptyset(&sa.sa_mask);
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(signals[i], &sa, NULL);
    }
}

/* --mode of publish and subscribe: 0, or the exit code after a usage error. */
static int relay_mode(const struct ring_args *a, stash_relay_mode *mode)
{
    const char *text = a->value[MODE];
    if (text == NULL || strcmp(text, "pubsub") == 0)
        *mode = STASH_RELAY_PUBSUB;
    else if (strcmp(text, "pushpull") == 0)
        *mode = STASH_RELAY_PUSHPULL;
    else
        return usage_error("--mode: '%s' is neither pubsub nor pushpull", text);
    return 0;
}

/*
 * The publisher's CURVE secret key, from --curve-secret-key-file or the
 * environment's STASH_RELAY_SECRET_KEY, never from the command line, which
 * every user of the machine can read in the process list. 0, or the exit code.
 */
static int secret_key(const struct ring_args *a, char key[STASH_RELAY_KEY_CHARS + 1],
                      const char **out)
{
    const char *path = a->value[SECRET_KEY_FILE];
    const char *env = getenv("STASH_RELAY_SECRET_KEY");
    *out = NULL;
    if (path == NULL && (env == NULL || env[0] == '\0'))
        return 0;
    if (path == NULL) {
        if (strlen(env) != STASH_RELAY_KEY_CHARS)
            return usage_error("STASH_RELAY_SECRET_KEY: not a Z85 key of %u characters",
                               STASH_RELAY_KEY_CHARS);
        memcpy(key, env, STASH_RELAY_KEY_CHARS + 1);
        *out = key;
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail(path, -errno);
    char line[STASH_RELAY_KEY_CHARS + 3]; /* the key, a newline, and one byte too many */
    size_t got = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
        got--;
    if (got != STASH_RELAY_KEY_CHARS) {
        fprintf(stderr, WHO ": %s: not a Z85 key of %u characters on one line\n", path,
                STASH_RELAY_KEY_CHARS);
        return 1;
    }
    memcpy(key, line, STASH_RELAY_KEY_CHARS);
    key[STASH_RELAY_KEY_CHARS] = '\0';
    *out = key;
    return 0;
}

/* The stats, and why the run ended, as one JSON object on stdout. */
static stash_status print_relay_stats(const stash_relay_stats *s, const char *end)
{
    stash_value *o = json_out_object();
    stash_status st = STASH_OK;
    json_out_add(o, "end", json_out_string(end), &st);
    json_out_add(o, "messages", json_out_uint(s->messages), &st);
    json_out_add(o, "samples", json_out_uint(s->samples), &st);
    json_out_add(o, "bytes", json_out_uint(s->bytes), &st);
    json_out_add(o, "gaps", json_out_uint(s->gaps), &st);
    json_out_add(o, "samples_lost", json_out_uint(s->samples_lost), &st);
    json_out_add(o, "rejected", json_out_uint(s->rejected), &st);
    json_out_add(o, "next_sample", json_out_uint(s->next_sample), &st);
    json_out_add(o, "writer_session", json_out_uint(s->writer_session), &st);
    json_out_add(o, "last_rejected",
                 json_out_string(s->last_rejected ? stash_status_name(s->last_rejected) : ""),
                 &st);
    return json_out_print(&o, st);
}

/*
 * Runs an open relay until a signal stops it or its source has gone, then
 * prints its stats; both ends are a success. Closes the relay.
 */
static int run_relay(stash_relay *relay, const char *who)
{
    stop_relay_on_signals(relay);
    stash_status status = stash_relay_run(relay, -1);
    stash_relay_stats stats;
    stash_status got = stash_relay_stats_get(relay, &stats);
    int rc = 0;
    if (status == STASH_E_WRITER_GONE)
        fprintf(stderr, WHO ": %s: the source has gone\n", who);
    else if (status != STASH_OK)
        rc = fail(who, status);
    if (got == STASH_OK) {
        got = print_relay_stats(&stats, status == STASH_OK ? "stopped" : status ==
                                STASH_E_WRITER_GONE ? "source gone" : "failed");
    }
    if (got != STASH_OK && rc == 0)
        rc = fail("stats", got);
    running_relay = NULL; /* before the close: a signal now has nothing to stop */
    stash_status closed = stash_relay_close(&relay);
    if (closed != STASH_OK && rc == 0)
        rc = fail(who, closed);
    return rc;
}

/* Why publish or subscribe could not start, in one line. */
static int relay_open_failed(const struct ring_args *a, stash_status status, double timeout_s)
{
    if (status == STASH_E_UNAVAILABLE)
        fprintf(stderr, WHO ": %s: cannot bind or reach this endpoint\n", a->endpoint);
    else if (status == STASH_E_INVALID && stash_ring_name_problem(a->name) == NULL)
        fprintf(stderr, WHO ": %s: not a ZeroMQ endpoint (tcp://HOST:PORT, ipc:///PATH), or "
                        "bad CURVE keys\n", a->endpoint);
    else if (status == STASH_E_TIMEOUT)
        fprintf(stderr, WHO ": %s: no publisher's metadata within %g s\n", a->endpoint,
                timeout_s);
    else if (status == STASH_E_SHAPE)
        fprintf(stderr, WHO ": %s: exists with another geometry than the publisher's ring\n",
                a->name);
    else if (status == STASH_E_BUSY)
        return writer_busy(a->name);
    else
        return fail_ring(a->name, status);
    return 1;
}

/* --chunk, --hwm and --timeout: 0, or the exit code after a usage error. */
static int relay_numbers(const struct ring_args *a, stash_relay_config *cfg, double *timeout_s)
{
    uint64_t n;
    if (a->value[CHUNK]) {
        if (!u64_option(a, CHUNK, 1, UINT32_MAX, &n))
            return 2;
        cfg->chunk_samples = (uint32_t)n;
    }
    if (a->value[HWM]) {
        if (!u64_option(a, HWM, 1, INT32_MAX, &n))
            return 2;
        cfg->high_water_mark = (int)n;
    }
    if (a->value[CAPACITY]) {
        if (!u64_option(a, CAPACITY, 1, UINT64_MAX, &n))
            return 2;
        cfg->capacity_samples = n;
    }
    *timeout_s = 2;
    if (a->value[TIMEOUT]) {
        if (!parse_real(a->value[TIMEOUT], timeout_s) || *timeout_s <= 0 || *timeout_s > 9e9)
            return usage_error("--timeout: '%s' is not a number of seconds > 0",
                               a->value[TIMEOUT]);
        cfg->source_timeout_ns = (int64_t)(*timeout_s * 1e9);
        if (cfg->source_timeout_ns == 0)
            cfg->source_timeout_ns = 1;
    }
    return relay_mode(a, &cfg->mode);
}

static int publish(const struct ring_args *a)
{
    stash_relay_config cfg = {0};
    char key[STASH_RELAY_KEY_CHARS + 1];
    double unused;
    int rc = relay_numbers(a, &cfg, &unused);
    if (rc == 0)
        rc = secret_key(a, key, &cfg.server_secret_key);
    if (rc != 0)
        return rc;
    stash_relay *relay;
    stash_status status = stash_relay_publish(a->name, a->endpoint, &cfg, &relay);
    memset(key, 0, sizeof key); /* the relay has its copy */
    if (status != STASH_OK)
        return relay_open_failed(a, status, 0);
    return run_relay(relay, a->name);
}

static int subscribe(const struct ring_args *a)
{
    stash_relay_config cfg = {0};
    double timeout_s;
    int rc = relay_numbers(a, &cfg, &timeout_s);
    if (rc != 0)
        return rc;
    const char *server_key = a->value[SERVER_KEY];
    if (server_key && strlen(server_key) != STASH_RELAY_KEY_CHARS)
        return usage_error("--curve-server-key: not a Z85 public key of %u characters",
                           STASH_RELAY_KEY_CHARS);
    cfg.server_public_key = server_key; /* public: no secret in the process list */
    if (stash_ring_name_problem(a->name)) /* said now, not after the publisher's metadata */
        return fail_ring(a->name, STASH_E_INVALID);
    stash_relay *relay;
    stash_status status = stash_relay_subscribe(a->endpoint, a->name, &cfg, &relay);
    if (status != STASH_OK)
        return relay_open_failed(a, status, timeout_s);
    return run_relay(relay, a->endpoint);
}

static const struct verb {
    const char *name;
    unsigned allowed, required; /* BIT(option)s */
    bool name_optional;
    int (*run)(const struct ring_args *a);
    enum { ARGS_NAME, ARGS_NAME_ENDPOINT, ARGS_ENDPOINT_NAME } args; /* the positional ones */
} verbs[] = {
    {"create",
     BIT(CHANNELS) | BIT(CAPACITY) | BIT(DTYPE) | BIT(RATE) | BIT(LABELS) | BIT(UNITS) |
         BIT(MODE) | BIT(POCKET),
     BIT(CHANNELS) | BIT(CAPACITY) | BIT(DTYPE), false, create, ARGS_NAME},
    {"info", BIT(JSON), 0, false, info, ARGS_NAME},
    {"write", 0, 0, false, write_frames, ARGS_NAME},
    {"read", BIT(FIRST) | BIT(END) | BIT(WAIT), BIT(FIRST) | BIT(END), false, read_window,
     ARGS_NAME},
    {"ls", BIT(JSON), 0, true, ls, ARGS_NAME},
    {"rm", BIT(STALE), 0, true, rm, ARGS_NAME},
    {"publish", BIT(MODE) | BIT(CHUNK) | BIT(HWM) | BIT(SECRET_KEY_FILE), 0, false, publish,
     ARGS_NAME_ENDPOINT},
    {"subscribe", BIT(MODE) | BIT(CAPACITY) | BIT(TIMEOUT) | BIT(SERVER_KEY), 0, false,
     subscribe, ARGS_ENDPOINT_NAME},
};

static int find_option(const char *arg)
{
    for (int i = 0; i < OPTION_COUNT; i++)
        if (strcmp(arg, option_names[i]) == 0)
            return i;
    return -1;
}

/* The positional arguments a verb takes, as its usage names them. */
static const char *verb_words(const struct verb *verb)
{
    static const char *const words[] = {"one NAME", "NAME ENDPOINT", "ENDPOINT NAME"};
    return words[verb->args];
}

/* True if the option at argv[i] is followed by its value, not by the end or another option. */
static bool has_value(int argc, char **argv, int i)
{
    return i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0;
}

static int run(int argc, char **argv)
{
    const struct verb *verb = NULL;
    for (size_t i = 0; argc > 1 && i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            verb = &verbs[i];
    if (verb == NULL) {
        fputs(cmd_ring.usage, stderr);
        return 2;
    }
    struct ring_args a = {0};
    const char *words[2] = {NULL, NULL}; /* NAME, or NAME and ENDPOINT in the verb's order */
    int arity = verb->args == ARGS_NAME ? 1 : 2, count = 0;
    for (int i = 2; i < argc; i++) {
        int opt = find_option(argv[i]);
        if (opt < 0 && argv[i][0] == '-')
            return usage_error("%s: unknown option %s", verb->name, argv[i]);
        if (opt < 0 && count == arity)
            return usage_error("%s takes %s, not also '%s'", verb->name, verb_words(verb),
                               argv[i]);
        if (opt < 0)
            words[count++] = argv[i];
        else if (!(verb->allowed & BIT(opt)))
            return usage_error("%s takes no %s", verb->name, argv[i]);
        else if (!(FLAG_OPTIONS & BIT(opt)) && !has_value(argc, argv, i))
            return usage_error("%s needs a value", argv[i]);
        else if (!(FLAG_OPTIONS & BIT(opt)))
            a.value[opt] = argv[++i];
        a.given |= opt < 0 ? 0 : BIT(opt);
    }
    if (count < arity && !verb->name_optional)
        return usage_error("%s needs %s", verb->name,
                           arity == 1 ? "a NAME" : verb_words(verb));
    bool endpoint_first = verb->args == ARGS_ENDPOINT_NAME;
    a.name = words[endpoint_first];
    a.endpoint = arity == 2 ? words[!endpoint_first] : NULL;
    for (int opt = 0; opt < OPTION_COUNT; opt++)
        if ((verb->required & BIT(opt)) && !(a.given & BIT(opt)))
            return usage_error("%s needs %s", verb->name, option_names[opt]);
    return verb->run(&a);
}

/*
 * The help text is longer than the 4095 bytes ISO C requires a compiler to
 * take in one string; gcc and clang, the compilers stash builds with, take
 * any length.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
const struct stash_command cmd_ring = {
    .name = "ring",
    .summary = "create, inspect, feed and read rings of samples shared between processes",
    .usage =
        "usage: stash ring create NAME --channels C --capacity N --dtype T [--rate HZ]\n"
        "                         [--labels A,B,...] [--units U,V,...] [--mode 0640] [--pocket]\n"
        "       stash ring info NAME [--json]\n"
        "       stash ring write NAME < FRAMES\n"
        "       stash ring read NAME --first S --end E [--wait SECONDS] > FRAMES\n"
        "       stash ring ls [DIR | NAME] [--json]\n"
        "       stash ring rm NAME\n"
        "       stash ring rm --stale [DIR | NAME]\n"
        "       stash ring publish NAME ENDPOINT [--mode pubsub|pushpull] [--chunk N]\n"
        "                          [--hwm N] [--curve-secret-key-file FILE]\n"
        "       stash ring subscribe ENDPOINT NAME [--mode pubsub|pushpull] [--capacity N]\n"
        "                            [--timeout SECONDS] [--curve-server-key KEY]\n\n"
        "A ring keeps the last N samples of C channels for one writer and any\n"
        "number of readers. A NAME without a \"/\", or with one \"/\" in front only\n"
        "(\"eeg\" or \"/eeg\"), is POSIX shared memory, /dev/shm/eeg: 1 to 200 of\n"
        "[A-Za-z0-9._-], not starting with \".\". A NAME with a \"/\" anywhere else is\n"
        "a file at that path. Samples are numbered from 0 (a copy made by\n"
        "subscribe: as its source) and the numbers never wrap. FRAMES are raw\n"
        "little-endian frames: one sample of every channel, C x the size of T\n"
        "bytes.\n\n"
        "A ring outlives its processes: it holds its memory until it is removed,\n"
        "even after its writer and readers have exited or been killed.\n\n"
        "create  makes the ring, mode 0600 unless --mode; T is a NumPy name (float32,\n"
        "        int16, ...). --rate is the nominal sample rate for readers, --labels\n"
        "        and --units give one name per channel. --pocket keeps the data twice\n"
        "        even where it could be mapped mirrored (see the note create prints).\n"
        "info    prints the geometry, how far the ring is written, what can still be\n"
        "        read, and its writer; --json prints one JSON object instead.\n"
        "write   becomes the ring's only writer and puts the frames on stdin until\n"
        "        EOF. A second writer is refused while one is attached.\n"
        "read    writes samples S to E-1 to stdout, all or nothing; samples already\n"
        "        overwritten or not yet written are an error. --wait first waits up to\n"
        "        SECONDS for the ring to be created and for sample E-1: it fails at\n"
        "        once if the writer it saw leaves, and waits for a writer to come if\n"
        "        none is attached. SIGINT or SIGTERM while it waits says so and exits\n"
        "        130 or 143.\n"
        "ls      lists the rings in /dev/shm (or in DIR, given with a \"/\", or just\n"
        "        NAME): the writer (alive, dead: killed without closing, closed, or\n"
        "        none yet) and its pid, the reader handles attached now in any\n"
        "        process, the geometry, the memory held, the age, and \"stale\" when\n"
        "        no live process uses the ring. --json prints a JSON list.\n"
        "rm      removes the name; processes attached keep the ring until they leave.\n"
        "        It refuses to remove anything that is not a ring. --stale removes\n"
        "        only stale rings: every one in /dev/shm (or DIR), or NAME if it is\n"
        "        stale, and never one a live process has attached, even one that\n"
        "        attaches meanwhile. A ring made by `create` is stale until a\n"
        "        writer or reader attaches.\n"
        "publish relays the ring NAME to other machines over ZeroMQ: it binds\n"
        "        ENDPOINT (tcp://HOST:PORT, ipc:///PATH) and sends every sample from\n"
        "        the current one on, with its sample number, as an ordinary reader, so\n"
        "        a slow network never slows the writer; when the writer laps it, it\n"
        "        sends a gap and goes on. --mode pubsub (the default) fans out to any\n"
        "        number of subscribers and drops what a slow one cannot take (they\n"
        "        see it); pushpull has one subscriber and waits for it. --chunk is the\n"
        "        most samples per message, --hwm the messages ZeroMQ queues per peer.\n"
        "        With CURVE encryption, the secret key (40 characters of Z85) comes\n"
        "        from --curve-secret-key-file or the environment's\n"
        "        STASH_RELAY_SECRET_KEY, never from the command line, which every user\n"
        "        can read in the process list.\n"
        "subscribe\n"
        "        connects to a publisher at ENDPOINT and writes what it sends into\n"
        "        the ring NAME, created with the publisher's geometry (--capacity:\n"
        "        another capacity) or taken over if it exists and matches. Sample k\n"
        "        there is sample k on the publisher's ring; lost samples are a gap\n"
        "        that readers see as overwritten, never as zeros. --timeout is the\n"
        "        silence after which the source counts as gone (default 2 s); the\n"
        "        publisher's public key --curve-server-key turns CURVE on.\n"
        "        Both run until SIGINT or SIGTERM, or until the source has gone (the\n"
        "        publisher's ring's writer, or the publisher), then print their counts\n"
        "        as one JSON object: end (\"stopped\" or \"source gone\"), messages,\n"
        "        samples, bytes, gaps, samples_lost, rejected (malformed messages),\n"
        "        next_sample, writer_session and last_rejected (the status name of the\n"
        "        last message refused, \"\" if none). A publisher whose ring's writer\n"
        "        left sends goodbye and ends: start it again for a new writer.\n\n"
        "Exit status: 0 on success, 1 after a one-line error, 2 for bad usage.\n\n"
        "example:\n"
        "  $ stash ring create eeg --channels 3 --capacity 4096 --dtype float32 \\\n"
        "        --rate 1000 --labels Fz,Cz,Pz --units uV,uV,uV\n"
        "  $ acquire --raw | stash ring write eeg &\n"
        "  $ stash ring read eeg --first 1000 --end 2000 --wait 5 > window.f32\n"
        "  $ stash ring info eeg\n"
        "  channels:         3\n"
        "  dtype:            float32\n"
        "  capacity_samples: 4096\n"
        "  frame_bytes:      12\n"
        "  rate_hz:          1000\n"
        "  mapping:          mirrored\n"
        "  written_samples:  5000\n"
        "  readable_from:    904\n"
        "  writer_attached:  yes\n"
        "  writer_pid:       4242\n"
        "  writer_sessions:  2\n"
        "  labels:           Fz,Cz,Pz\n"
        "  units:            uV,uV,uV\n"
        "  $ stash ring ls\n"
        "  NAME                     WRITER             READERS  CHANNELS x DTYPE x CAPACITY"
        "            SIZE     AGE\n"
        "  eeg                      alive, pid 4242          1  3 x float32 x 4096 mirrored"
        "        52.0 KiB   2m10s\n"
        "  $ stash ring publish eeg tcp://*:5555 &               # on the recording machine\n"
        "  $ stash ring subscribe tcp://rec:5555 eeg &           # on the analysis machine\n"
        "  $ kill -INT %1\n"
        "  {\"end\":\"stopped\",\"messages\":5120,\"samples\":163840,...}\n"
        "  $ stash ring rm eeg\n",
    .run = run,
};
#pragma GCC diagnostic pop
