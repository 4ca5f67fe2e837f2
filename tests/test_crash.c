/*
 * Crash consistency: writers SIGKILLed inside their calls, hundreds of times.
 *
 * For each kind of writer - store puts in dir:, hdf5: and pickle:, NCO appends (plain
 * and STASH_NCO_DURABLE), whole files published by rename (stash_npy_save,
 * stash_nco_pack), ring puts - a child process writes a deterministic
 * sequence (item i's content is a function of i) and tells the parent, in a
 * shared page, how many calls it started and how many returned STASH_OK,
 * each stored after the fact, when its latest call began and how long its
 * finished calls took, by its own clock.
 *
 * The kills land inside calls by construction, not by a delay tuned to some
 * machine's speed. The parent picks one of the child's first few calls (of
 * the ring's short puts, one of the first thousand), waits until the child
 * has announced that call or a later one and not yet returned from it, then
 * kills it a random fraction of the kind's mean call time after the call
 * began. That mean is what the children measured, on this machine under its
 * present load, sanitizers or valgrind included, so the aim stretches with
 * the calls. One kill in eight is aimed instead just after a call returned,
 * while the child prepares the next, so both cases are exercised. Where a
 * kill truly landed is read from the counters once the child is dead: a call
 * may still end first (a parent descheduled at the wrong moment), and that
 * is counted, not failed. The counts are printed and never asserted; after
 * each kill, wherever it landed, the parent reopens what the child wrote and
 * checks the promise of docs/store.md, docs/nco.md and docs/ring.md:
 *
 *   - every item whose call returned OK before the kill is there, exactly;
 *   - the item in flight is absent or whole, never a part;
 *   - nothing else is returned as valid: a read gives the exact expected
 *     content or a clear status;
 *   - the next writer (the next child) carries on.
 *
 * Every wait of the parent for a child has a deadline of HANG_S seconds,
 * which only a child that truly hangs misses. STASH_CRASH_KILLS sets the
 * kills per kind (default 250; the sanitizer build registers fewer, and
 * under valgrind, scripts/valgrind, the default is 20), STASH_CRASH_SEED the
 * seed (printed, so a failing choice of aims and sizes can be replayed; the
 * timing of a kill cannot).
 *
 * hdf5: promises what dir: does, through its rollback journal (docs/store.md,
 * "Crashes"): no damaged file and no lost committed key, whether the file is
 * opened for each put or held by an exclusive handle, with values of 64 B and
 * 1 MiB. Its checks run in a child, as reading runs inside libhdf5: a crash
 * there fails the test without ending the run.
 */
#include "crash_items.h"
#include "test_util.h"

#include <stash/nco.h>
#include <stash/npy.h>
#include <stash/ring.h>
#include <stash/store.h>
#include <stash/value.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static const char *dir;
static uint64_t rng;
static unsigned kills_per_kind = 250;

/* How long the parent waits for a child's next step before calling it hung. */
#define HANG_S 60.0

/*
 * What a child tells the parent, each field stored after the fact. While the
 * child runs, the parent aims its kill with the calls and their times; after
 * the kill, started and committed say what was committed and what was in
 * flight.
 */
struct progress {
    _Atomic uint64_t ready;       /* the child has opened what it writes */
    _Atomic uint64_t started;     /* calls begun (items), or samples announced (ring) */
    _Atomic uint64_t committed;   /* calls that returned OK (items), or samples (ring) */
    _Atomic uint64_t calls_begun; /* by this child */
    _Atomic uint64_t calls_done;  /* by this child; stored after committed */
    _Atomic uint64_t began_ns;    /* when its latest call began (CLOCK_MONOTONIC) */
    _Atomic uint64_t busy_ns;     /* how long its calls_done calls took */
    _Atomic int64_t refused;      /* a status the store gave the writer instead of OK, or 0 */
};

/* A writer's exit status after a call was refused (shared->refused says why). */
#define REFUSED_EXIT 42

static struct progress *shared;

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A fixed function of i: sizes and contents never depend on the run. */
static uint64_t mix(uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15u;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9u;
    return x ^ (x >> 29);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static double now_s(void)
{
    return (double)now_ns() / 1e9;
}

/* ---- Children ------------------------------------------------------------------------ */

typedef int (*child_fn)(const void *ctx, uint64_t first);

/* The child is about to make a call that takes the started count to started. */
static void call_begins(uint64_t started)
{
    atomic_store(&shared->began_ns, now_ns());
    atomic_store(&shared->started, started);
    atomic_fetch_add(&shared->calls_begun, 1);
}

/* The call returned STASH_OK and takes the committed count to committed. */
static void call_returned(uint64_t committed)
{
    atomic_store(&shared->committed, committed);
    atomic_fetch_add(&shared->busy_ns, now_ns() - atomic_load(&shared->began_ns));
    atomic_fetch_add(&shared->calls_done, 1);
}

/*
 * cmocka catches crash signals and goes on with the next test; in a forked
 * child that would make a second test runner. Children take them back, so a
 * crash ends the child and its parent sees the signal.
 */
static void default_crash_signals(void)
{
    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        signal(crash_signals[i], SIG_DFL);
}

/*
 * Ends a writer whose call was refused, and tells the parent why (a failure
 * there: no store here may refuse a put after a kill).
 */
static int refuse(stash_status why)
{
    atomic_store(&shared->refused, why);
    /* Killed, not exited: HDF5 keeps state when it fails inside a damaged file, which a leak
     * checker at exit would report (valgrind's runs even at _exit). */
    kill(getpid(), SIGKILL);
    return REFUSED_EXIT;
}

/* Whether a writer's end is refuse()'s: its exit status, or its own SIGKILL after saying why. */
static bool ended_refused(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == REFUSED_EXIT;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
           atomic_load(&shared->refused) != 0;
}

/* One writer for run_and_kill to start. */
struct writer {
    child_fn body;
    const void *ctx;
    uint64_t first;       /* the item it starts from */
    unsigned first_calls; /* the call aimed at is one of its first this many */
    void (*meanwhile)(const void *); /* what the parent does while it waits, or NULL */
    const void *meanwhile_ctx;
};

/* What the kills of one kind did and found. */
struct kill_stats {
    unsigned kills, aimed_between, mid_call, landed, damaged, lost;
    unsigned refused; /* writers that ended because the store refused a call (hdf5: damage) */
    uint64_t items;
    uint64_t calls, busy_ns; /* calls that returned, and their time by the writers' clocks */
};

/*
 * Where a kill was aimed: fraction of the mean call time into the writer's
 * call number call (from 1) or a later one, or just after call number call
 * returned.
 */
struct aim {
    bool between;
    uint64_t call;
    double fraction;
};

static struct aim choose_aim(const struct writer *w)
{
    uint64_t r = next_random(&rng);
    return (struct aim){.between = r % 8 == 0,
                        .call = 1 + (r >> 3) % w->first_calls,
                        .fraction = (double)(r >> 40) / (double)(1u << 24)};
}

static const char *aim_text(struct aim a)
{
    static char text[64];
    if (a.between)
        snprintf(text, sizeof text, "aimed just after call %llu", (unsigned long long)a.call);
    else
        snprintf(text, sizeof text, "aimed %.0f%% into call %llu", a.fraction * 100,
                 (unsigned long long)a.call);
    return text;
}

/*
 * For a kill aimed inside a call: whether the writer is inside call a.call or
 * a later one, with the kind's mean call time known (k's writers' and this
 * one's), and if so when to kill it.
 */
static bool kill_time(struct aim a, const struct kill_stats *k, uint64_t *at_ns)
{
    uint64_t begun = atomic_load(&shared->calls_begun);
    uint64_t done = atomic_load(&shared->calls_done); /* read after begun: fewer, one in flight */
    uint64_t calls = k->calls + done;
    if (begun < a.call || done >= begun || calls == 0)
        return false;
    double mean_ns = (double)(k->busy_ns + atomic_load(&shared->busy_ns)) / (double)calls;
    *at_ns = atomic_load(&shared->began_ns) + (uint64_t)(a.fraction * mean_ns);
    return true;
}

/*
 * One step of the parent's wait for the writer: its meanwhile work, or a
 * nap of some 10 us, which leaves the processor to the writer on a loaded
 * machine and misses the aim by less than any call but a ring put (the
 * ring's parent reads windows instead). True if the writer ended because a
 * call was refused (reaped here; see refuse). Fails the test if the writer
 * stopped otherwise, or has not done what it was waited for by the deadline
 * (it hangs: no load stretches a call that far).
 */
static bool wait_step(pid_t child, const struct writer *w, double deadline, const char *what)
{
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
        if (ended_refused(status))
            return true;
        fail_msg("the writer stopped on its own (%s %d) while the parent waited for it to %s",
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), what);
    }
    if (now_s() > deadline) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        fail_msg("the writer did not %s in %.0f s: it hangs", what, HANG_S);
    }
    if (w->meanwhile)
        w->meanwhile(w->meanwhile_ctx);
    else
        usleep(10);
    return false;
}

/*
 * Forks the writer, waits until it is ready, SIGKILLs it where a random aim
 * says (see the top of the file), and adds its calls and their times to k.
 * Fails the test if the writer stopped on its own or hangs.
 */
static struct aim run_and_kill(const struct writer *w, struct kill_stats *k)
{
    atomic_store(&shared->ready, 0);
    atomic_store(&shared->started, w->first);
    atomic_store(&shared->committed, w->first);
    atomic_store(&shared->calls_begun, 0);
    atomic_store(&shared->calls_done, 0);
    atomic_store(&shared->busy_ns, 0);
    atomic_store(&shared->refused, 0);
    fflush(NULL); /* a child must not print what this process has buffered */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        default_crash_signals();
        _exit(w->body(w->ctx, w->first));
    }
    double deadline = now_s() + HANG_S;
    bool refused = false;
    while (!refused && !atomic_load(&shared->ready))
        refused = wait_step(child, w, deadline, "get ready");
    struct aim a = choose_aim(w);
    deadline = now_s() + HANG_S;
    if (a.between) {
        while (!refused && atomic_load(&shared->calls_done) < a.call)
            refused = wait_step(child, w, deadline, "return from a call");
    } else {
        uint64_t at_ns = 0;
        while (!refused && !kill_time(a, k, &at_ns))
            refused = wait_step(child, w, deadline, "begin a call");
        while (!refused && now_ns() < at_ns)
            refused = wait_step(child, w, deadline, "be killed inside a call");
    }
    int status;
    if (!refused) {
        kill(child, SIGKILL);
        assert_int_equal(waitpid(child, &status, 0), child);
        refused = ended_refused(status);
        if (!WIFSIGNALED(status) && !refused)
            fail_msg("the writer stopped on its own with status %d before the kill",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (refused) {
        k->refused++;
        return a; /* no kill: the caller reports what the store said */
    }
    k->kills++;
    k->aimed_between += a.between;
    k->mid_call += atomic_load(&shared->started) > atomic_load(&shared->committed);
    k->calls += atomic_load(&shared->calls_done);
    k->busy_ns += atomic_load(&shared->busy_ns);
    return a;
}

static void print_stats(const char *what, const struct kill_stats *k, double seconds)
{
    print_message("  %s: %u kills (%u aimed inside a call, %u just after one): %u landed inside "
                  "a call (%u of those calls had landed), %llu items committed, %u damaged, %u "
                  "lost; calls of %.0f us on average, %.1f s\n", what, k->kills,
                  k->kills - k->aimed_between, k->aimed_between, k->mid_call, k->landed,
                  (unsigned long long)k->items, k->damaged, k->lost,
                  k->calls ? (double)k->busy_ns / (double)k->calls / 1e3 : 0.0, seconds);
}

/* ---- Store values ---------------------------------------------------------------------- */

#define SLOTS 8
#define NO_ITEM UINT64_MAX

/* Item i: small (no array, under 4 KiB) one time in four, else an array of 32 to 512 KiB. */
static stash_value *item_value(uint64_t i)
{
    char text[160];
    snprintf(text, sizeof text, "{\"i\": %llu, \"tag\": \"item-%llu\", \"small\": [%llu, %llu]}",
             (unsigned long long)i, (unsigned long long)i, (unsigned long long)mix(i) >> 1,
             (unsigned long long)i * 3);
    stash_value *v = NULL;
    if (stash_value_from_json(text, strlen(text), &v, NULL) != STASH_OK)
        return NULL;
    if (i % 4 == 3)
        return v;
    stash_value *array = crash_ramp(i, 4096 + mix(i) % (65536 - 4096));
    if (!array || stash_value_dict_set(v, "data", array) != STASH_OK) {
        stash_value_free(&array);
        stash_value_free(&v);
    }
    return v;
}

static void slot_key(uint64_t slot, char *key, size_t cap)
{
    snprintf(key, cap, "crash/slot-%llu", (unsigned long long)slot);
}

struct store_job {
    const char *uri;
    unsigned flags;                      /* the writer's stash_store_options flags */
    stash_value *(*value)(uint64_t item); /* item i's value */
};

/* Puts item i under slot i % SLOTS, for i = first, first + 1, ... until killed. */
static int store_writer(const void *ctx, uint64_t first)
{
    const struct store_job *job = ctx;
    stash_store *s = NULL;
    stash_status st = stash_store_open(job->uri, &(stash_store_options){.flags = job->flags}, &s);
    if (st != STASH_OK)
        return refuse(st);
    atomic_store(&shared->ready, 1);
    for (uint64_t i = first;; i++) {
        stash_value *v = job->value(i);
        if (!v)
            return 11;
        char key[64];
        slot_key(i % SLOTS, key, sizeof key);
        call_begins(i + 1);
        if ((st = stash_store_put(s, key, v)) != STASH_OK)
            return refuse(st);
        call_returned(i + 1);
        stash_value_free(&v);
    }
}

/* What the parent knows each slot holds (an item number or NO_ITEM). */
struct store_model {
    uint64_t have[SLOTS];
    uint64_t next; /* the next item to write */
};

/* How a store looked after a kill. */
enum store_outcome {
    STORE_INTACT,  /* every slot as the model says */
    STORE_DAMAGED, /* a clear status from the open or a get */
    STORE_LOST,    /* a committed value reported missing */
    STORE_WRONG,   /* a value returned that was never put whole: always a failure */
};

/* What a check found; plain data, so a child can send it to the parent. */
struct store_check {
    enum store_outcome outcome;
    stash_status why; /* DAMAGED or LOST: the first status */
    bool landed;      /* the value in flight was there */
    struct store_model model;
    char wrong[160];  /* WRONG: what was returned */
};

/*
 * The slot's value as s gives it: STASH_OK with *which set to the item it
 * equals (NO_ITEM: neither of the two allowed), or the status of the get.
 */
static stash_status read_slot(stash_store *s, const struct store_job *job, uint64_t slot,
                              uint64_t newest, uint64_t in_flight, uint64_t *which)
{
    char key[64];
    slot_key(slot, key, sizeof key);
    stash_value *got = NULL;
    stash_status st = stash_store_get(s, key, &got);
    if (st != STASH_OK)
        return st;
    /* Two whole values are allowed: the newest committed one and the one in flight. */
    uint64_t candidates[2] = {newest, in_flight};
    *which = NO_ITEM;
    for (int c = 0; c < 2 && *which == NO_ITEM; c++) {
        stash_value *want = candidates[c] == NO_ITEM ? NULL : job->value(candidates[c]);
        if (want && stash_value_equal(want, got))
            *which = candidates[c];
        stash_value_free(&want);
    }
    stash_value_free(&got);
    return STASH_OK;
}

/*
 * Reads every slot through a fresh handle and checks it against the model,
 * and gives the model as it stands after. Makes no assertions (it may run
 * in a child).
 */
static struct store_check check_store(const struct store_job *job, const struct store_model *m,
                                      uint64_t committed, uint64_t started)
{
    struct store_check c = {.outcome = STORE_INTACT, .model = *m};
    stash_store *s = NULL;
    c.why = stash_store_open(job->uri, NULL, &s);
    if (c.why != STASH_OK) {
        c.outcome = STORE_DAMAGED;
        return c;
    }
    uint64_t in_flight = started > committed ? committed : NO_ITEM;
    for (uint64_t slot = 0; slot < SLOTS; slot++) { /* every slot, even after a bad one */
        uint64_t newest = m->have[slot];
        for (uint64_t i = m->next; i < committed; i++)
            if (i % SLOTS == slot)
                newest = i;
        uint64_t flight = in_flight != NO_ITEM && in_flight % SLOTS == slot ? in_flight : NO_ITEM;
        uint64_t which = NO_ITEM;
        stash_status st = read_slot(s, job, slot, newest, flight, &which);
        if (st == STASH_OK && which == NO_ITEM) {
            c.outcome = STORE_WRONG;
            snprintf(c.wrong, sizeof c.wrong, "slot %llu returned a value that is neither item "
                     "%lld nor item %lld", (unsigned long long)slot, (long long)newest,
                     (long long)flight);
            break;
        } else if (st == STASH_OK) {
            c.model.have[slot] = which;
            c.landed |= which == flight && flight != NO_ITEM;
        } else if (st == STASH_E_NOT_FOUND && newest == NO_ITEM) {
            /* never written, and the first put was cut short */
        } else if (c.outcome == STORE_INTACT) {
            c.outcome = st == STASH_E_NOT_FOUND ? STORE_LOST : STORE_DAMAGED;
            c.why = st;
        }
    }
    stash_store_close(&s);
    if (c.outcome == STORE_INTACT)
        c.model.next = started > committed ? started : committed;
    return c;
}

/*
 * Forks a child whose stderr goes into a pipe; the parent gets the pipe's
 * read end in *err. Returns 0 in the child, which has the crash signals back.
 */
static pid_t fork_with_stderr_to(int *err)
{
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    fflush(NULL); /* a child must not print what this process has buffered */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        default_crash_signals();
        close(pipe_fds[0]);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[1]);
        return 0;
    }
    close(pipe_fds[1]);
    *err = pipe_fds[0];
    return child;
}

/* Everything child wrote into fd until it closed, into buf (cap bytes); how many. */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    char scratch[256];
    for (ssize_t n; (n = read(fd, got < cap - 1 ? buf + got : scratch,
                              got < cap - 1 ? cap - 1 - got : sizeof scratch)) > 0;)
        got += got < cap - 1 ? (size_t)n : 0;
    buf[got] = '\0';
    return got;
}

/*
 * check_store in a child, for hdf5:, whose reading runs inside libhdf5:
 * a crash there must end the child, not this test run. The child exits
 * through its exit handlers (HDF5's shutdown, the leak checker), and must
 * print nothing. Dying of a signal, or printing, fails the test.
 */
static struct store_check check_store_in_child(const struct store_job *job,
                                               const struct store_model *m, uint64_t committed,
                                               uint64_t started)
{
    int report[2], err;
    assert_int_equal(pipe(report), 0);
    pid_t child = fork_with_stderr_to(&err);
    if (child == 0) {
        close(report[0]);
        alarm(60); /* a hang is a failure too */
        struct store_check c = check_store(job, m, committed, started);
        bool sent = write(report[1], &c, sizeof c) == sizeof c;
        exit(sent ? 0 : 1);
    }
    close(report[1]);
    struct store_check c;
    ssize_t got = read(report[0], &c, sizeof c);
    close(report[0]);
    static char printed[16384];
    size_t printed_bytes = drain(err, printed, sizeof printed);
    close(err);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (WIFSIGNALED(status))
        fail_msg("checking %s after a kill crashed (signal %d): %.2000s", job->uri,
                 WTERMSIG(status), printed);
    if (got != (ssize_t)sizeof c || WEXITSTATUS(status) != 0 || printed_bytes)
        fail_msg("checking %s after a kill: exit status %d, printed: %s", job->uri,
                 WEXITSTATUS(status), printed);
    return c;
}

static void reset_model(struct store_model *m)
{
    for (int s = 0; s < SLOTS; s++)
        m->have[s] = NO_ITEM;
    /* Items keep counting up across files, so no run reuses another's values. */
}

/* Removes a store file and what lies beside it (hdf5: and pickle: keep a lock, hdf5: a journal). */
static void remove_store_files(const char *path)
{
    static const char *const suffixes[] = {"", ".lock", ".journal"};
    char name[4300];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* One kind of store writer for crash_store. */
struct store_case {
    const char *scheme, *name;
    unsigned flags;                       /* the writers' options */
    stash_value *(*value)(uint64_t item); /* item i's value */
    bool isolate;                         /* check in a child (reading runs inside libhdf5) */
    unsigned files_every;                 /* a new file every this many kills (0: one store) */
};

/*
 * Kills store writers inside and between puts; after each, every slot holds its
 * newest committed value, or the value in flight: nothing committed is lost,
 * and nothing is damaged. New files every files_every kills keep a file
 * (which hdf5: never gives space back from) small; the old one is removed.
 */
static void crash_store(const struct store_case *sc)
{
    double t0 = now_s();
    struct store_model m = {.next = 0};
    reset_model(&m);
    struct kill_stats k = {0};
    char path[4200], uri[4300];
    unsigned file_no = 0;
    snprintf(path, sizeof path, "%s-%u", path_in(dir, sc->name), file_no);
    snprintf(uri, sizeof uri, "%s:%s", sc->scheme, path);
    struct store_job job = {uri, sc->flags, sc->value};
    for (unsigned n = 0; n < kills_per_kind; n++) {
        if (sc->files_every && n && n % sc->files_every == 0) {
            remove_store_files(path);
            snprintf(path, sizeof path, "%s-%u", path_in(dir, sc->name), ++file_no);
            snprintf(uri, sizeof uri, "%s:%s", sc->scheme, path);
            reset_model(&m);
        }
        struct writer w = {.body = store_writer, .ctx = &job, .first = m.next, .first_calls = 3};
        struct aim a = run_and_kill(&w, &k);
        uint64_t started = atomic_load(&shared->started),
                 committed = atomic_load(&shared->committed);
        stash_status refused = (stash_status)atomic_load(&shared->refused);
        if (refused != STASH_OK)
            fail_msg("%s: the store refused a put after kill %u: %s", uri, n,
                     stash_strerror(refused));
        k.items += committed - m.next;
        struct store_check c = sc->isolate ? check_store_in_child(&job, &m, committed, started)
                                           : check_store(&job, &m, committed, started);
        if (c.outcome == STORE_WRONG)
            fail_msg("%s after kill %u (%s): %s", uri, n, aim_text(a), c.wrong);
        if (c.outcome != STORE_INTACT)
            fail_msg("%s after kill %u (%s, items %llu..%llu): %s%s", uri, n, aim_text(a),
                     (unsigned long long)m.next, (unsigned long long)started,
                     c.outcome == STORE_LOST ? "a committed value is missing: " : "",
                     stash_strerror(c.why));
        k.landed += c.landed;
        m = c.model;
    }
    /* A writer after the last kill still works, and sees what was there. */
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri, &(stash_store_options){.flags = sc->flags}, &s));
    stash_value *v = sc->value(m.next);
    char key[64];
    slot_key(m.next % SLOTS, key, sizeof key);
    assert_ok(stash_store_put(s, key, v));
    stash_value *back = NULL;
    assert_ok(stash_store_get(s, key, &back));
    assert_true(stash_value_equal(v, back));
    stash_value_free(&v);
    stash_value_free(&back);
    stash_store_close(&s);
    print_stats(sc->name, &k, now_s() - t0);
}

static void test_dir_puts_killed_at_random_keep_every_committed_value(void **state)
{
    (void)state;
    crash_store(&(struct store_case){"dir", "crash-dir", .value = item_value});
    /* Opening sweeps every file the killed writers left once it is old enough
     * to be no live writer's (docs/store.md, "Sweeping"): age them, reopen. */
    char path[4200], file[4500];
    snprintf(path, sizeof path, "%s-0", path_in(dir, "crash-dir"));
    DIR *d = opendir(path);
    assert_non_null(d);
    struct timespec old[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) - 60}};
    for (struct dirent *e; (e = readdir(d));) {
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (strstr(e->d_name, ".tmp-"))
            assert_int_equal(utimensat(AT_FDCWD, file, old, 0), 0);
    }
    closedir(d);
    char uri[4300];
    snprintf(uri, sizeof uri, "dir:%s", path);
    stash_store *s = NULL;
    assert_ok(stash_store_open(uri, NULL, &s));
    stash_store_close(&s);
    d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp-"));
    closedir(d);
}

/*
 * hdf5: puts go through the rollback journal (docs/store.md, "hdf5:
 * journal"): the next open rolls a killed put back, so hdf5: keeps every
 * committed value as dir: does, with values of 64 B and 1 MiB, with the file
 * opened for each put and held open by an exclusive handle.
 */
static void test_hdf5_puts_killed_at_random_keep_every_committed_value(void **state)
{
    (void)state;
    crash_store(&(struct store_case){"hdf5", "crash.h5", .value = crash_hdf5_item,
                                     .isolate = true, .files_every = 25});
}

static void test_hdf5_exclusive_puts_killed_at_random_keep_every_committed_value(void **state)
{
    (void)state;
    crash_store(&(struct store_case){"hdf5", "crash-held.h5", STASH_STORE_EXCLUSIVE,
                                     crash_hdf5_item, .isolate = true, .files_every = 25});
}

/* pickle: appends one record per put under its lock; a kill mid-append leaves a torn
 * record, which readers leave out and the next writer cuts (docs/store.md). Nothing
 * committed may be lost, so no damage is allowed. New files every 25 kills keep the
 * appended file, which only gc shrinks, small. */
static void test_pickle_puts_killed_at_random_keep_every_committed_value(void **state)
{
    (void)state;
    crash_store(&(struct store_case){"pickle", "crash.pkl", .value = item_value,
                                     .files_every = 25});
}

/* ---- NCO appends ---------------------------------------------------------------------- */

/* Object i's array: int32, 1 Ki to 33 Ki elements (4 to 132 KiB), element j = f(i, j). */
static uint64_t object_count(uint64_t i)
{
    return 1024 + mix(i) % 32768;
}

static int32_t object_element(uint64_t i, uint64_t j)
{
    return (int32_t)(uint32_t)(mix(i) + j * 2654435761u);
}

static stash_value *object_meta(uint64_t i)
{
    char text[96];
    snprintf(text, sizeof text, "{\"i\": %llu, \"tag\": \"object-%llu\"}", (unsigned long long)i,
             (unsigned long long)i);
    stash_value *v = NULL;
    stash_value_from_json(text, strlen(text), &v, NULL);
    return v;
}

struct nco_job {
    const char *path;
    unsigned flags;
};

static int nco_writer(const void *ctx, uint64_t first)
{
    const struct nco_job *job = ctx;
    int32_t *data = malloc((1024 + 32768) * sizeof *data);
    if (!data)
        return 10;
    atomic_store(&shared->ready, 1);
    for (uint64_t i = first;; i++) {
        uint64_t count = object_count(i);
        for (uint64_t j = 0; j < count; j++)
            data[j] = object_element(i, j);
        stash_array_desc d;
        stash_value *meta = object_meta(i);
        if (!meta || stash_array_desc_init(&d, STASH_DTYPE_INT32, 1, &count) != STASH_OK)
            return 11;
        call_begins(i + 1);
        if (stash_nco_append(job->path, meta, &d, data, job->flags) != STASH_OK)
            return 12;
        call_returned(i + 1);
        stash_value_free(&meta);
    }
}

/* Object j of the file is item base + j, exactly. */
static void expect_object(const stash_nco *nco, size_t j, uint64_t item)
{
    stash_value *meta = NULL, *want = object_meta(item);
    assert_ok(stash_nco_meta(nco, j, &meta, NULL));
    assert_true(stash_value_equal(meta, want));
    stash_value_free(&meta);
    stash_value_free(&want);
    stash_array_desc d;
    const void *data;
    assert_ok(stash_nco_array(nco, j, &d, &data));
    assert_int_equal(d.dtype, STASH_DTYPE_INT32);
    assert_int_equal(d.ndim, 1);
    assert_int_equal(d.shape[0], object_count(item));
    const int32_t *p = data;
    for (uint64_t e = 0; e < d.shape[0]; e++)
        if (p[e] != object_element(item, e))
            fail_msg("object %zu (item %llu) element %llu is torn", j, (unsigned long long)item,
                     (unsigned long long)e);
}

/*
 * Opens the file both ways (index and walk): the committed objects, then
 * perhaps the one in flight, and nothing else. Returns how many there are.
 */
static size_t check_nco(const char *path, uint64_t base, uint64_t committed, uint64_t started)
{
    size_t counts[2];
    unsigned ways[2] = {0, STASH_NCO_NO_INDEX};
    for (int w = 0; w < 2; w++) {
        stash_nco *nco = NULL;
        stash_status st = stash_nco_open(path, ways[w], &nco);
        if (st == -ENOENT && committed == base)
            return 0; /* the first append had not even created the file */
        if (st != STASH_OK)
            fail_msg("%s: open after a kill: %s", path, stash_strerror(st));
        stash_nco_info info;
        assert_ok(stash_nco_info_get(nco, &info));
        counts[w] = info.count;
        if (info.count < committed - base || info.count > started - base)
            fail_msg("%s (%s): %zu objects, but %llu were committed and %llu started", path,
                     w ? "walked" : "through the index", info.count,
                     (unsigned long long)(committed - base), (unsigned long long)(started - base));
        for (size_t j = 0; j < info.count; j++)
            expect_object(nco, j, base + j);
        stash_nco_close(&nco);
    }
    assert_int_equal(counts[0], counts[1]);
    return counts[0];
}

static void crash_nco(unsigned flags, const char *name)
{
    double t0 = now_s();
    struct kill_stats k = {0};
    const unsigned files_every = 25;
    char path[4200];
    uint64_t base = 0, next = 0;
    for (unsigned n = 0; n < kills_per_kind; n++) {
        if (n % files_every == 0) {
            snprintf(path, sizeof path, "%s-%u.nco", path_in(dir, name), n / files_every);
            base = next;
        }
        struct nco_job job = {path, flags};
        run_and_kill(&(struct writer){.body = nco_writer, .ctx = &job, .first = next,
                                      .first_calls = 3}, &k);
        uint64_t started = atomic_load(&shared->started),
                 committed = atomic_load(&shared->committed);
        k.items += committed - next;
        size_t count = check_nco(path, base, committed, started);
        k.landed += base + count > committed;
        next = base + count; /* an append that landed is kept; one that did not is redone */
    }
    /* A later append lands after whatever the last kill left. */
    int32_t one = 7;
    stash_array_desc d;
    assert_ok(stash_array_desc_init(&d, STASH_DTYPE_INT32, 1, (uint64_t[]){1}));
    assert_ok(stash_nco_append(path, NULL, &d, &one, flags));
    stash_nco *nco = NULL;
    assert_ok(stash_nco_open(path, 0, &nco));
    stash_nco_info info;
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, next - base + 1);
    assert_int_equal(info.tail_bytes, 0);
    stash_nco_close(&nco);
    print_stats(name, &k, now_s() - t0);
}

static void test_nco_appends_killed_at_random_keep_every_committed_object(void **state)
{
    (void)state;
    crash_nco(0, "nco");
}

static void test_durable_nco_appends_killed_at_random_keep_every_committed_object(void **state)
{
    (void)state;
    crash_nco(STASH_NCO_DURABLE, "nco-durable");
}

/* ---- Whole files published by rename: stash_npy_save and stash_nco_pack --------------- */

struct publish_job {
    char npy[4200], nco[4200];
};

/* Item i as a description and its int32 elements (the same as NCO object i's array). */
static int32_t *object_array(uint64_t i, stash_array_desc *d)
{
    uint64_t count = object_count(i);
    int32_t *data = malloc(count * sizeof *data);
    if (!data || stash_array_desc_init(d, STASH_DTYPE_INT32, 1, &count) != STASH_OK) {
        free(data);
        return NULL;
    }
    for (uint64_t j = 0; j < count; j++)
        data[j] = object_element(i, j);
    return data;
}

/* Saves item i as an NPY file, then packs it as an NCO file, for i = first, ... until killed. */
static int publish_writer(const void *ctx, uint64_t first)
{
    const struct publish_job *job = ctx;
    atomic_store(&shared->ready, 1);
    for (uint64_t i = first;; i++) {
        stash_array_desc d;
        int32_t *data = object_array(i, &d);
        stash_value *meta = object_meta(i);
        if (!data || !meta)
            return 11;
        call_begins(i + 1);
        if (stash_npy_save(job->npy, &d, data, 0) != STASH_OK ||
            stash_nco_pack(job->nco, meta, &d, data, 0) != STASH_OK)
            return 12;
        call_returned(i + 1);
        stash_value_free(&meta);
        free(data);
    }
}

/* Which item the array is, of the two allowed (NO_ITEM: neither). */
static uint64_t which_array(const stash_array_desc *d, const void *data, uint64_t a, uint64_t b)
{
    uint64_t candidates[2] = {a, b};
    for (int c = 0; c < 2; c++) {
        uint64_t i = candidates[c];
        if (i == NO_ITEM || d->dtype != STASH_DTYPE_INT32 || d->ndim != 1 ||
            d->shape[0] != object_count(i))
            continue;
        const int32_t *p = data;
        uint64_t e = 0;
        while (e < d->shape[0] && p[e] == object_element(i, e))
            e++;
        if (e == d->shape[0])
            return i;
    }
    return NO_ITEM;
}

/*
 * After a kill: each file is absent (nothing was ever published), or holds
 * exactly the item it held before this writer, the writer's last committed
 * item, or the one in flight. *npy_item and *nco_item come in as what the
 * files held before, and go out as what they hold now.
 */
static void check_published(const struct publish_job *job, uint64_t first, uint64_t committed,
                            uint64_t started, uint64_t *npy_item, uint64_t *nco_item)
{
    uint64_t flight = started > committed ? committed : NO_ITEM;
    uint64_t npy_last = committed > first ? committed - 1 : *npy_item;
    uint64_t nco_last = committed > first ? committed - 1 : *nco_item;
    stash_array_desc d;
    void *data = NULL;
    stash_status st = stash_npy_load(job->npy, &d, &data);
    if (st == -ENOENT && npy_last == NO_ITEM) {
        *npy_item = NO_ITEM;
    } else if (st != STASH_OK) {
        fail_msg("%s after a kill: %s", job->npy, stash_strerror(st));
    } else if ((*npy_item = which_array(&d, data, npy_last, flight)) == NO_ITEM) {
        fail_msg("%s holds neither item %lld nor item %lld", job->npy, (long long)npy_last,
                 (long long)flight);
    }
    free(data);
    stash_nco *nco = NULL;
    st = stash_nco_open(job->nco, 0, &nco);
    if (st == -ENOENT && nco_last == NO_ITEM) {
        *nco_item = NO_ITEM;
        return;
    }
    if (st != STASH_OK)
        fail_msg("%s after a kill: %s", job->nco, stash_strerror(st));
    stash_nco_info info;
    const void *array;
    assert_ok(stash_nco_info_get(nco, &info));
    assert_int_equal(info.count, 1);
    assert_int_equal(info.tail_bytes, 0);
    assert_ok(stash_nco_array(nco, 0, &d, &array));
    *nco_item = which_array(&d, array, nco_last, flight);
    if (*nco_item == NO_ITEM)
        fail_msg("%s holds neither item %lld nor item %lld", job->nco, (long long)nco_last,
                 (long long)flight);
    expect_object(nco, 0, *nco_item); /* its metadata is that item's too */
    stash_nco_close(&nco);
}

/* Whether dir's file system makes unnamed files (O_TMPFILE), as sysio_aside_open uses. */
static bool unnamed_files_work(const char *in)
{
    int fd = open(in, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    close(fd);
    return access("/proc/self/fd", X_OK) == 0;
}

static void test_saves_and_packs_killed_at_random_leave_old_or_new_files(void **state)
{
    (void)state;
    double t0 = now_s();
    struct publish_job job;
    snprintf(job.npy, sizeof job.npy, "%s", path_in(dir, "published.npy"));
    snprintf(job.nco, sizeof job.nco, "%s", path_in(dir, "published.nco"));
    struct kill_stats k = {0};
    uint64_t next = 0, npy_item = NO_ITEM, nco_item = NO_ITEM;
    for (unsigned n = 0; n < kills_per_kind; n++) {
        run_and_kill(&(struct writer){.body = publish_writer, .ctx = &job, .first = next,
                                      .first_calls = 2}, &k);
        uint64_t started = atomic_load(&shared->started),
                 committed = atomic_load(&shared->committed);
        k.items += committed - next;
        check_published(&job, next, committed, started, &npy_item, &nco_item);
        k.landed += nco_item == committed && started > committed;
        next = started; /* the number of an item in flight is never reused */
    }
    /* Only a kill between linking a finished file in and renaming it leaves its
     * temporary, where the file system has O_TMPFILE (docs/reliability.md). */
    int temps = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d));)
        temps += strncmp(e->d_name, "published.", 10) == 0 && strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    print_stats("npy save + nco pack", &k, now_s() - t0);
    print_message("  %d temporaries of killed writers left beside the files (%s)\n", temps,
                  unnamed_files_work(dir) ? "written unnamed, O_TMPFILE" : "named throughout");
}

/* ---- Ring puts ------------------------------------------------------------------------ */

#define RING_CHANNELS 16
#define RING_CAPACITY 1024 /* 64 KiB of uint32 frames */

/*
 * Channel c of sample k: channel 0 is k itself, the others come from a table
 * with a prime period, so two samples that can share a slot (a multiple of
 * the capacity apart, less than RING_PERIOD x capacity) differ in every
 * channel. The writer fills frames at memcpy speed, so the filling between
 * two puts is short.
 */
#define RING_PERIOD 4093u
static uint32_t ring_table[(RING_PERIOD + RING_CAPACITY * 3 / 2) * RING_CHANNELS];

static uint32_t pattern(uint64_t k, uint32_t c)
{
    return c == 0 ? (uint32_t)k : (uint32_t)(mix(k % RING_PERIOD) >> (c % 32)) ^ c;
}

static void fill_ring_table(void)
{
    for (uint64_t k = 0; k < RING_PERIOD + RING_CAPACITY * 3 / 2; k++)
        for (uint32_t c = 0; c < RING_CHANNELS; c++)
            ring_table[k * RING_CHANNELS + c] = pattern(k, c);
}

/* n frames from sample first on, into frames. */
static void fill_frames(uint32_t *frames, uint64_t first, uint64_t n)
{
    memcpy(frames, ring_table + first % RING_PERIOD * RING_CHANNELS,
           n * RING_CHANNELS * sizeof *frames);
    for (uint64_t k = 0; k < n; k++)
        frames[k * RING_CHANNELS] = (uint32_t)(first + k);
}

static uint64_t bad_frames(const uint32_t *frames, uint64_t first, uint64_t n)
{
    uint64_t bad = 0;
    for (uint64_t k = 0; k < n; k++)
        for (uint32_t c = 0; c < RING_CHANNELS; c++)
            if (frames[k * RING_CHANNELS + c] != pattern(first + k, c)) {
                bad++;
                break;
            }
    return bad;
}

struct ring_job {
    const char *name;
    uint64_t seed;
};

/* Takes the writer's role over and puts chunks of 1 to 1.5 x capacity samples. */
static int ring_writer(const void *ctx, uint64_t first)
{
    (void)first;
    const struct ring_job *job = ctx;
    stash_ring *w;
    if (stash_ring_attach(job->name, STASH_RING_WRITER, &w) != STASH_OK)
        return 10;
    uint64_t seed = job->seed | 1, written = stash_ring_written(w);
    uint32_t *frames = malloc(RING_CAPACITY * 3 / 2 * RING_CHANNELS * sizeof *frames);
    if (!frames)
        return 11;
    atomic_store(&shared->started, written);
    atomic_store(&shared->committed, written);
    atomic_store(&shared->ready, 1);
    for (;;) {
        /* Mostly short puts; one in eight longer than the ring, which keeps its last part. */
        uint64_t r = next_random(&seed);
        uint64_t n = 1 + (r >> 8) % (r % 8 ? RING_CAPACITY / 4 : RING_CAPACITY * 3 / 2);
        fill_frames(frames, written, n);
        call_begins(written + n);
        if (stash_ring_put(w, frames, n) != STASH_OK)
            return 12;
        written += n;
        call_returned(written);
    }
}

struct ring_reader {
    const stash_ring *r;
    uint32_t *buf;
    uint64_t *seed;
    uint64_t accepted, refused;
};

/*
 * One random window near the newest samples, by copy or by view + validate:
 * if the ring accepts it, every frame is exact.
 */
static void read_one_window(const void *ctx)
{
    struct ring_reader *rd = (struct ring_reader *)ctx;
    uint64_t written = stash_ring_written(rd->r);
    uint64_t len = next_random(rd->seed) % (RING_CAPACITY + 1);
    uint64_t back = next_random(rd->seed) % RING_CAPACITY;
    uint64_t end = written > back ? written - back : 0;
    end += next_random(rd->seed) % 4 == 0 ? RING_CAPACITY / 8 : 0; /* now and then, ahead */
    uint64_t first = end > len ? end - len : 0;
    stash_status st;
    const uint32_t *frames = rd->buf;
    if (next_random(rd->seed) % 2) {
        st = stash_ring_copy(rd->r, first, end, rd->buf);
    } else {
        st = stash_ring_view(rd->r, first, end, (const void **)&frames);
        if (st == STASH_OK) {
            memcpy(rd->buf, frames, (end - first) * RING_CHANNELS * sizeof *frames);
            st = stash_ring_validate(rd->r, first);
        }
    }
    if (st == STASH_OK) {
        if (bad_frames(rd->buf, first, end - first))
            fail_msg("window [%llu, %llu) was accepted with a torn frame",
                     (unsigned long long)first, (unsigned long long)end);
        rd->accepted++;
    } else if (st == STASH_E_OVERWRITTEN || st == STASH_E_NOT_WRITTEN) {
        rd->refused++;
    } else {
        fail_msg("window [%llu, %llu): %s", (unsigned long long)first, (unsigned long long)end,
                 stash_strerror(st));
    }
}

static void test_ring_puts_killed_at_random_never_show_a_torn_frame(void **state)
{
    (void)state;
    double t0 = now_s();
    fill_ring_table();
    const char *name = path_in(dir, "crash.ring");
    stash_ring_config cfg = {.channels = RING_CHANNELS, .capacity_samples = RING_CAPACITY,
                             .dtype = STASH_DTYPE_UINT32, .flags = STASH_RING_NO_WRITER};
    stash_ring *r = NULL;
    assert_ok(stash_ring_create(name, &cfg, &r)); /* a reader handle, kept throughout */
    uint32_t *buf = malloc(RING_CAPACITY * RING_CHANNELS * sizeof *buf);
    struct ring_reader rd = {r, buf, &rng, 0, 0};
    struct kill_stats k = {0};
    for (unsigned n = 0; n < kills_per_kind; n++) {
        struct ring_job job = {name, next_random(&rng)};
        /* The parent reads while the writer writes, and goes on reading after the kill. */
        run_and_kill(&(struct writer){.body = ring_writer, .ctx = &job, .first_calls = 1024,
                                      .meanwhile = read_one_window, .meanwhile_ctx = &rd}, &k);
        uint64_t started = atomic_load(&shared->started),
                 committed = atomic_load(&shared->committed);
        stash_ring_info info;
        assert_ok(stash_ring_info_get(r, &info));
        /* Every put that returned is published; the one in flight may be, whole. */
        assert_true(info.written_samples >= committed && info.written_samples <= started);
        k.landed += started > committed && info.written_samples == started;
        /* What the ring still calls readable is exact, up to the last committed sample. */
        uint64_t first = info.readable_from, end = info.written_samples;
        if (end - first > RING_CAPACITY)
            first = end - RING_CAPACITY;
        assert_ok(stash_ring_copy(r, first, end, buf));
        assert_int_equal(bad_frames(buf, first, end - first), 0);
        for (int w = 0; w < 64; w++)
            read_one_window(&rd);
    }
    /* A last writer takes over and everything it publishes reads back exact. */
    stash_ring *w;
    assert_ok(stash_ring_attach(name, STASH_RING_WRITER, &w));
    uint64_t from = stash_ring_written(w);
    fill_frames(buf, from, RING_CAPACITY);
    assert_ok(stash_ring_put(w, buf, RING_CAPACITY));
    assert_ok(stash_ring_copy(r, from, from + RING_CAPACITY, buf));
    assert_int_equal(bad_frames(buf, from, RING_CAPACITY), 0);
    assert_ok(stash_ring_close(&w));
    assert_ok(stash_ring_close(&r));
    free(buf);
    print_message("  ring: %u kills (%u aimed inside a put, %u just after one): %u landed inside "
                  "a put (%u of those puts were published), %llu samples at the end, %llu "
                  "windows accepted and verified, %llu refused; puts of %.1f us on average, "
                  "%.1f s\n", k.kills, k.kills - k.aimed_between, k.aimed_between, k.mid_call,
                  k.landed, (unsigned long long)from + RING_CAPACITY,
                  (unsigned long long)rd.accepted, (unsigned long long)rd.refused,
                  k.calls ? (double)k.busy_ns / (double)k.calls / 1e3 : 0.0, now_s() - t0);
}

/* ---- Set-up ------------------------------------------------------------------------- */

static int set_up(void **state)
{
    (void)state;
    dir = scratch_dir();
    if (under_valgrind())
        kills_per_kind = 20;
    const char *kills = getenv("STASH_CRASH_KILLS");
    if (kills && *kills)
        kills_per_kind = (unsigned)strtoul(kills, NULL, 10);
    if (kills_per_kind == 0)
        kills_per_kind = 1;
    const char *seed = getenv("STASH_CRASH_SEED");
    rng = seed && *seed ? strtoull(seed, NULL, 0)
                        : (uint64_t)time(NULL) * 0x9E3779B97F4A7C15u ^ (uint64_t)getpid();
    rng |= 1;
    print_message("crash: %u kills per kind, STASH_CRASH_SEED=0x%llx\n", kills_per_kind,
                  (unsigned long long)rng);
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                  0);
    return shared == MAP_FAILED ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_puts_killed_at_random_keep_every_committed_value),
        cmocka_unit_test(test_hdf5_puts_killed_at_random_keep_every_committed_value),
        cmocka_unit_test(test_hdf5_exclusive_puts_killed_at_random_keep_every_committed_value),
        cmocka_unit_test(test_pickle_puts_killed_at_random_keep_every_committed_value),
        cmocka_unit_test(test_nco_appends_killed_at_random_keep_every_committed_object),
        cmocka_unit_test(test_durable_nco_appends_killed_at_random_keep_every_committed_object),
        cmocka_unit_test(test_saves_and_packs_killed_at_random_leave_old_or_new_files),
        cmocka_unit_test(test_ring_puts_killed_at_random_never_show_a_torn_frame),
    };
    return cmocka_run_group_tests_name("crash", tests, set_up, NULL);
}
