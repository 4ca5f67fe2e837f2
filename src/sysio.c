#include "sysio.h"

#include <errno.h>
#include <limits.h>
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
