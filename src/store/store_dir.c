/*
 * The dir: backend: one NCO file per entry (store_entry.c), published by
 * writing aside and renaming, so readers need no lock and never see a part
 * of an entry. Eviction and sweeping live in store_dir_gc.c.
 *
 * A put holds the lock file shared only around its rename, and gc holds it
 * alone while it evicts: so gc never removes an entry that a put has just
 * replaced on the strength of the old one's recency.
 */
#include "store/store_dir.h"
#include "core/sysio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Names ---------------------------------------------------------------------- */

/* Kept as is in file names; everything else is %XX. A leading '.' is encoded
 * too, so no entry is a hidden file or "." or "..". */
static bool plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':';
}

stash_status dir_name_of(const char *key, char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0, limit = DIR_NAME_MAX - (sizeof DIR_ENTRY_SUFFIX - 1);
    for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
        bool plain = plain_char(*k) && !(k == (const unsigned char *)key && *k == '.');
        if (n + (plain ? 1 : 3) > limit)
            return STASH_E_LIMIT;
        if (plain) {
            name[n++] = (char)*k;
        } else {
            name[n++] = '%';
            name[n++] = hex[*k >> 4];
            name[n++] = hex[*k & 15];
        }
    }
    memcpy(name + n, DIR_ENTRY_SUFFIX, sizeof DIR_ENTRY_SUFFIX);
    return STASH_OK;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

stash_status dir_key_of(const char *name, char *key)
{
    size_t len = strlen(name), suffix = sizeof DIR_ENTRY_SUFFIX - 1, n = 0;
    if (len <= suffix || len > DIR_NAME_MAX || strcmp(name + len - suffix, DIR_ENTRY_SUFFIX) != 0 ||
        name[0] == '.')
        return STASH_E_CORRUPT;
    size_t end = len - suffix;
    for (size_t i = 0; i < end; i++) {
        if (name[i] == '%') {
            int hi = i + 2 < end ? hex_digit(name[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(name[i + 2]) : -1;
            if (lo < 0)
                return STASH_E_CORRUPT;
            key[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (plain_char((unsigned char)name[i])) {
            key[n++] = name[i];
        } else {
            return STASH_E_CORRUPT;
        }
    }
    key[n] = '\0';
    return store_key_check(key) == STASH_OK ? STASH_OK : STASH_E_CORRUPT;
}

stash_status dir_path(const struct dir_store *d, const char *name, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/%s", d->root, name);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : STASH_OK;
}

/* The entry file's path for key. */
static stash_status entry_path(const struct dir_store *d, const char *key, char *name,
                               char *path, size_t cap)
{
    stash_status st = dir_name_of(key, name);
    return st == STASH_OK ? dir_path(d, name, path, cap) : st;
}

/* ---- The store's own files ------------------------------------------------------ */

static bool own_file(const struct dir_store *d, const struct stat *st)
{
    return S_ISREG(st->st_mode) && (st->st_uid == geteuid() || st->st_uid == d->owner);
}

stash_status dir_open_own(const struct dir_store *d, const char *name, int flags, int *fd)
{
    int f;
    stash_status status = sysio_open_regular(d->dir_fd, name, flags | O_NOFOLLOW, &f);
    if (status == -ELOOP || status == STASH_E_NOT_FILE || status == -EISDIR)
        return STASH_E_CORRUPT; /* a link, FIFO, device or directory planted here */
    if (status != STASH_OK)
        return status;
    struct stat st;
    status = fstat(f, &st) == 0 ? STASH_OK : -errno;
    if (status == STASH_OK && !own_file(d, &st))
        status = STASH_E_CORRUPT;
    if (status != STASH_OK) {
        sysio_close(f);
        return status;
    }
    *fd = f;
    return STASH_OK;
}

/* ---- Opening -------------------------------------------------------------------- */

static stash_status check_marker(struct dir_store *d, bool create)
{
    char text[64] = {0};
    int fd;
    stash_status st = dir_open_own(d, DIR_MARKER, O_RDONLY, &fd);
    if (st == -ENOENT && create) {
        st = dir_open_own(d, DIR_MARKER, O_RDWR | O_CREAT, &fd);
        if (st != STASH_OK)
            return st;
        st = sysio_pwrite_full(fd, DIR_MARKER_TEXT, sizeof DIR_MARKER_TEXT - 1, 0, NULL);
        stash_status closed = sysio_close(fd);
        return st != STASH_OK ? st : closed;
    }
    if (st != STASH_OK)
        return st == -ENOENT ? STASH_OK : st; /* read-only on a plain directory */
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    sysio_close(fd);
    if (got < 0)
        return -errno;
    /* An empty marker is one whose creator has not written it yet. */
    return got == 0 || strcmp(text, DIR_MARKER_TEXT) == 0 ? STASH_OK : STASH_E_VERSION;
}

static stash_status open_lock(struct dir_store *d, bool read_only)
{
    stash_status st = dir_open_own(d, DIR_LOCK, read_only ? O_RDONLY : O_RDWR | O_CREAT,
                                   &d->lock_fd);
    if (st != STASH_OK)
        d->lock_fd = -1;
    return st == -ENOENT && read_only ? STASH_OK : st;
}

static stash_status make_root(const char *path, bool read_only)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? STASH_OK : -ENOTDIR;
    if (errno != ENOENT || read_only)
        return -errno;
    return mkdir(path, 0777) == 0 || errno == EEXIST ? STASH_OK : -errno;
}

static stash_status dir_close(void *impl)
{
    struct dir_store *d = impl;
    if (!d)
        return STASH_OK;
    dir_flush_uses(d); /* the recency log is a hint: a lost batch is no failure */
    dir_cache_free(d);
    stash_status st = d->lock_fd >= 0 ? sysio_close(d->lock_fd) : STASH_OK;
    stash_status closed = d->dir_fd >= 0 ? sysio_close(d->dir_fd) : STASH_OK;
    free(d->root);
    free(d);
    return st != STASH_OK ? st : closed;
}

stash_status store_dir_open(const char *path, const stash_store_options *options, void **impl)
{
    bool read_only = options->flags & STASH_STORE_READ_ONLY;
    if (!*path)
        return STASH_E_INVALID;
    stash_status st = make_root(path, read_only);
    if (st != STASH_OK)
        return st;
    struct dir_store *d = calloc(1, sizeof *d);
    if (!d || !(d->root = strdup(path))) {
        free(d);
        return -ENOMEM;
    }
    d->options = *options;
    d->lock_fd = -1;
    d->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat root;
    st = d->dir_fd >= 0 && fstat(d->dir_fd, &root) == 0 ? STASH_OK : -errno;
    if (st == STASH_OK) {
        d->owner = root.st_uid;
        st = check_marker(d, !read_only);
    }
    if (st == STASH_OK)
        st = open_lock(d, read_only);
    if (st == STASH_OK && !read_only)
        st = dir_sweep(d, NULL);
    if (st == STASH_OK && d->options.max_bytes)
        st = dir_total_bytes(d, &d->approx_bytes, NULL);
    if (st != STASH_OK) {
        dir_close(d);
        return st;
    }
    *impl = d;
    return STASH_OK;
}

/* ---- Entries -------------------------------------------------------------------- */

struct entry_job {
    const char *key;
    const stash_value *value;
};

static stash_status write_entry(int fd, const struct entry_job *job, bool durable)
{
    stash_status st = store_entry_write(fd, job->key, job->value);
    if (st == STASH_OK && durable && fsync(fd) != 0)
        st = -errno;
    return st;
}

/* Renames temp over path, holding the lock shared so gc is not mid-eviction. */
static stash_status publish(struct dir_store *d, const char *temp, const char *path)
{
    stash_status locked = sysio_flock(d->lock_fd, LOCK_SH);
    if (locked != STASH_OK)
        return locked;
    stash_status st = rename(temp, path) == 0 ? STASH_OK : -errno;
    flock(d->lock_fd, LOCK_UN);
    if (st == STASH_OK && (d->options.flags & STASH_STORE_DURABLE))
        st = sysio_sync_directory(path);
    return st;
}

/* Past the size limit, evicts down to 90% of it, so gc does not run on every put. */
static void enforce_limit(struct dir_store *d, uint64_t added)
{
    uint64_t limit = d->options.max_bytes;
    d->approx_bytes += added;
    if (!limit || d->approx_bytes <= limit)
        return;
    stash_store_gc_stats stats;
    if (dir_gc(d, limit - limit / 10, &stats) == STASH_OK)
        d->approx_bytes = stats.bytes - stats.evicted_bytes;
}

static stash_status dir_put(void *impl, const char *key, const stash_value *value)
{
    struct dir_store *d = impl;
    char name[DIR_NAME_MAX + 1], path[PATH_MAX];
    struct sysio_aside aside;
    if (d->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    stash_status st = entry_path(d, key, name, path, sizeof path);
    if (st == STASH_OK)
        st = sysio_aside_open(path, &aside);
    if (st != STASH_OK)
        return st;
    struct entry_job job = {key, value};
    st = write_entry(aside.fd, &job, d->options.flags & STASH_STORE_DURABLE);
    struct stat info;
    uint64_t bytes = fstat(aside.fd, &info) == 0 ? (uint64_t)info.st_size : 0;
    /* Named, renamed, then closed: the writer's lock on the file (which tells
     * gc the writer is alive) is held until the entry has its place. */
    if (st == STASH_OK)
        st = sysio_aside_name(&aside, path);
    if (st == STASH_OK)
        st = publish(d, aside.temp, path);
    if (st == STASH_OK)
        st = sysio_aside_close(&aside);
    if (st != STASH_OK) {
        sysio_aside_discard(&aside);
        return st;
    }
    dir_note_use(d, name);
    enforce_limit(d, bytes);
    return STASH_OK;
}

static stash_status dir_get(void *impl, const char *key, stash_value **out)
{
    struct dir_store *d = impl;
    char name[DIR_NAME_MAX + 1];
    stash_status st = dir_name_of(key, name);
    if (st != STASH_OK)
        return st == STASH_E_LIMIT ? STASH_E_NOT_FOUND : st; /* no file can have that name */
    stash_nco *nco = NULL;
    st = dir_open_entry(d, name, &nco);
    if (st == STASH_OK)
        st = store_entry_decode(nco, key, out);
    if (st == STASH_OK)
        dir_note_use(d, name);
    return st;
}

static stash_status dir_has(void *impl, const char *key)
{
    struct dir_store *d = impl;
    char name[DIR_NAME_MAX + 1];
    stash_status st = dir_name_of(key, name);
    if (st != STASH_OK)
        return st == STASH_E_LIMIT ? STASH_E_NOT_FOUND : st;
    struct stat info;
    if (fstatat(d->dir_fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    return S_ISREG(info.st_mode) ? STASH_OK : STASH_E_CORRUPT;
}

static stash_status dir_remove(void *impl, const char *key)
{
    struct dir_store *d = impl;
    char name[DIR_NAME_MAX + 1], path[PATH_MAX];
    if (d->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    stash_status st = entry_path(d, key, name, path, sizeof path);
    if (st != STASH_OK)
        return st == STASH_E_LIMIT ? STASH_E_NOT_FOUND : st;
    if (unlink(path) != 0)
        return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    dir_remove_index(d, name);
    if (d->options.flags & STASH_STORE_DURABLE)
        return sysio_sync_directory(path);
    return STASH_OK;
}

static stash_status dir_list(void *impl, stash_store_list_fn fn, void *ctx)
{
    struct dir_store *d = impl;
    DIR *dir = opendir(d->root);
    if (!dir)
        return -errno;
    stash_status st = STASH_OK;
    char key[STASH_STORE_KEY_MAX + 1];
    struct dirent *e;
    while (st == STASH_OK && (errno = 0, e = readdir(dir)) != NULL) {
        struct stat info;
        if (dir_key_of(e->d_name, key) != STASH_OK ||
            fstatat(dirfd(dir), e->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(info.st_mode))
            continue; /* not an entry, or gone since readdir saw it */
        st = fn(ctx, key, (uint64_t)info.st_size);
    }
    if (st == STASH_OK && errno != 0)
        st = -errno;
    closedir(dir);
    return st;
}

const struct store_ops store_dir_ops = {
    .name = "dir",
    .put = dir_put,
    .get = dir_get,
    .has = dir_has,
    .remove = dir_remove,
    .list = dir_list,
    .gc = dir_gc,
    .close = dir_close,
};
