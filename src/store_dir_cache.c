/*
 * The dir: backend's cache of small entries, which makes a memoised hit
 * cost no system call.
 *
 * Every change a stash process makes to a store (a put's rename, a delete,
 * gc's evictions) adds one to a counter in the mapped lock file, after the
 * change. A handle keeps copies of the small entries it read, each stamped
 * with the counter it was last checked at: while the counter has not moved,
 * no stash process has changed the store, and the copy is what the file
 * holds. When it has moved, one fstatat tells whether this entry is still
 * the same file (device, inode, size and modification time; a put always
 * makes a new inode). Changes made behind stash's back (rm by hand) do not
 * move the counter, so copies are also checked with fstatat once they are
 * a second old.
 */
#include "store_dir.h"
#include "nco_internal.h"
#include "sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define TRUST_NS 1000000000ll /* how long a copy is trusted on the counter alone */

struct cached_entry {
    char name[DIR_NAME_MAX + 1]; /* "" when empty */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint64_t stamp;      /* the change counter when last checked */
    int64_t checked_ns;  /* and the time */
    unsigned char *bytes;
    size_t len;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

stash_status dir_counter_map(struct dir_store *d, bool writable)
{
    struct stat st;
    if (d->lock_fd < 0 || fstat(d->lock_fd, &st) != 0)
        return STASH_OK; /* no lock file: no counter, so every copy is checked */
    if (st.st_size < DIR_LOCK_BYTES && (!writable || ftruncate(d->lock_fd, DIR_LOCK_BYTES) != 0))
        return STASH_OK;
    void *p = mmap(NULL, DIR_LOCK_BYTES, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
                   d->lock_fd, 0);
    if (p != MAP_FAILED)
        d->changes = p;
    return STASH_OK;
}

void dir_counter_unmap(struct dir_store *d)
{
    if (d->changes)
        munmap((void *)d->changes, DIR_LOCK_BYTES);
    d->changes = NULL;
    for (size_t i = 0; d->cache && i < DIR_CACHE_SLOTS; i++)
        free(d->cache[i].bytes);
    free(d->cache);
    d->cache = NULL;
}

static uint64_t changes_seen(const struct dir_store *d)
{
    return d->changes ? atomic_load_explicit(d->changes, memory_order_acquire) : 0;
}

void dir_changed(struct dir_store *d)
{
    if (d->changes && !(d->options.flags & STASH_STORE_READ_ONLY))
        atomic_fetch_add_explicit(d->changes, 1, memory_order_release);
}

static struct cached_entry *slot_of(struct dir_store *d, const char *name)
{
    if (!d->cache && !(d->cache = calloc(DIR_CACHE_SLOTS, sizeof *d->cache)))
        return NULL;
    return &d->cache[XXH3_64bits(name, strlen(name)) % DIR_CACHE_SLOTS];
}

static bool same_file(const struct cached_entry *c, const struct stat *st)
{
    return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
           c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void forget(struct cached_entry *c)
{
    free(c->bytes);
    memset(c, 0, sizeof *c);
}

static void remember(struct cached_entry *c, const char *name, const struct stat *st,
                     const void *bytes, size_t len, uint64_t stamp)
{
    forget(c);
    if (!(c->bytes = malloc(len ? len : 1)))
        return;
    memcpy(c->bytes, bytes, len);
    c->len = len;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->dev = st->st_dev;
    c->ino = st->st_ino;
    c->size = st->st_size;
    c->mtime = st->st_mtim;
    c->stamp = stamp;
    c->checked_ns = now_ns();
}

/* A heap copy of the cached bytes, for an NCO handle to own. */
static stash_status open_copy(const struct cached_entry *c, stash_nco **nco)
{
    void *copy = malloc(c->len ? c->len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, c->bytes, c->len);
    return nco_open_heap(copy, c->len, nco);
}

/* The file itself: one pread for a small one (kept in c), a mapping otherwise. */
static stash_status open_file(struct dir_store *d, const char *name, struct cached_entry *c,
                              uint64_t stamp, stash_nco **nco)
{
    int fd = openat(d->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    struct stat st;
    unsigned char first[SMALL_ENTRY_BYTES];
    ssize_t got = fstat(fd, &st) == 0 ? pread(fd, first, sizeof first, 0) : -1;
    stash_status status;
    if (got < 0) {
        status = -errno;
    } else if ((size_t)got < sizeof first && got == st.st_size) {
        if (c)
            remember(c, name, &st, first, (size_t)got, stamp);
        void *copy = malloc(got ? (size_t)got : 1);
        status = copy ? STASH_OK : -ENOMEM;
        if (copy) {
            memcpy(copy, first, (size_t)got);
            status = nco_open_heap(copy, (size_t)got, nco);
        }
    } else {
        status = nco_open_fd(fd, name, STASH_NCO_NO_INDEX, nco);
    }
    sysio_close(fd);
    return status;
}

stash_status dir_open_entry(struct dir_store *d, const char *name, stash_nco **nco)
{
    struct cached_entry *c = slot_of(d, name);
    uint64_t stamp = changes_seen(d);
    if (c && strcmp(c->name, name) == 0) {
        if (d->changes && c->stamp == stamp && now_ns() - c->checked_ns < TRUST_NS)
            return open_copy(c, nco);
        struct stat st;
        if (fstatat(d->dir_fd, name, &st, 0) != 0) {
            forget(c);
            return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
        }
        if (same_file(c, &st)) {
            c->stamp = stamp;
            c->checked_ns = now_ns();
            return open_copy(c, nco);
        }
    }
    return open_file(d, name, c, stamp, nco);
}
