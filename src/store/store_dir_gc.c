/*
 * The dir: backend's upkeep: the recency log, eviction of the least
 * recently used entries, and sweeping the files of writers that died.
 *
 * Recency is the order of lines in .stash-lru: each get and put adds the
 * entry's file name. Processes buffer their lines and append them a batch at
 * a time (one O_APPEND write, which Linux does not interleave with
 * another's), so a get costs no system call of its own. The log is only an
 * ordering hint: a lost line makes an entry look older, nothing worse. gc
 * rewrites the log with one line per surviving entry, oldest first; so does
 * a writer whose batch finds the log grown past LOG_COMPACT_FACTOR times its
 * size after the last rewrite (and past LOG_COMPACT_MIN), so hits alone
 * cannot grow it without bound.
 */
#include "store/store_dir.h"
#include "core/sysio.h"

#include <stash/stream.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A temp file older than this is swept even if it is locked. */
#define STALE_TEMP_SECONDS (24 * 3600)
/* An unlocked temp file younger than this may be one whose writer is between
 * creating it and locking it. */
#define UNLOCKED_TEMP_SECONDS 5
/* The most of the log gc reads: its newest part. */
#define LOG_READ_MAX (16u << 20)
/* The log is compacted when it passes both. */
#define LOG_COMPACT_MIN (256u << 10)
#define LOG_COMPACT_FACTOR 4

static void compact_log(struct dir_store *d, uint64_t size);

/* ---- The recency log -------------------------------------------------------------- */

void dir_flush_uses(struct dir_store *d)
{
    int fd;
    if (d->recent_len == 0 || (d->options.flags & STASH_STORE_READ_ONLY) ||
        dir_open_own(d, DIR_LRU, O_WRONLY | O_APPEND | O_CREAT, &fd) != STASH_OK) {
        d->recent_len = 0;
        return;
    }
    sysio_pwrite_full(fd, d->recent, d->recent_len, 0, NULL); /* O_APPEND: at the end */
    d->recent_len = 0;
    struct stat st;
    bool grown = fstat(fd, &st) == 0 && (uint64_t)st.st_size > LOG_COMPACT_MIN &&
                 (uint64_t)st.st_size > d->log_compact_at;
    sysio_close(fd);
    if (grown)
        compact_log(d, (uint64_t)st.st_size);
}

void dir_note_use(struct dir_store *d, const char *name)
{
    size_t len = strlen(name);
    assert(len <= DIR_NAME_MAX); /* an entry's file name (dir_name_of), so a record fits */
    if (d->options.flags & STASH_STORE_READ_ONLY)
        return; /* records nothing */
    if (d->recent_len + len + 1 > sizeof d->recent)
        dir_flush_uses(d);
    memcpy(d->recent + d->recent_len, name, len);
    d->recent[d->recent_len + len] = '\n';
    d->recent_len += len + 1;
    assert(d->recent_len <= sizeof d->recent);
}

/* ---- Scanning --------------------------------------------------------------------- */

struct entry_file {
    char name[DIR_NAME_MAX + 1];
    uint64_t bytes;
    int64_t mtime_ns;
    int64_t last_use; /* line number in the log; -1 if absent */
};

struct entry_files {
    struct entry_file *items;
    size_t len, cap;
};

static stash_status add_file(struct entry_files *f, const char *name, const struct stat *st)
{
    if (f->len == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct entry_file *items = realloc(f->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        f->items = items;
        f->cap = cap;
    }
    struct entry_file *e = &f->items[f->len++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->bytes = (uint64_t)st->st_size;
    e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    e->last_use = -1;
    return STASH_OK;
}

static bool is_entry_name(const char *name)
{
    char key[STASH_STORE_KEY_MAX + 1];
    return dir_key_of(name, key) == STASH_OK;
}

/* "<entry name>.tmp-...": an entry's temporary (sysio_aside_open names them). */
static bool is_temp_name(const char *name)
{
    return name[0] != '.' && strstr(name, DIR_ENTRY_SUFFIX ".tmp-") != NULL;
}

/*
 * Whether a temporary's writer is gone. Its writer holds a lock on it from
 * creation to rename (sysio_aside_held), which a killed process loses at
 * once, whatever PID namespace or machine it ran in. A file created by name
 * (no O_TMPFILE) is unlocked for the instant between its open and its flock,
 * so an unlocked temporary must also be a few seconds old; one a day old is
 * swept in any case (a writer stuck that long, or a lock the file system
 * does not share between machines).
 */
static bool writer_is_gone(int dir, const char *name, const struct stat *st)
{
    time_t age = time(NULL) - st->st_mtim.tv_sec;
    if (age > STALE_TEMP_SECONDS)
        return true;
    bool held = true;
    return age >= UNLOCKED_TEMP_SECONDS && sysio_aside_held(dir, name, &held) == STASH_OK &&
           !held;
}

/* Calls visit for each regular file in the store's directory. */
static stash_status scan(struct dir_store *d,
                         stash_status (*visit)(void *ctx, int dir, const char *name,
                                               const struct stat *st),
                         void *ctx)
{
    DIR *dir = opendir(d->root);
    if (!dir)
        return -errno;
    stash_status status = STASH_OK;
    struct dirent *e;
    while (status == STASH_OK && (errno = 0, e = readdir(dir)) != NULL) {
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            status = visit(ctx, dirfd(dir), e->d_name, &st);
    }
    if (status == STASH_OK && errno != 0)
        status = -errno;
    closedir(dir);
    return status;
}

void dir_remove_index(const struct dir_store *d, const char *name)
{
    char index[DIR_NAME_MAX + sizeof STASH_NCO_INDEX_SUFFIX];
    snprintf(index, sizeof index, "%s" STASH_NCO_INDEX_SUFFIX, name);
    unlinkat(d->dir_fd, index, 0); /* none is the usual case */
}

/* "<entry name>.stashidx" whose entry is gone: an index older versions wrote
 * (reading an entry once made one), left behind by a delete or eviction. */
static bool is_orphan_index(int dir, const char *name)
{
    char entry[DIR_NAME_MAX + 1];
    size_t n = strlen(name), suffix = strlen(STASH_NCO_INDEX_SUFFIX);
    if (n <= suffix || n - suffix > DIR_NAME_MAX ||
        strcmp(name + n - suffix, STASH_NCO_INDEX_SUFFIX) != 0)
        return false;
    snprintf(entry, sizeof entry, "%.*s", (int)(n - suffix), name);
    struct stat st;
    return is_entry_name(entry) && fstatat(dir, entry, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
           errno == ENOENT;
}

static stash_status sweep_one(void *ctx, int dir, const char *name, const struct stat *st)
{
    uint64_t *swept = ctx;
    if (is_temp_name(name) && writer_is_gone(dir, name, st) && unlinkat(dir, name, 0) == 0)
        ++*swept;
    else if (is_orphan_index(dir, name))
        unlinkat(dir, name, 0);
    return STASH_OK;
}

stash_status dir_sweep(struct dir_store *d, uint64_t *swept)
{
    uint64_t count = 0;
    stash_status st = scan(d, sweep_one, &count);
    if (swept)
        *swept = count;
    return st;
}

static stash_status collect_entry(void *ctx, int dir, const char *name, const struct stat *st)
{
    (void)dir;
    return is_entry_name(name) ? add_file(ctx, name, st) : STASH_OK;
}

stash_status dir_total_bytes(struct dir_store *d, uint64_t *bytes, uint64_t *entries)
{
    struct entry_files files = {0};
    stash_status st = scan(d, collect_entry, &files);
    uint64_t total = 0;
    for (size_t i = 0; i < files.len; i++)
        total += files.items[i].bytes;
    free(files.items);
    if (st == STASH_OK) {
        *bytes = total;
        if (entries)
            *entries = files.len;
    }
    return st;
}

/* ---- Eviction ----------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct entry_file *)a)->name, ((const struct entry_file *)b)->name);
}

/* Least recently used first; entries the log never saw by age. */
static int by_recency(const void *a, const void *b)
{
    const struct entry_file *x = a, *y = b;
    if (x->last_use != y->last_use)
        return x->last_use < y->last_use ? -1 : 1;
    return (x->mtime_ns > y->mtime_ns) - (x->mtime_ns < y->mtime_ns);
}

/* Marks each entry (sorted by name) with its last line in the log. */
static void read_log(struct dir_store *d, struct entry_files *files)
{
    int fd;
    struct stat st;
    if (dir_open_own(d, DIR_LRU, O_RDONLY, &fd) != STASH_OK)
        return;
    if (fstat(fd, &st) != 0) {
        sysio_close(fd);
        return;
    }
    uint64_t size = (uint64_t)st.st_size, from = size > LOG_READ_MAX ? size - LOG_READ_MAX : 0;
    char *log = malloc((size_t)(size - from) + 1);
    size_t got = 0;
    if (log && sysio_pread_full(fd, log, (size_t)(size - from), from, &got) == STASH_OK) {
        log[got] = '\0';
        int64_t line = 0;
        for (char *save = NULL, *name = strtok_r(log, "\n", &save); name;
             name = strtok_r(NULL, "\n", &save), line++) {
            struct entry_file probe;
            snprintf(probe.name, sizeof probe.name, "%s", name);
            struct entry_file *e = bsearch(&probe, files->items, files->len, sizeof probe, by_name);
            if (e)
                e->last_use = line;
        }
    }
    free(log);
    sysio_close(fd);
}

/* One line per surviving entry, oldest first, written aside and renamed. */
static stash_status write_log(int fd, void *ctx)
{
    const struct entry_files *kept = ctx;
    stash_stream *s;
    stash_status st = stash_stream_open_fd(fd, "w", &s);
    for (size_t i = 0; i < kept->len && st == STASH_OK; i++) {
        st = stash_stream_write(s, kept->items[i].name, strlen(kept->items[i].name));
        if (st == STASH_OK)
            st = stash_stream_write(s, "\n", 1);
    }
    stash_status closed = s ? stash_stream_close(&s) : STASH_OK;
    return st != STASH_OK ? st : closed;
}

static stash_status evict(struct dir_store *d, struct entry_files *files, uint64_t max_bytes,
                          stash_store_gc_stats *stats)
{
    if (files->len) {
        qsort(files->items, files->len, sizeof *files->items, by_name);
        read_log(d, files);
        qsort(files->items, files->len, sizeof *files->items, by_recency);
    }
    uint64_t total = stats->bytes;
    size_t first_kept = 0;
    char path[PATH_MAX];
    while (first_kept < files->len && total > max_bytes) {
        struct entry_file *e = &files->items[first_kept++];
        if (dir_path(d, e->name, path, sizeof path) == STASH_OK && unlink(path) == 0) {
            dir_remove_index(d, e->name);
            total -= e->bytes;
            stats->evicted_entries++;
            stats->evicted_bytes += e->bytes;
        }
    }
    struct entry_files kept = {files->len ? files->items + first_kept : NULL,
                               files->len - first_kept, 0};
    if (dir_path(d, DIR_LRU, path, sizeof path) != STASH_OK)
        return STASH_OK;
    return sysio_publish(path, write_log, &kept, false);
}

/* gc's work, with the lock held alone. */
static stash_status gc_locked(struct dir_store *d, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    struct entry_files files = {0};
    stash_status st = dir_sweep(d, &stats->swept_temps);
    if (st == STASH_OK)
        st = scan(d, collect_entry, &files);
    for (size_t i = 0; i < files.len; i++)
        stats->bytes += files.items[i].bytes;
    stats->entries = files.len;
    if (st == STASH_OK)
        st = evict(d, &files, max_bytes, stats);
    free(files.items);
    struct stat log;
    if (st == STASH_OK && fstatat(d->dir_fd, DIR_LRU, &log, AT_SYMLINK_NOFOLLOW) == 0)
        d->log_compact_at = (uint64_t)log.st_size * LOG_COMPACT_FACTOR;
    return st;
}

stash_status dir_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    struct dir_store *d = impl;
    if (d->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    *stats = (stash_store_gc_stats){0};
    dir_flush_uses(d);
    stash_status locked = sysio_flock(d->lock_fd, LOCK_EX);
    if (locked != STASH_OK)
        return locked;
    stash_status st = gc_locked(d, max_bytes, stats);
    flock(d->lock_fd, LOCK_UN);
    return st;
}

/*
 * Rewrites the log as gc would, evicting nothing. Skipped, and not tried
 * again until the log doubles, if another process holds the lock: a batch
 * of recency records never waits for gc.
 */
static void compact_log(struct dir_store *d, uint64_t size)
{
    stash_store_gc_stats stats = {0};
    if (sysio_flock(d->lock_fd, LOCK_EX | LOCK_NB) != STASH_OK) {
        d->log_compact_at = size * 2;
        return;
    }
    gc_locked(d, UINT64_MAX, &stats);
    flock(d->lock_fd, LOCK_UN);
}
