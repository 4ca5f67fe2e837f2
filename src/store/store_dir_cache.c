/*
 * The dir: backend's cache of small entries, which makes a memoised hit
 * cost one fstatat and no read.
 *
 * A handle keeps copies of the small entries it read, each with the file's
 * identity (device, inode, size, modification and change times). A hit
 * checks that identity with one fstatat: a put always makes a new inode
 * (write aside, rename), and an edit in place (cp over the entry, by hand)
 * changes the times, so a copy that still matches is what the file holds.
 *
 * Nothing here is shared between processes. An earlier version kept a
 * change counter mapped from the lock file, to skip the fstatat; any
 * process that could open the lock file could truncate it and kill every
 * process of the store with SIGBUS, so the store maps no file it does not
 * hand to its caller (docs/reliability.md, "Paths and files").
 */
#include "store/store_dir.h"
#include "nco/nco_internal.h"
#include "core/sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct cached_entry {
    char name[DIR_NAME_MAX + 1]; /* "" when empty */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    unsigned char *bytes;
    size_t len;
};

void dir_cache_free(struct dir_store *d)
{
    for (size_t i = 0; d->cache && i < DIR_CACHE_SLOTS; i++)
        free(d->cache[i].bytes);
    free(d->cache);
    d->cache = NULL;
}

static struct cached_entry *slot_of(struct dir_store *d, const char *name)
{
    if (!d->cache && !(d->cache = calloc(DIR_CACHE_SLOTS, sizeof *d->cache)))
        return NULL;
    return &d->cache[XXH3_64bits(name, strlen(name)) % DIR_CACHE_SLOTS];
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_file(const struct cached_entry *c, const struct stat *st)
{
    return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
           same_time(&c->mtime, &st->st_mtim) && same_time(&c->ctime, &st->st_ctim);
}

static void forget(struct cached_entry *c)
{
    free(c->bytes);
    memset(c, 0, sizeof *c);
}

static void remember(struct cached_entry *c, const char *name, const struct stat *st,
                     const void *bytes, size_t len)
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
    c->ctime = st->st_ctim;
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

/* A large entry read whole into memory (STASH_STORE_COPY): no mapping a foreign writer can cut. */
static stash_status open_whole_copy(int fd, const struct stat *st, stash_nco **nco)
{
    if ((uint64_t)st->st_size > SIZE_MAX)
        return -ENOMEM;
    size_t len = (size_t)st->st_size, got = 0;
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    stash_status status = sysio_pread_full(fd, copy, len, 0, &got);
    if (status != STASH_OK) {
        free(copy);
        return status;
    }
    return nco_open_heap(copy, got, nco); /* a file cut meanwhile reads as a short one */
}

/* The file itself: one pread for a small one (kept in c), a mapping otherwise. */
static stash_status open_file(struct dir_store *d, const char *name, struct cached_entry *c,
                              stash_nco **nco)
{
    int fd;
    stash_status opened = dir_open_own(d, name, O_RDONLY, &fd);
    if (opened != STASH_OK)
        return opened == -ENOENT ? STASH_E_NOT_FOUND : opened;
    struct stat st;
    unsigned char first[SMALL_ENTRY_BYTES];
    ssize_t got = fstat(fd, &st) == 0 ? pread(fd, first, sizeof first, 0) : -1;
    stash_status status;
    if (got < 0) {
        status = -errno;
    } else if ((size_t)got < sizeof first && got == st.st_size) {
        if (c)
            remember(c, name, &st, first, (size_t)got);
        void *copy = malloc(got ? (size_t)got : 1);
        status = copy ? STASH_OK : -ENOMEM;
        if (copy) {
            memcpy(copy, first, (size_t)got);
            status = nco_open_heap(copy, (size_t)got, nco);
        }
    } else if (d->options.flags & STASH_STORE_COPY) {
        status = open_whole_copy(fd, &st, nco);
    } else {
        status = nco_open_fd(fd, name, STASH_NCO_NO_INDEX, nco);
    }
    sysio_close(fd);
    return status;
}

stash_status dir_open_entry(struct dir_store *d, const char *name, stash_nco **nco)
{
    struct cached_entry *c = slot_of(d, name);
    if (c && strcmp(c->name, name) == 0) {
        struct stat st;
        if (fstatat(d->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            forget(c);
            return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
        }
        if (same_file(c, &st))
            return open_copy(c, nco);
    }
    return open_file(d, name, c, nco);
}
