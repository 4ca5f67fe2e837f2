/*
 * Benchmarks of the result store: the content key of a large float64 array
 * beside joblib.hash, a memoised hit on a small and on a large input beside
 * a joblib.Memory hit, put and get of a 64-byte and a 1 MiB array in
 * dir: and hdf5: beside h5py writing and reading datasets of the same size,
 * a corelay PickleStorage file of 1000 records read through pickle:
 * beside Python's pickle.load loop over the same file, and put and get in
 * redis: beside raw hiredis SET and GET and python3-redis.
 *
 * A store that cannot do an operation (hdf5: before its backend exists)
 * gives the row "n/a" and the reason, and no verdict. Everything is written
 * under one fresh directory in the scratch dir, removed at the end.
 */
#include "bench_store.h"

#include "store/store_hdf5_journal.h"

#include <stash/stash.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define PATH_CHARS 4096
#define PROGRAM_CHARS (PATH_CHARS + 2048) /* a Python program naming a path */
#define MAX_REPS 2001 /* the most timed operations of any one kind */

/* "64 B", "1 MiB": sizes as the rows name them. */
static void size_label(char *buf, size_t size, size_t bytes)
{
    if (bytes >= MIB)
        snprintf(buf, size, "%zu MiB", bytes / MIB);
    else
        snprintf(buf, size, "%zu B", bytes);
}

/* stash's figure, or "n/a" and why when stash could not do it. */
/* 0, 1, 2, ...: the values np.arange gives the Python side. */
static stash_status new_arange(size_t count, stash_value **out)
{
    uint64_t shape[] = {count};
    stash_array_desc desc;
    stash_array_desc_init(&desc, STASH_DTYPE_FLOAT64, 1, shape);
    double *values = malloc(count * sizeof *values);
    if (values == NULL)
        return STASH_E_LIMIT;
    for (size_t i = 0; i < count; i++)
        values[i] = (double)i;
    stash_status status = stash_value_new_array(&desc, values, out);
    free(values);
    return status;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

/* ---- Hashing ------------------------------------------------------------------ */

static double stash_hash_seconds(const stash_value *array, int runs)
{
    const stash_array_desc *desc;
    const void *data;
    if (stash_value_get_array(array, &desc, &data) != STASH_OK)
        return NAN;
    double best = INFINITY;
    for (int r = 0; r < runs; r++) {
        stash_key key;
        double t0 = bench_seconds();
        if (stash_hash_array(desc, data, &key) != STASH_OK)
            return NAN;
        double t = bench_seconds() - t0;
        best = t < best ? t : best; /* the tool does not link libm */
        bench_sink((uint64_t)key.text[sizeof STASH_KEY_PREFIX]);
    }
    return best;
}

static double joblib_hash_seconds(size_t bytes, int runs)
{
    char program[1024];
    snprintf(program, sizeof program,
             "import numpy as np, joblib, time\n"
             "a = np.arange(%zu, dtype=np.float64)\n"
             "times = []\n"
             "for _ in range(%d):\n"
             "    t = time.perf_counter()\n"
             "    joblib.hash(a)\n"
             "    times.append(time.perf_counter() - t)\n"
             "print(min(times))\n",
             bytes / 8, runs);
    return bench_python(program);
}

/* joblib.hash is md5, about 0.6 GB/s: a few runs of it are seconds. */
static void bench_hash(struct bench_config *c, const stash_value *big, size_t bytes)
{
    int joblib_runs = c->quick ? 3 : 2;
    double ours = stash_hash_seconds(big, 5);
    double theirs = joblib_hash_seconds(bytes, joblib_runs);
    double gb = (double)bytes / 1e9;
    char title[128], size[32], a[64], b[96];
    size_label(size, sizeof size, bytes);
    snprintf(title, sizeof title,
             "Result store: content key of a %s float64 array (best of 5; joblib best of %d)",
             size, joblib_runs);
    bench_table(c, title);
    snprintf(a, sizeof a, "%.2f GB/s", gb / ours);
    snprintf(b, sizeof b, "%.2f GB/s (joblib.hash, md5)", gb / theirs);
    bench_row(c, "stash_hash_array (ratio: speed-up over joblib.hash)", a, b, theirs / ours,
              ">= 8");
}

/* ---- Memoise ------------------------------------------------------------------ */

/* The memoised computation: the sum of a float64 array, a small result
 * whatever the input's size, so a hit costs the key and the lookup. */
static stash_status sum_array(void *ctx, const stash_value *inputs, const stash_value *meta,
                              stash_value **result)
{
    (void)ctx, (void)meta;
    const stash_array_desc *desc;
    const void *data;
    uint64_t count;
    stash_status status = stash_value_get_array(inputs, &desc, &data);
    if (status == STASH_OK)
        status = stash_array_count(desc, &count);
    if (status != STASH_OK)
        return status;
    const double *v = data;
    double total = 0;
    for (uint64_t i = 0; i < count; i++)
        total += v[i];
    return stash_value_new_float(total, result);
}

/* The median time of a hit on inputs, after one call that computes and stores. */
static stash_status memo_hit_us(stash_store *store, const stash_value *inputs, int hits,
                                double *us)
{
    double times[MAX_REPS];
    stash_value *result = NULL;
    stash_store_memo memo;
    stash_status status =
        stash_store_memoise(store, inputs, NULL, sum_array, NULL, &result, &memo);
    stash_value_free(&result);
    for (int i = 0; status == STASH_OK && i < hits; i++) {
        double t0 = bench_seconds();
        status = stash_store_memoise(store, inputs, NULL, sum_array, NULL, &result, &memo);
        stash_value_free(&result);
        times[i] = (bench_seconds() - t0) * 1e6;
        if (status == STASH_OK && !memo.hit)
            status = STASH_E_NOT_FOUND; /* a recomputation is not a hit */
    }
    if (status == STASH_OK)
        *us = bench_median(times, (size_t)hits);
    return status;
}

/* The same with joblib.Memory, timed inside Python: no interpreter start-up. */
static double joblib_hit_us(const char *dir, size_t count, int hits)
{
    char program[PROGRAM_CHARS];
    snprintf(program, sizeof program,
             "import numpy as np, joblib, time, statistics\n"
             "mem = joblib.Memory(location=\"%s/joblib\", verbose=0)\n"
             "def total(a):\n"
             "    return float(a.sum())\n"
             "f = mem.cache(total)\n"
             "a = np.arange(%zu, dtype=np.float64)\n"
             "f(a)\n"
             "times = []\n"
             "for _ in range(%d):\n"
             "    t = time.perf_counter()\n"
             "    f(a)\n"
             "    times.append(time.perf_counter() - t)\n"
             "print(statistics.median(times) * 1e6)\n",
             dir, count, hits);
    return bench_python(program);
}

static void memo_row(struct bench_config *c, stash_status status, double ours_us,
                     double joblib_us, size_t bytes, const char *target)
{
    bool ms = bytes >= MIB; /* large inputs take milliseconds */
    double scale = ms ? 1e-3 : 1;
    char size[32], what[128], a[96], b[96];
    size_label(size, sizeof size, bytes);
    snprintf(what, sizeof what, "stash_store_memoise hit, %s input (ratio: time / joblib's)",
             size);
    if (status != STASH_OK) {
        bench_fail_status(c, what, status);
        return;
    }
    snprintf(a, sizeof a, "%.1f %s", ours_us * scale, ms ? "ms" : "us");
    snprintf(b, sizeof b, "%.1f %s (joblib.Memory hit)", joblib_us * scale, ms ? "ms" : "us");
    bench_row(c, what, a, b, ours_us / joblib_us, target);
}

static void bench_memoise(struct bench_config *c, const char *dir, const stash_value *big,
                          size_t big_bytes)
{
    int small_hits = c->quick ? 501 : 2001, joblib_small_hits = c->quick ? 101 : 401;
    int big_hits = 5, joblib_big_hits = c->quick ? 5 : 2;
    double small_us = NAN, big_us = NAN;
    char uri[PATH_CHARS + 16];
    snprintf(uri, sizeof uri, "dir:%s/memo", dir);
    stash_store *store = NULL;
    stash_value *small = NULL;
    stash_status status = stash_store_open(uri, NULL, &store);
    stash_status small_status = status == STASH_OK ? new_arange(10, &small) : status;
    if (small_status == STASH_OK)
        small_status = memo_hit_us(store, small, small_hits, &small_us);
    stash_status big_status = status == STASH_OK ? memo_hit_us(store, big, big_hits, &big_us)
                                                 : status;
    stash_value_free(&small);
    stash_store_close(&store);
    double joblib_small = joblib_hit_us(dir, 10, joblib_small_hits);
    double joblib_big = joblib_hit_us(dir, big_bytes / 8, joblib_big_hits);

    char title[160];
    snprintf(title, sizeof title,
             "Result store: a memoised hit in dir: beside joblib.Memory (medians: stash of %d "
             "and %d, joblib of %d and %d)",
             small_hits, big_hits, joblib_small_hits, joblib_big_hits);
    bench_table(c, title);
    memo_row(c, small_status, small_us, joblib_small, 80, "<= 0.02");
    memo_row(c, big_status, big_us, joblib_big, big_bytes, "<= 0.2");
}

/* ---- Put and get ---------------------------------------------------------------- */

enum { PUT, GET, OPS };
/* The _BARE stores write without the rollback journal (its seam): what the journal costs. */
enum { DIR_STORE, HDF5_SHARED, HDF5_EXCLUSIVE, HDF5_SHARED_BARE, HDF5_EXCLUSIVE_BARE, BACKENDS };
#define ROUNDS 3 /* stash and h5py take turns; each ratio is the median of the rounds' */

/* One op measured for one backend: how it went and its median. */
struct measured {
    stash_status status;
    double us;
};

/* One round of one size: every backend, then h5py. */
struct round {
    struct measured m[BACKENDS][OPS];
    double h5py_us[OPS];
};

struct size_case {
    size_t bytes;
    int reps;
    struct round rounds[ROUNDS];
};

/* The median time of putting value under reps fresh keys. */
static stash_status put_us(stash_store *store, const stash_value *value, int reps, double *us)
{
    double times[MAX_REPS];
    char key[32];
    sync(); /* no earlier backlog of dirty pages slows these writes */
    for (int i = 0; i < reps; i++) {
        snprintf(key, sizeof key, "k%d", i);
        double t0 = bench_seconds();
        stash_status status = stash_store_put(store, key, value);
        times[i] = (bench_seconds() - t0) * 1e6;
        if (status != STASH_OK)
            return status;
    }
    *us = bench_median(times, (size_t)reps);
    return STASH_OK;
}

/* The median time of getting (and freeing) each of the keys put_us wrote. */
static stash_status get_us(stash_store *store, int reps, double *us)
{
    double times[MAX_REPS];
    char key[32];
    for (int i = 0; i < reps; i++) {
        snprintf(key, sizeof key, "k%d", i);
        stash_value *value = NULL;
        double t0 = bench_seconds();
        stash_status status = stash_store_get(store, key, &value);
        stash_value_free(&value);
        times[i] = (bench_seconds() - t0) * 1e6;
        if (status != STASH_OK)
            return status;
    }
    *us = bench_median(times, (size_t)reps);
    return STASH_OK;
}

/* Puts then gets in a fresh store at uri; a failure marks the ops not done. */
static void measure_store(const char *uri, unsigned flags, const stash_value *value, int reps,
                          struct measured m[OPS])
{
    stash_store *store = NULL;
    stash_store_options options = {.flags = flags};
    stash_status status = stash_store_open(uri, &options, &store);
    m[PUT].status = status == STASH_OK ? put_us(store, value, reps, &m[PUT].us) : status;
    m[GET].status = m[PUT].status == STASH_OK ? get_us(store, reps, &m[GET].us) : m[PUT].status;
    stash_store_close(&store);
}

/*
 * h5py on a file opened once: the median time of statement for each of reps
 * fresh keys, after setup (which may use f, a and keys).
 */
static double h5py_us(const char *path, size_t count, int reps, const char *setup,
                      const char *statement)
{
    char program[PROGRAM_CHARS];
    snprintf(program, sizeof program,
             "import h5py, numpy as np, os, time, statistics\n"
             "a = np.arange(%zu, dtype=np.float64)\n"
             "f = h5py.File(\"%s\", \"a\")\n"
             "keys = [\"k\" + str(i) for i in range(%d)]\n"
             "%s\n"
             "os.sync()\n"
             "times = []\n"
             "for key in keys:\n"
             "    t = time.perf_counter()\n"
             "    %s\n"
             "    times.append(time.perf_counter() - t)\n"
             "f.close()\n"
             "print(statistics.median(times) * 1e6)\n",
             count, path, reps, setup, statement);
    return bench_python(program);
}

/* One round of s in dir, under names of its own. */
static void measure_round(const char *dir, const struct size_case *s, int r, struct round *out)
{
    static const char *const uris[BACKENDS] = {
        "dir:%s/dir-%zu-%d", "hdf5:%s/stash-%zu-%d.h5", "hdf5:%s/stash-held-%zu-%d.h5",
        "hdf5:%s/bare-%zu-%d.h5", "hdf5:%s/bare-held-%zu-%d.h5"};
    static const unsigned flags[BACKENDS] = {0, 0, STASH_STORE_EXCLUSIVE, 0,
                                             STASH_STORE_EXCLUSIVE};
    char uri[PATH_CHARS + 64], path[PATH_CHARS + 64];
    stash_value *value = NULL;
    stash_status status = new_arange(s->bytes / 8, &value);
    for (int i = 0; i < BACKENDS; i++) {
        /* The order turns with the round, and each backend starts with no dirty pages of
         * the last one's to write back (as h5py's runs do): a fixed order timed the
         * journal-less puts during the writeback of the others' megabytes. */
        int b = (i + r) % BACKENDS;
        sync();
        snprintf(uri, sizeof uri, uris[b], dir, s->bytes, r);
        hdf5_journal_seams.off = b == HDF5_SHARED_BARE || b == HDF5_EXCLUSIVE_BARE;
        if (status == STASH_OK)
            measure_store(uri, flags[b], value, s->reps, out->m[b]);
        else
            out->m[b][PUT].status = out->m[b][GET].status = status;
        hdf5_journal_seams.off = false;
    }
    stash_value_free(&value);
    snprintf(path, sizeof path, "%s/h5py-put-%zu-%d.h5", dir, s->bytes, r);
    out->h5py_us[PUT] = h5py_us(path, s->bytes / 8, s->reps, "", "f[key] = a");
    snprintf(path, sizeof path, "%s/h5py-get-%zu-%d.h5", dir, s->bytes, r);
    out->h5py_us[GET] = h5py_us(path, s->bytes / 8, s->reps, "for key in keys: f[key] = a",
                                "f[key][()]");
}

/* Medians over the rounds of backend b's time and h5py's, and each round's ratio. */
static stash_status round_medians(const struct size_case *s, int b, int op, double *ours,
                                  double *h5py, double ratios[ROUNDS])
{
    double us[ROUNDS], base[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        const struct round *round = &s->rounds[r];
        if (round->m[b][op].status != STASH_OK)
            return round->m[b][op].status;
        us[r] = round->m[b][op].us;
        base[r] = round->h5py_us[op];
        ratios[r] = us[r] / base[r];
    }
    *ours = bench_median(us, ROUNDS);
    *h5py = bench_median(base, ROUNDS);
    return STASH_OK;
}

static void put_get_row(struct bench_config *c, const char *backend, int b, int op,
                        const struct size_case *s, const char *target)
{
    static const char *const baseline[OPS] = {"h5py f[key] = a", "h5py f[key][()]"};
    char size[32], what[128], a[96], bl[96];
    double ours = NAN, h5py = NAN, ratios[ROUNDS];
    stash_status status = round_medians(s, b, op, &ours, &h5py, ratios);
    size_label(size, sizeof size, s->bytes);
    snprintf(what, sizeof what, "%s %s %s (ratio: time / h5py's)", backend,
             op == PUT ? "put" : "get", size);
    if (status != STASH_OK) {
        bench_fail_status(c, what, status);
        return;
    }
    snprintf(a, sizeof a, "%.1f us", ours);
    snprintf(bl, sizeof bl, "%.1f us (%s)", h5py, baseline[op]);
    bench_row_rounds(c, what, a, bl, ratios, ROUNDS, target);
}

/* Backend b's put against the same backend's without the journal (bare), round by round. */
static void journal_row(struct bench_config *c, const char *backend, int b, int bare,
                        const struct size_case *s, const char *target)
{
    char size[32], what[160], a[64], bl[96];
    double us[ROUNDS], base[ROUNDS], ratios[ROUNDS];
    size_label(size, sizeof size, s->bytes);
    snprintf(what, sizeof what, "%s put %s with the journal (ratio: time / without it)", backend,
             size);
    for (int r = 0; r < ROUNDS; r++) {
        const struct measured *with = &s->rounds[r].m[b][PUT], *without = &s->rounds[r].m[bare][PUT];
        stash_status status = with->status != STASH_OK ? with->status : without->status;
        if (status != STASH_OK) {
            bench_fail_status(c, what, status);
            return;
        }
        us[r] = with->us;
        base[r] = without->us;
        ratios[r] = us[r] / base[r];
    }
    snprintf(a, sizeof a, "%.1f us", bench_median(us, ROUNDS));
    snprintf(bl, sizeof bl, "%.1f us (no journal)", bench_median(base, ROUNDS));
    bench_row_rounds(c, what, a, bl, ratios, ROUNDS, target);
}

static void bench_put_get(struct bench_config *c, const char *dir)
{
    struct size_case cases[] = {
        {.bytes = 64, .reps = c->quick ? 101 : 501},
        {.bytes = MIB, .reps = c->quick ? 31 : 101},
    };
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < 2; i++)
            measure_round(dir, &cases[i], r, &cases[i].rounds[r]);

    char title[200];
    snprintf(title, sizeof title,
             "Result store: put and get of a float64 array, each put under a fresh key "
             "(medians of %d and %d ops; %d rounds, stash and h5py in turn)",
             cases[0].reps, cases[1].reps, ROUNDS);
    bench_table(c, title);
    for (size_t i = 0; i < 2; i++)
        for (int op = 0; op < OPS; op++)
            put_get_row(c, "dir:", DIR_STORE, op, &cases[i], NULL);
    /* Like for like with h5py, which keeps its file open: the exclusive handle. */
    for (size_t i = 0; i < 2; i++)
        for (int op = 0; op < OPS; op++)
            put_get_row(c, "hdf5: exclusive", HDF5_EXCLUSIVE, op, &cases[i],
                        cases[i].bytes >= MIB ? "<= 1" : NULL);
    /* Shared between processes: each call opens and closes the file under the lock. */
    for (size_t i = 0; i < 2; i++)
        for (int op = 0; op < OPS; op++)
            put_get_row(c, "hdf5: shared", HDF5_SHARED, op, &cases[i], NULL);
    /* What crash safety costs (docs/store.md, "hdf5: journal"): the same puts without it. */
    bench_table(c, "hdf5: the rollback journal's cost: puts with it against the same puts "
                   "through HDF5's own driver without it (same rounds)");
    for (size_t i = 0; i < 2; i++) {
        const char *target = cases[i].bytes >= MIB ? "<= 1.3" : "<= 2";
        journal_row(c, "hdf5: exclusive", HDF5_EXCLUSIVE, HDF5_EXCLUSIVE_BARE, &cases[i], target);
        journal_row(c, "hdf5: shared", HDF5_SHARED, HDF5_SHARED_BARE, &cases[i], target);
    }
}

/* ---- pickle: against pickle.load ------------------------------------------------ */

#define PICKLE_RECORDS 1000
#define PICKLE_ELEMENTS 128 /* float64s per record's array: 1 KiB */

/* Python writes the file as corelay's PickleStorage.write does (protocol 4, appended). */
static double write_pickle_file(const char *path)
{
    char program[PROGRAM_CHARS];
    snprintf(program, sizeof program,
             "import pickle, numpy as np\n"
             "with open(\"%s\", \"wb\") as f:\n"
             "    for i in range(%d):\n"
             "        data = {\"x\": np.arange(%d, dtype=np.float64) + i,\n"
             "                \"index\": np.array([i, i + 1], dtype=np.int64),\n"
             "                \"label\": \"record %%d\" %% i, \"n\": i}\n"
             "        pickle.dump({\"data\": data, \"key\": \"r%%04d\" %% i}, f)\n"
             "print(1)\n",
             path, PICKLE_RECORDS, PICKLE_ELEMENTS);
    return bench_python(program);
}

/* corelay's reading: pickle.load until EOFError, into a dict; the median of reps, in us. */
static double pickle_load_us(const char *path, int reps)
{
    char program[PROGRAM_CHARS];
    snprintf(program, sizeof program,
             "import pickle, time, statistics\n"
             "times = []\n"
             "for _ in range(%d):\n"
             "    t = time.perf_counter()\n"
             "    data = {}\n"
             "    with open(\"%s\", \"rb\") as f:\n"
             "        try:\n"
             "            while True:\n"
             "                d = pickle.load(f)\n"
             "                data[d[\"key\"]] = d[\"data\"]\n"
             "        except EOFError:\n"
             "            pass\n"
             "    value = data[\"r0500\"]\n"
             "    times.append(time.perf_counter() - t)\n"
             "assert len(data) == %d\n"
             "print(statistics.median(times) * 1e6)\n",
             reps, path, PICKLE_RECORDS);
    return bench_python(program);
}

struct key_list {
    char (*keys)[8];
    size_t len;
};

static stash_status note_key(void *ctx, const char *key, uint64_t bytes)
{
    (void)bytes;
    struct key_list *l = ctx;
    if (l->len == PICKLE_RECORDS || strlen(key) >= sizeof l->keys[0])
        return STASH_E_CORRUPT;
    strcpy(l->keys[l->len++], key);
    return STASH_OK;
}

/* A fresh read-only handle: every key listed, then got (all != NULL) or one key got. */
static stash_status stash_pickle_read_us(const char *uri, bool all, double *us)
{
    static char keys[PICKLE_RECORDS][8];
    struct key_list l = {keys, 0};
    stash_store_options read_only = {.flags = STASH_STORE_READ_ONLY};
    stash_store *store = NULL;
    double t0 = bench_seconds();
    stash_status st = stash_store_open(uri, &read_only, &store);
    if (st == STASH_OK && all)
        st = stash_store_list(store, note_key, &l);
    if (st == STASH_OK && all && l.len != PICKLE_RECORDS)
        st = STASH_E_CORRUPT;
    for (size_t i = 0; i < (all ? l.len : 1) && st == STASH_OK; i++) {
        stash_value *v = NULL;
        st = stash_store_get(store, all ? l.keys[i] : "r0500", &v);
        bench_sink(stash_value_length(v));
        stash_value_free(&v);
    }
    stash_status closed = stash_store_close(&store);
    *us = (bench_seconds() - t0) * 1e6;
    return st == STASH_OK ? closed : st;
}

/* Rounds of stash's reads, then Python's: the ratio is the median of the rounds' ratios. */
#define PICKLE_ROUNDS 3

static void bench_pickle(struct bench_config *c, const char *dir)
{
    int reps = c->quick ? 3 : 7;
    char path[PATH_CHARS + 64], uri[PATH_CHARS + 80], what[160], a[96], b[96];
    snprintf(path, sizeof path, "%s/corelay.pkl", dir);
    snprintf(uri, sizeof uri, "pickle:%s", path);
    if (isnan(write_pickle_file(path))) {
        bench_fail(c, "pickle: the file of records", "/usr/bin/python3 with NumPy could not write it");
        return;
    }
    double all_us[PICKLE_ROUNDS], one_us[PICKLE_ROUNDS], theirs_us[PICKLE_ROUNDS];
    double all_ratio[PICKLE_ROUNDS], one_ratio[PICKLE_ROUNDS];
    stash_status st = STASH_OK;
    for (int round = 0; round < PICKLE_ROUNDS && st == STASH_OK; round++) {
        double all[MAX_REPS], one[MAX_REPS];
        for (int r = 0; r < reps && st == STASH_OK; r++) {
            st = stash_pickle_read_us(uri, true, &all[r]);
            if (st == STASH_OK)
                st = stash_pickle_read_us(uri, false, &one[r]);
        }
        all_us[round] = bench_median(all, (size_t)reps);
        one_us[round] = bench_median(one, (size_t)reps);
        theirs_us[round] = pickle_load_us(path, reps);
        all_ratio[round] = theirs_us[round] / all_us[round];
        one_ratio[round] = theirs_us[round] / one_us[round];
    }
    char title[240];
    snprintf(title, sizeof title,
             "Result store: a corelay PickleStorage file of %d records (a dict with a %d-element "
             "float64 array each), read from a fresh handle (medians of %d, %d rounds of stash "
             "then Python)",
             PICKLE_RECORDS, PICKLE_ELEMENTS, reps, PICKLE_ROUNDS);
    bench_table(c, title);
    if (st != STASH_OK) {
        bench_fail_status(c, "pickle: reading the file of records", st);
        return;
    }
    double theirs = bench_median(theirs_us, PICKLE_ROUNDS);
    snprintf(b, sizeof b, "%.0f us (pickle.load loop, as corelay)", theirs);
    snprintf(a, sizeof a, "%.0f us", bench_median(all_us, PICKLE_ROUNDS));
    snprintf(what, sizeof what, "pickle: every record, list + get each (ratio: speed-up)");
    bench_row(c, what, a, b, bench_median(all_ratio, PICKLE_ROUNDS), ">= 5");
    snprintf(a, sizeof a, "%.0f us", bench_median(one_us, PICKLE_ROUNDS));
    snprintf(what, sizeof what, "pickle: get of one key (ratio: speed-up over loading all)");
    bench_row(c, what, a, b, bench_median(one_ratio, PICKLE_ROUNDS), NULL);
}

/* ---- redis: beside raw hiredis and python3-redis, on a server of its own -------------- */

/* The bench starts its own redis-server, as the tests do, and always stops it. */
#include "redis_server.h"

#define REDIS_SIZES 3

/* The median time of reps SETs (PUT) of bytes under fresh keys, or GETs of them, with
 * raw hiredis: the network's and the server's own cost of the same bytes. */
static double raw_us(redisContext *ctx, int op, const void *data, size_t bytes, int reps)
{
    double times[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        double t0 = bench_seconds();
        redisReply *r = op == PUT ? redisCommand(ctx, "SET raw%d %b", i, data, bytes)
                                  : redisCommand(ctx, "GET raw%d", i);
        bool ok = r && r->type != REDIS_REPLY_ERROR && (op == PUT || (size_t)r->len == bytes);
        if (r)
            freeReplyObject(r);
        times[i] = (bench_seconds() - t0) * 1e6;
        if (!ok)
            return NAN;
    }
    return bench_median(times, (size_t)reps);
}

/* What a Python user would otherwise write: redis-py with pickled NumPy arrays. */
static double python_redis_us(const char *socket, int op, size_t count, int reps)
{
    char program[PROGRAM_CHARS];
    snprintf(program, sizeof program,
             "import redis, pickle, numpy as np, time, statistics\n"
             "r = redis.Redis(unix_socket_path=\"%s\")\n"
             "a = np.arange(%zu, dtype=np.float64)\n"
             "put, get = [], []\n"
             "for i in range(%d):\n"
             "    t = time.perf_counter()\n"
             "    r.set(\"py%%d\" %% i, pickle.dumps(a, protocol=5))\n"
             "    put.append(time.perf_counter() - t)\n"
             "for i in range(%d):\n"
             "    t = time.perf_counter()\n"
             "    b = pickle.loads(r.get(\"py%%d\" %% i))\n"
             "    get.append(time.perf_counter() - t)\n"
             "    assert b.shape == a.shape\n"
             "print(statistics.median(%s) * 1e6)\n",
             socket, count, reps, reps, op == PUT ? "put" : "get");
    return bench_python(program);
}

static void flush_server(redisContext *ctx)
{
    redisReply *r = redisCommand(ctx, "FLUSHALL");
    if (r)
        freeReplyObject(r);
}

struct redis_case {
    size_t bytes;
    int reps;
    double ours[ROUNDS][OPS], raw[ROUNDS][OPS];
    stash_status status;
};

/* One round of one size: raw hiredis, then stash, on an emptied server. */
static void redis_round(redisContext *ctx, const char *uri, struct redis_case *s, int r)
{
    stash_value *value = NULL;
    const stash_array_desc *desc;
    const void *data = NULL;
    stash_status status = new_arange(s->bytes / 8, &value);
    if (status == STASH_OK)
        status = stash_value_get_array(value, &desc, &data);
    flush_server(ctx);
    for (int op = 0; op < OPS && status == STASH_OK; op++)
        s->raw[r][op] = raw_us(ctx, op, data, s->bytes, s->reps);
    flush_server(ctx);
    struct measured m[OPS] = {{status, NAN}, {status, NAN}};
    if (status == STASH_OK)
        measure_store(uri, 0, value, s->reps, m);
    for (int op = 0; op < OPS; op++)
        s->ours[r][op] = m[op].us;
    if (s->status == STASH_OK)
        s->status = m[PUT].status != STASH_OK ? m[PUT].status : m[GET].status;
    flush_server(ctx);
    stash_value_free(&value);
}

static void redis_row(struct bench_config *c, const struct redis_case *s, int op,
                      const char *target)
{
    char size[32], what[128], a[96], b[96];
    size_label(size, sizeof size, s->bytes);
    snprintf(what, sizeof what, "redis: %s %s (ratio: time / raw hiredis %s's)",
             op == PUT ? "put" : "get", size, op == PUT ? "SET" : "GET");
    if (s->status != STASH_OK) {
        bench_fail_status(c, what, s->status);
        return;
    }
    double ours[ROUNDS], raw[ROUNDS], ratios[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        ours[r] = s->ours[r][op];
        raw[r] = s->raw[r][op];
        ratios[r] = ours[r] / raw[r];
    }
    double mib_per_s = 1e6 / (double)MIB * (double)s->bytes;
    if (s->bytes >= MIB) {
        snprintf(a, sizeof a, "%.0f MiB/s", mib_per_s / bench_median(ours, ROUNDS));
        snprintf(b, sizeof b, "%.0f MiB/s", mib_per_s / bench_median(raw, ROUNDS));
    } else {
        snprintf(a, sizeof a, "%.1f us", bench_median(ours, ROUNDS));
        snprintf(b, sizeof b, "%.1f us", bench_median(raw, ROUNDS));
    }
    bench_row_rounds(c, what, a, b, ratios, ROUNDS, target);
}

static void python_row(struct bench_config *c, const char *socket, const struct redis_case *s,
                       int op)
{
    char what[128], a[96], b[96];
    snprintf(what, sizeof what, "redis: %s 64 MiB array (ratio: time / python3-redis + pickle's)",
             op == PUT ? "put" : "get");
    double ours[ROUNDS];
    for (int r = 0; r < ROUNDS; r++)
        ours[r] = s->ours[r][op];
    double us = bench_median(ours, ROUNDS);
    double theirs = python_redis_us(socket, op, s->bytes / 8, s->reps);
    snprintf(a, sizeof a, "%.1f ms", us / 1e3);
    snprintf(b, sizeof b, "%.1f ms", theirs / 1e3);
    bench_row(c, what, a, b, us / theirs, "<= 0.1");
}

/* A memoised hit of an 80 B input over Redis, beside joblib.Memory's hit on local disk. */
static void redis_memo_row(struct bench_config *c, const char *uri, const char *dir)
{
    const char *what = "redis: stash_store_memoise hit, 80 B input (ratio: time / joblib's "
                       "local hit)";
    int hits = c->quick ? 201 : 2001, joblib_hits = c->quick ? 101 : 401;
    stash_store *store = NULL;
    stash_value *small = NULL;
    double us = NAN;
    stash_status status = stash_store_open(uri, NULL, &store);
    if (status == STASH_OK)
        status = new_arange(10, &small);
    if (status == STASH_OK)
        status = memo_hit_us(store, small, hits, &us);
    stash_value_free(&small);
    stash_store_close(&store);
    if (status != STASH_OK) {
        bench_fail_status(c, what, status);
        return;
    }
    double joblib_us = joblib_hit_us(dir, 10, joblib_hits);
    char a[96], b[96];
    snprintf(a, sizeof a, "%.1f us", us);
    snprintf(b, sizeof b, "%.1f us (joblib.Memory hit)", joblib_us);
    bench_row(c, what, a, b, us / joblib_us, NULL);
}

static void bench_redis(struct bench_config *c, const char *dir)
{
    struct redis_server srv = {0};
    if (redis_server_start(&srv, NULL) != 0) {
        bench_fail(c, "redis: the bench's own redis-server", "it did not start (is it installed?)");
        return;
    }
    redisContext *ctx = redisConnectUnix(srv.socket);
    if (!ctx || ctx->err) {
        bench_fail(c, "redis: raw hiredis", "could not connect");
        if (ctx)
            redisFree(ctx);
        redis_server_stop(&srv);
        return;
    }
    struct redis_case cases[REDIS_SIZES] = {
        {.bytes = 80, .reps = c->quick ? 201 : 2001},
        {.bytes = MIB, .reps = c->quick ? 11 : 101},
        {.bytes = 64 * MIB, .reps = c->quick ? 2 : 5},
    };
    char uri[400];
    snprintf(uri, sizeof uri, "%s?timeout_ms=30000", srv.uri);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < REDIS_SIZES; i++)
            redis_round(ctx, uri, &cases[i], r);
    char title[200];
    snprintf(title, sizeof title,
             "Result store: redis: put and get of a float64 array on a local redis-server "
             "(Unix socket), each under a fresh key (medians of %d, %d and %d ops; %d rounds)",
             cases[0].reps, cases[1].reps, cases[2].reps, ROUNDS);
    bench_table(c, title);
    for (int i = 0; i < REDIS_SIZES; i++)
        for (int op = 0; op < OPS; op++)
            redis_row(c, &cases[i], op,
                      cases[i].bytes >= MIB ? "<= 1.25" : op == GET ? "<= 1.5" : NULL);
    if (cases[2].status == STASH_OK) {
        for (int op = 0; op < OPS; op++)
            python_row(c, srv.socket, &cases[2], op);
    }
    redis_memo_row(c, uri, dir);
    redisFree(ctx);
    redis_server_stop(&srv);
}

static const char STORE_METHOD[] =
    "Baselines from the same run: joblib (`joblib.hash` with md5, `joblib.Memory`) and h5py on a\n"
    "file it keeps open, all through `/usr/bin/python3`. The small memoised hit costs one system\n"
    "call: the handle's cache of small entries is validated by one `fstatat` of the entry\n"
    "(docs/store.md). Puts and gets run in three rounds, each round every backend and then h5py\n"
    "on fresh files; each ratio is the median of the rounds' ratios, because page-cache writes\n"
    "on this host drift by a third from one minute to the next. `hdf5: exclusive` is the\n"
    "like-for-like comparison with h5py, which keeps its file open; `hdf5: shared` opens and\n"
    "closes the file under the lock on every call (about 100 us), so other processes can use it\n"
    "between calls, and has no target. Both write through stash's journaling file driver (the\n"
    "rollback journal that makes hdf5: puts crash-safe); the same rounds also put into stores\n"
    "with the journal turned off, through HDF5's own sec2 driver, which gives the journal's cost\n"
    "as a ratio. `dir:` gets return zero-copy views of a mapping while h5py\n"
    "copies: those ratios show the design, not equal work. A `dir:` put is a create, a write, a\n"
    "close and a rename; each system call here costs 1 to 3 us or more under load, so small puts\n"
    "swing with whatever else the host runs. The pickle: file is written by Python as corelay's\n"
    "PickleStorage writes it; stash reads it through a fresh read-only handle (listing builds the\n"
    "handle's index, then each get reads its record), Python with corelay's loop of pickle.load\n"
    "into a dict, which is also corelay's only way to read one key; three rounds of stash then\n"
    "Python, each ratio the median of the rounds' ratios.\n"
    "`redis:` runs against a redis-server the bench starts on a Unix socket (and stops), beside\n"
    "raw hiredis SET and GET of the array's bytes on the same server in the same round: that is\n"
    "the socket's and the server's own cost, which a put or get of the same bytes cannot beat. A\n"
    "target of <= 1.25 in time is >= 0.8 of the raw throughput. The 64 MiB array is also put\n"
    "and got by python3-redis with pickle (protocol 5), what a Python user would otherwise write.\n";

void bench_store(struct bench_config *c)
{
    bench_section(c, "Result store: content keys, memoised hits, puts and gets", STORE_METHOD);
    char dir[PATH_CHARS];
    snprintf(dir, sizeof dir, "%s/stash-bench-store-XXXXXX", c->scratch_dir);
    if (mkdtemp(dir) == NULL) {
        bench_fail_status(c, dir, -errno);
        return;
    }
    size_t big_bytes = (c->quick ? 32 : 512) * MIB;
    stash_value *big = NULL;
    stash_status status = new_arange(big_bytes / 8, &big);
    if (status == STASH_OK) {
        bench_hash(c, big, big_bytes);
        bench_memoise(c, dir, big, big_bytes);
    } else {
        bench_fail_status(c, "store: the input array", status);
    }
    stash_value_free(&big); /* before the put and get runs, which want the memory quiet */
    bench_put_get(c, dir);
    bench_pickle(c, dir);
    bench_redis(c, dir);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
