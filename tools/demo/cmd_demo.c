/*
 * stash demo: the whole pipeline, end to end (see demo.h for its shape).
 *
 * The parent sets up the ring, the store's address and two shared memory
 * files, forks the acquisition and analysis processes, shows their progress,
 * reaps them, removes the ring, then writes the features as an NCO file,
 * verifies them and concludes: publishes the features and the report, or,
 * for a run that failed or was interrupted, publishes nothing and prints
 * why (demo_report.h). Exit status: 0 when everything verifies, 1 when
 * anything fails, 2 for bad usage, 128 + the signal for SIGINT, SIGTERM, SIGHUP.
 */
#include "commands.h"
#include "demo.h"
#include "demo_report.h"
#include "demo_signal.h"
#include "demo_verify.h"
#include "describe.h"

#include <stash/memfile.h>
#include <stash/ring.h>
#include <stash/store.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS 50000000 /* the parent looks at its children this often */
/*
 * How long a stopping child may take before it is killed. Each polls the
 * stop flag at least every 100 ms; this covers a slow store put finishing.
 * A second signal kills at once.
 */
#define STOP_GRACE_SECONDS 5.0

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void demo_fail(struct demo_process_state *s, const char *what, int32_t status)
{
    snprintf(s->what, sizeof s->what, "%s", what);
    atomic_store_explicit(&s->status, status ? status : STASH_E_INVALID, memory_order_release);
}

/* ---- Options -------------------------------------------------------------------------- */

struct option_spec {
    const char *name;
    uint64_t min, max;
    size_t offset, size; /* of the field in struct demo_options */
};

#define OPTION(flag, field, lo, hi)                                                           \
    {flag, lo, hi, offsetof(struct demo_options, field), sizeof(((struct demo_options *)0)->field)}

static const struct option_spec numeric_options[] = {
    OPTION("--channels", channels, 1, 4096),
    OPTION("--samples", samples, 1, (uint64_t)1 << 40),
    OPTION("--window", window, 512, DEMO_MAX_WINDOW),
    OPTION("--hop", hop, 1, DEMO_MAX_WINDOW),
    OPTION("--workers", workers, 1, DEMO_MAX_WORKERS),
    OPTION("--ring", ring_samples, 1, (uint64_t)1 << 30),
    OPTION("--chunk", chunk, 1, 1 << 20),
};

static bool set_numeric(struct demo_options *o, const char *flag, const char *text)
{
    for (size_t i = 0; i < sizeof numeric_options / sizeof numeric_options[0]; i++) {
        const struct option_spec *spec = &numeric_options[i];
        uint64_t n;
        if (strcmp(flag, spec->name) != 0)
            continue;
        if (!parse_u64(text, &n) || n < spec->min || n > spec->max) {
            fprintf(stderr, "stash demo: %s wants a whole number from %llu to %llu\n", flag,
                    (unsigned long long)spec->min, (unsigned long long)spec->max);
            return false;
        }
        char *field = (char *)o + spec->offset;
        if (spec->size == sizeof(uint32_t))
            *(uint32_t *)field = (uint32_t)n;
        else
            *(uint64_t *)field = n;
        return true;
    }
    fprintf(stderr, "stash demo: unknown option '%s' (see stash demo --help)\n", flag);
    return false;
}

static int parse(int argc, char **argv, struct demo_options *o)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "stash demo: %s needs a value (see stash demo --help)\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--dir") == 0)
            o->dir = argv[i + 1];
        else if (strcmp(argv[i], "--store") == 0)
            o->store_uri = argv[i + 1];
        else if (!set_numeric(o, argv[i], argv[i + 1]))
            return 2;
    }
    if ((o->window & (o->window - 1)) != 0 || o->hop > o->window) {
        fprintf(stderr, "stash demo: --window must be a power of two, and --hop at most it\n");
        return 2;
    }
    if (o->samples < o->window) {
        fprintf(stderr, "stash demo: --samples must be at least one window (%u)\n", o->window);
        return 2;
    }
    return 0;
}

/* ---- Set-up --------------------------------------------------------------------------- */

struct demo_resources {
    stash_ring *ring; /* the parent's reader handle: the ring lives while it does */
    stash_memfile *control, *features;
    bool ring_named;
};

static stash_status create_ring(struct demo_plan *p, struct demo_resources *r)
{
    const struct demo_options *o = p->o;
    uint64_t granule;
    stash_status st = stash_ring_granule_samples(o->channels, STASH_DTYPE_FLOAT32, &granule);
    if (st != STASH_OK)
        return st;
    /* The writer holds back until the slowest reader's window is clear; it must fit. */
    uint64_t least = (uint64_t)o->window + o->chunk;
    uint64_t want = o->ring_samples > least ? o->ring_samples : least;
    stash_ring_config cfg = {.channels = o->channels,
                             .capacity_samples = (want + granule - 1) / granule * granule,
                             .dtype = STASH_DTYPE_FLOAT32,
                             .rate_hz = DEMO_RATE_HZ,
                             .flags = STASH_RING_NO_WRITER};
    snprintf(p->ring_name, sizeof p->ring_name, "stash-demo-%d", (int)getpid());
    st = stash_ring_create(p->ring_name, &cfg, &r->ring);
    r->ring_named = st == STASH_OK;
    stash_ring_info info;
    if (st == STASH_OK && (st = stash_ring_info_get(r->ring, &info)) == STASH_OK)
        p->ring_capacity_samples = info.capacity_samples; /* what every process must use */
    return st;
}

/* A shared memory file of size bytes; its view is inherited by the children. */
static stash_status shared_memory(const char *name, uint64_t size, stash_memfile **mf,
                                  void **view)
{
    uint64_t got;
    stash_status st = stash_memfile_create(name, NULL, mf);
    if (st == STASH_OK && (st = stash_memfile_truncate(*mf, size)) == STASH_OK)
        st = stash_memfile_data(*mf, view, &got);
    return st;
}

static stash_status set_up(struct demo_plan *p, struct demo_resources *r)
{
    const struct demo_options *o = p->o;
    void *view;
    p->windows = (o->samples - o->window) / o->hop + 1;
    stash_status st = create_ring(p, r);
    if (st != STASH_OK)
        return st;
    if ((st = shared_memory("demo-control", sizeof *p->shared, &r->control, &view)) != STASH_OK)
        return st;
    p->shared = view;
    demo_stop_on_signals(&p->shared->stop);
    uint64_t matrix_bytes = p->windows * o->channels * DEMO_BANDS * sizeof(double);
    if ((st = shared_memory("demo-features", matrix_bytes, &r->features, &view)) != STASH_OK)
        return st;
    p->matrix = view;
    return STASH_OK;
}

/* The ring goes as soon as the processes that use it are gone; STASH_OK once it has. */
static stash_status remove_ring(struct demo_plan *p, struct demo_resources *r)
{
    stash_ring_close(&r->ring); /* a no-op if closed already */
    if (!r->ring_named)
        return STASH_OK;
    stash_status st = stash_ring_remove(p->ring_name);
    /* Gone already is gone: -ENOENT, or STASH_E_NOT_FOUND where a missing ring says so. */
    r->ring_named = st != STASH_OK && st != -ENOENT && st != STASH_E_NOT_FOUND;
    return r->ring_named ? st : STASH_OK;
}

static void tear_down(struct demo_plan *p, struct demo_resources *r)
{
    remove_ring(p, r);
    demo_stop_on_signals(NULL); /* the control block is about to be unmapped */
    stash_memfile_close(&r->features);
    stash_memfile_close(&r->control);
}

/* ---- The processes -------------------------------------------------------------------- */

struct children {
    /* The acquisition process, then the analysts. */
    pid_t pid[1 + DEMO_MAX_WORKERS]; /* 0 once reaped */
    int status[1 + DEMO_MAX_WORKERS]; /* as waitpid gave it */
    bool killed[1 + DEMO_MAX_WORKERS]; /* by the parent, for not stopping in time */
    int count, running;
};

/* Forks the processes, unless the pipeline is already stopping; a child's exit status is its
 * body's, or 128 + the signal that stopped it. */
static int start(struct children *c, const struct demo_plan *p)
{
    pid_t parent = getpid();
    fflush(NULL);
    for (int i = 0; i < 1 + (int)p->o->workers && !demo_stopping(p); i++) {
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            demo_child_stops_with(parent);
            int rc = i == 0 ? demo_acquire(p) : demo_analyse(p, (uint32_t)i - 1);
            _exit(rc != 0 && demo_caught_signal() ? 128 + demo_caught_signal() : rc);
        }
        c->pid[c->count++] = pid;
        c->running++;
    }
    return 0;
}

static void reap(struct children *c, struct demo_plan *p)
{
    for (int i = 0; i < c->count; i++) {
        int status;
        if (c->pid[i] <= 0 || waitpid(c->pid[i], &status, WNOHANG) <= 0)
            continue;
        c->pid[i] = 0;
        c->status[i] = status;
        c->running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            atomic_store(&p->shared->stop, 1);
    }
}

static void kill_all(struct children *c)
{
    for (int i = 0; i < c->count; i++) {
        if (c->pid[i] > 0 && !c->killed[i]) {
            kill(c->pid[i], SIGKILL);
            c->killed[i] = true;
        }
    }
}

/*
 * Shows the progress until every child has exited. Once the pipeline is
 * stopping (a failure, a signal), children that have not stopped within
 * STOP_GRACE_SECONDS, or at once on a second signal, are killed.
 */
static void supervise(struct children *c, struct demo_plan *p, double started)
{
    bool tty = isatty(STDOUT_FILENO), stopping = false;
    double stopping_since = 0;
    while (c->running > 0) {
        reap(c, p);
        if (!stopping && demo_stopping(p)) {
            stopping = true;
            stopping_since = seconds();
        }
        if (stopping && (seconds() - stopping_since > STOP_GRACE_SECONDS ||
                         demo_caught_count() > 1))
            kill_all(c);
        demo_progress(stdout, tty, p, seconds() - started);
        if (c->running > 0)
            nanosleep(&(struct timespec){.tv_nsec = POLL_NS}, NULL);
    }
    demo_progress_end(stdout, tty, p);
}

/* ---- Outcome -------------------------------------------------------------------------- */

static stash_status count_entry(void *ctx, const char *key, uint64_t bytes)
{
    (void)key;
    (void)bytes;
    ++*(uint64_t *)ctx;
    return STASH_OK;
}

static uint64_t store_entries(const char *uri)
{
    stash_store *store;
    uint64_t n = 0;
    stash_store_options ro = {.flags = STASH_STORE_READ_ONLY};
    if (stash_store_open(uri, &ro, &store) != STASH_OK)
        return UINT64_MAX;
    if (stash_store_list(store, count_entry, &n) != STASH_OK)
        n = UINT64_MAX;
    stash_store_close(&store);
    return n;
}

static const char *process_name(int i, char buf[32])
{
    if (i == 0)
        return "the acquisition process";
    snprintf(buf, 32, "analysis process %d", i);
    return buf;
}

/* A signal from outside stopped child i: it was killed by one, or caught one and stopped. */
static int outside_signal(const struct children *c, int i)
{
    int status = c->status[i];
    if (WIFSIGNALED(status) && !c->killed[i])
        return WTERMSIG(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) > 128)
        return WEXITSTATUS(status) - 128;
    return 0;
}

/*
 * Why the children failed, as one line into buf, or NULL if none did: the
 * cause rather than its echoes. A process stopped by a signal from outside
 * comes first, then a failure a process recorded (not STASH_E_CLOSED, which
 * only says it stopped because another did), then one that would not stop.
 */
static const char *child_failure(const struct demo_plan *p, const struct children *c,
                                 char *buf, size_t size)
{
    char name[32], sig[16];
    for (int i = 0; i < c->count; i++) {
        int signo = outside_signal(c, i);
        if (signo != 0) {
            snprintf(buf, size, "%s was stopped by %s", process_name(i, name),
                     demo_signal_name(signo, sig));
            return buf;
        }
    }
    for (int i = 0; i < c->count; i++) {
        const struct demo_process_state *s =
            i == 0 ? &p->shared->acquire : &p->shared->workers[i - 1];
        int32_t st = atomic_load_explicit(&s->status, memory_order_acquire);
        if (st != 0 && st != STASH_E_CLOSED) {
            snprintf(buf, size, "%s: %s: %s", process_name(i, name), s->what, stash_strerror(st));
            return buf;
        }
    }
    for (int i = 0; i < c->count; i++) {
        if (c->killed[i]) {
            snprintf(buf, size, "%s did not stop within %.0f s and was killed",
                     process_name(i, name), STOP_GRACE_SECONDS);
            return buf;
        }
        if (!WIFEXITED(c->status[i]) || WEXITSTATUS(c->status[i]) != 0) {
            snprintf(buf, size, "%s exited with status %d", process_name(i, name),
                     WIFEXITED(c->status[i]) ? WEXITSTATUS(c->status[i]) : -1);
            return buf;
        }
    }
    return NULL;
}

/* What the processes did, from the ring and the control block, once they are gone. */
static void gather(struct demo_outcome *out, const struct demo_plan *p,
                   const struct demo_resources *r)
{
    stash_ring_info info;
    if (stash_ring_info_get(r->ring, &info) == STASH_OK) {
        out->ring_mapping = stash_ring_mapping_name(info.mapping);
        out->samples_streamed = info.written_samples;
    }
    out->acquire_waited_seconds = (double)atomic_load(&p->shared->acquire.waited_ns) * 1e-9;
    for (uint32_t k = 0; k < p->o->workers; k++) {
        const struct demo_process_state *w = &p->shared->workers[k];
        out->hits += atomic_load(&w->hits);
        out->computed += atomic_load(&w->computed);
        out->overwritten += atomic_load(&w->overwritten);
        out->repaired += atomic_load(&w->repaired);
    }
    out->store_entries = store_entries(p->store_uri);
}

/* ---- The run -------------------------------------------------------------------------- */

/* Writes the features aside (staging_path) and verifies them there, unless stopped. */
static void write_and_verify(struct demo_plan *p, struct demo_outcome *out,
                             struct demo_verification *v)
{
    stash_status st = demo_write_features(p, out->staging_path);
    if (st != STASH_OK) {
        snprintf(out->failure_text, sizeof out->failure_text, "writing the features: %s",
                 stash_strerror(st));
        out->failure = out->failure_text;
        return;
    }
    printf("  verifying %llu windows against a recomputation ...\n",
           (unsigned long long)p->windows);
    fflush(stdout);
    demo_verify(p, out->staging_path, v);
    struct stat sb;
    out->features_bytes = stat(out->staging_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Runs the processes to their end, then removes the ring: what they did, into out. */
static void stream_and_analyse(struct demo_plan *p, struct demo_resources *r,
                               struct demo_outcome *out)
{
    struct children c = {0};
    double started = seconds();
    int forked = start(&c, p);
    if (forked != 0)
        atomic_store(&p->shared->stop, 1);
    supervise(&c, p, started);
    out->stream_seconds = seconds() - started;
    gather(out, p, r);
    out->ring_removed = remove_ring(p, r);
    if (forked != 0) {
        snprintf(out->failure_text, sizeof out->failure_text, "fork: %s",
                 stash_strerror(forked));
        out->failure = out->failure_text;
    } else {
        out->failure = child_failure(p, &c, out->failure_text, sizeof out->failure_text);
    }
}

static int run_pipeline(struct demo_plan *p, struct demo_outcome *out)
{
    struct demo_resources r = {0};
    stash_status st = set_up(p, &r);
    if (st != STASH_OK) {
        fprintf(stderr, "stash demo: setting up the ring and shared memory: %s\n",
                stash_strerror(st));
        tear_down(p, &r);
        return demo_caught_signal() ? 128 + demo_caught_signal() : 1;
    }
    printf("stash demo: %u channels x %llu samples into a shared ring; %u analysis "
           "processes; results memoised in %s\n",
           p->o->channels, (unsigned long long)p->o->samples, p->o->workers, p->store_uri);
    stream_and_analyse(p, &r, out);
    struct demo_verification v = {.status = STASH_E_CLOSED}; /* not done */
    int while_streaming = demo_caught_signal();
    if (out->failure == NULL && while_streaming == 0)
        write_and_verify(p, out, &v);
    /* A signal up to here stops the run; one later finds it publishing, and is too late. */
    out->signal = demo_caught_signal();
    out->signal_after_streaming = out->signal != 0 && while_streaming == 0;
    int rc = demo_conclude(stdout, p, out, &v);
    tear_down(p, &r);
    return rc;
}

static int run(int argc, char **argv)
{
    struct demo_options o = {.dir = "stash-demo", .channels = 64, .samples = (uint64_t)1 << 19,
                             .window = 1024, .hop = 512, .workers = 2,
                             .ring_samples = 65536, .chunk = 32};
    demo_catch_signals(); /* first: from here on a signal is a flag, never a sudden death */
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (mkdir(o.dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "stash demo: %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    struct demo_plan p = {.o = &o};
    struct demo_outcome out = {0};
    snprintf(p.store_uri, sizeof p.store_uri, "%s", o.store_uri ? o.store_uri : "");
    if (o.store_uri == NULL)
        snprintf(p.store_uri, sizeof p.store_uri, "dir:%s/store", o.dir);
    snprintf(out.features_path, sizeof out.features_path, "%s/features.nco", o.dir);
    snprintf(out.staging_path, sizeof out.staging_path, "%s/features.nco.unverified", o.dir);
    snprintf(out.report_path, sizeof out.report_path, "%s/report.md", o.dir);
    return run_pipeline(&p, &out);
}

const struct stash_command cmd_demo = {
    .name = "demo",
    .summary = "stream, analyse, memoise and verify: the whole pipeline, end to end",
    .usage =
        "usage: stash demo [--dir DIR] [--store URI] [--channels N] [--samples N]\n"
        "                  [--window N] [--hop N] [--workers N] [--ring N] [--chunk N]\n\n"
        "One acquisition process streams a known signal (sines in five EEG bands plus\n"
        "noise, float32) into a shared ring; analysis processes read sliding windows in\n"
        "place, compute each channel's power in each band, and memoise it in a result\n"
        "store under a content key of the window. The feature matrix is written as an\n"
        "NCO file (NumPy and nengo read it), every feature is verified against a\n"
        "recomputation, and a report is printed. Only a run that verifies saves its\n"
        "features and report; one that fails, or is stopped by SIGINT, SIGTERM or\n"
        "SIGHUP, stops its processes, removes its ring, says what it did, and keeps the\n"
        "last good outputs. Run it twice: the second run is served from the store. Exit\n"
        "status 0 if everything verifies, 1 if not, 128 + the signal (130, 143, 129)\n"
        "if stopped by one.\n\n"
        "  --dir DIR       where outputs go (default stash-demo): features.nco, report.md,\n"
        "                  and the store\n"
        "  --store URI     the result store (default dir:DIR/store; also hdf5:FILE,\n"
        "                  redis://HOST[:PORT], redis+unix:///SOCKET, none:)\n"
        "  --channels N    channels (default 64)\n"
        "  --samples N     samples per channel (default 524288)\n"
        "  --window N      window length, a power of two from 512 (default 1024)\n"
        "  --hop N         samples between window starts (default 512)\n"
        "  --workers N     analysis processes (default 2, at most 16)\n"
        "  --ring N        ring capacity in samples (default 65536; raised to a window\n"
        "                  and a chunk if smaller)\n"
        "  --chunk N       samples per put (default 32)\n\n"
        "examples:\n"
        "  $ stash demo\n"
        "  $ stash demo --store hdf5:stash-demo/results.h5 --workers 3\n"
        "  $ stash nco ls stash-demo/features.nco\n",
    .run = run,
};
