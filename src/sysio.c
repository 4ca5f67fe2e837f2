#include "sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* pread/pwrite take off_t and return ssize_t: keep each call within both. */
#define MAX_CHUNK ((size_t)1 << 30)

stash_status sysio_pread_full(int fd, void *buf, size_t len, uint64_t offset, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < MAX_CHUNK ? len - done : MAX_CHUNK;
        if (offset + done > (uint64_t)INT64_MAX - want)
            break; /* nothing can exist past the largest offset */
        ssize_t n = pread(fd, (char *)buf + done, want, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return STASH_OK;
}

stash_status sysio_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset,
                               size_t *written)
{
    size_t done = 0;
    stash_status status = STASH_OK;
    while (done < len) {
        size_t want = len - done < MAX_CHUNK ? len - done : MAX_CHUNK;
        ssize_t n = pwrite(fd, (const char *)buf + done, want, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            status = -errno;
            break;
        }
        if (n == 0) {
            status = -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (written != NULL)
        *written = done;
    return status;
}

stash_status sysio_close(int fd)
{
    /* Linux releases the descriptor even when close fails with EINTR, so a
     * retry could close another thread's new descriptor. */
    if (close(fd) != 0 && errno != EINTR)
        return -errno;
    return STASH_OK;
}

/* "PATH.tmp-PID-N" into a->temp, N counting up in this process. */
static stash_status next_temp_name(const char *path, struct sysio_aside *a)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    int len = snprintf(a->temp, sizeof a->temp, "%s.tmp-%ld-%u", path, (long)getpid(), n);
    return len < 0 || (size_t)len >= sizeof a->temp ? -ENAMETOOLONG : STASH_OK;
}

/* Tries names until one is free: a leftover of a crashed process with our pid
 * may hold the first. try_name returns 0 or -1 with errno, as open does. */
static stash_status claim_temp_name(const char *path, struct sysio_aside *a,
                                    int (*try_name)(struct sysio_aside *a))
{
    for (int attempt = 0; attempt < 100; attempt++) {
        stash_status status = next_temp_name(path, a);
        if (status != STASH_OK)
            return status;
        if (try_name(a) == 0) {
            a->named = true;
            return STASH_OK;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

static int create_named(struct sysio_aside *a)
{
    a->fd = open(a->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    return a->fd >= 0 ? 0 : -1;
}

static int link_anonymous(struct sysio_aside *a)
{
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", a->fd);
    return linkat(AT_FDCWD, self, AT_FDCWD, a->temp, AT_SYMLINK_FOLLOW);
}

/* Whether /proc/self/fd is there to link unnamed files in through; asked once. */
static bool proc_fd_links(void)
{
    static atomic_int known; /* 0 not asked yet, 1 yes, -1 no */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        k = access("/proc/self/fd", X_OK) == 0 ? 1 : -1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k > 0;
}

/*
 * An unnamed file in path's directory, or -1 where there can be none: no
 * O_TMPFILE in the file system, or no /proc to link it in through later
 * (linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
 */
static int open_anonymous(const char *path)
{
    if (!proc_fd_links())
        return -1;
    char dir[PATH_MAX];
    sysio_directory_of(path, dir, sizeof dir);
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
}

stash_status sysio_aside_open(const char *path, struct sysio_aside *a)
{
    a->named = false;
    a->fd = -1;
    stash_status status = next_temp_name(path, a); /* the name it gets later must fit */
    if (status != STASH_OK)
        return status;
    a->fd = open_anonymous(path);
    return a->fd >= 0 ? STASH_OK : claim_temp_name(path, a, create_named);
}

stash_status sysio_aside_finish(struct sysio_aside *a, const char *path)
{
    stash_status status = a->named ? STASH_OK : claim_temp_name(path, a, link_anonymous);
    stash_status closed = sysio_close(a->fd);
    a->fd = -1;
    return status != STASH_OK ? status : closed;
}

void sysio_aside_discard(struct sysio_aside *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->named)
        unlink(a->temp);
    a->named = false;
}

stash_status sysio_publish(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx,
                           bool durable)
{
    struct sysio_aside a;
    stash_status status = sysio_aside_open(path, &a);
    if (status != STASH_OK)
        return status;
    status = write(a.fd, ctx);
    if (status == STASH_OK && durable && fsync(a.fd) != 0)
        status = -errno;
    if (status == STASH_OK)
        status = sysio_aside_finish(&a, path);
    if (status == STASH_OK && rename(a.temp, path) != 0)
        status = -errno;
    if (status != STASH_OK) {
        sysio_aside_discard(&a);
        return status;
    }
    return durable ? sysio_sync_directory(path) : STASH_OK;
}

void sysio_directory_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

stash_status sysio_sync_directory(const char *path)
{
    char dir[PATH_MAX];
    sysio_directory_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    stash_status status = fsync(fd) == 0 ? STASH_OK : -errno;
    sysio_close(fd);
    return status;
}
