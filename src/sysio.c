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

stash_status sysio_create_aside(const char *path, char *temp, size_t cap, int *fd)
{
    static atomic_uint counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
        int len = snprintf(temp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), n);
        if (len < 0 || (size_t)len >= cap)
            return -ENAMETOOLONG;
        *fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0)
            return STASH_OK;
        if (errno != EEXIST) /* a leftover of a crashed process with our pid: next name */
            return -errno;
    }
    return -EEXIST;
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

stash_status sysio_publish(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx,
                           bool durable)
{
    char temp[PATH_MAX];
    int fd;
    stash_status status = sysio_create_aside(path, temp, sizeof temp, &fd);
    if (status != STASH_OK)
        return status;
    status = write(fd, ctx);
    if (status == STASH_OK && durable && fsync(fd) != 0)
        status = -errno;
    stash_status closed = sysio_close(fd);
    status = status != STASH_OK ? status : closed;
    if (status == STASH_OK && rename(temp, path) != 0)
        status = -errno;
    if (status != STASH_OK) {
        unlink(temp);
        return status;
    }
    return durable ? sysio_sync_directory(path) : STASH_OK;
}
