/*
 * The file backend: one buffer over positional I/O.
 *
 * The buffer is a window [buf_off, buf_off + buf_len) of the file that always
 * holds the file's current content there, including writes not yet on disk.
 * Bytes [dirty_lo, dirty_hi) of it are such writes. So:
 *   - a read inside the window is a memcpy, whatever is dirty;
 *   - a write inside the window, or growing it at its end while it fits, is a
 *     memcpy that widens the dirty range;
 *   - anything else first writes the dirty range back (one pwrite), then
 *     either refills the window (one pread of the buffer's size) or, for a
 *     transfer of 64 KiB or more, goes straight to the file.
 * Nothing ever reads the file to merge a write, and no call ever seeks: each
 * stream keeps its own offsets, so many streams can share one descriptor.
 *
 * The descriptor is either the stream's own (fd >= 0, no lender) or lent by
 * a higher layer (the storage part's temp-file pool), which may close it
 * between calls; every system call is bracketed by fd_acquire / fd_release
 * for that reason.
 *
 * The buffer is allocated on first use, so an idle stream costs no memory.
 */
#include "core/mode.h"
#include "core/sysio.h"
#include "stream/stream_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Transfers this large gain nothing from the buffer (a system call per 64 KiB
 * is already under 10% of the copy), so they go straight to the file. */
#define DIRECT_BYTES ((size_t)64 * 1024)

struct file_ctx {
    int fd;
    bool owns_fd;
    struct stream_fd_lender lender; /* lender.borrow == NULL: the descriptor is fd */
    unsigned char *buf;
    size_t cap;
    uint64_t buf_off;
    size_t buf_len;
    size_t dirty_lo, dirty_hi; /* dirty_lo == dirty_hi: nothing to write */
    uint64_t size;
};

static stash_status fd_acquire(struct file_ctx *f, int *fd)
{
    if (f->lender.borrow == NULL) {
        *fd = f->fd;
        return STASH_OK;
    }
    return f->lender.borrow(f->lender.owner, fd);
}

static void fd_release(struct file_ctx *f)
{
    if (f->lender.borrow != NULL)
        f->lender.give_back(f->lender.owner);
}

static stash_status ensure_buffer(struct file_ctx *f)
{
    if (f->buf == NULL && (f->buf = malloc(f->cap)) == NULL)
        return -ENOMEM;
    return STASH_OK;
}

static bool is_dirty(const struct file_ctx *f)
{
    return f->dirty_hi > f->dirty_lo;
}

#ifndef NDEBUG
/* The window lies in the buffer and the dirty bytes in the window (asserted
 * after every change; an empty dirty range may be anywhere). */
static bool window_holds(const struct file_ctx *f)
{
    return f->dirty_lo <= f->dirty_hi && f->buf_len <= f->cap &&
           (f->buf != NULL || f->buf_len == 0) && (!is_dirty(f) || f->dirty_hi <= f->buf_len);
}
#endif

/* Writes the dirty range back. On failure what did reach the file is no
 * longer dirty, and the rest stays buffered for the next attempt. */
static stash_status write_back(struct file_ctx *f, int fd)
{
    if (!is_dirty(f))
        return STASH_OK;
    size_t written = 0;
    stash_status status = sysio_pwrite_full(fd, f->buf + f->dirty_lo, f->dirty_hi - f->dirty_lo,
                                            f->buf_off + f->dirty_lo, &written);
    f->dirty_lo += written;
    if (status == STASH_OK)
        f->dirty_lo = f->dirty_hi = 0;
    assert(window_holds(f));
    return status;
}

/* Makes the window start at offset, holding what the file has there. */
static stash_status refill(struct file_ctx *f, int fd, uint64_t offset)
{
    stash_status status = ensure_buffer(f);
    if (status != STASH_OK)
        return status;
    size_t got = 0;
    f->buf_len = 0;
    status = sysio_pread_full(fd, f->buf, f->cap, offset, &got);
    if (status != STASH_OK)
        return status;
    f->buf_off = offset;
    f->buf_len = got;
    assert(window_holds(f));
    return STASH_OK;
}

static bool is_direct(const struct file_ctx *f, size_t len)
{
    return len >= f->cap || len >= DIRECT_BYTES;
}

static bool in_window(const struct file_ctx *f, uint64_t offset)
{
    return offset >= f->buf_off && offset - f->buf_off < f->buf_len;
}

static size_t copy_out(const struct file_ctx *f, void *dst, size_t len, uint64_t offset)
{
    if (!in_window(f, offset))
        return 0;
    size_t into = (size_t)(offset - f->buf_off);
    size_t n = f->buf_len - into < len ? f->buf_len - into : len;
    memcpy(dst, f->buf + into, n);
    return n;
}

static stash_status file_pread(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got)
{
    struct file_ctx *f = ctx;
    size_t done = copy_out(f, buf, len, offset);
    if (done == len || offset + done >= f->size) {
        *got = done;
        return STASH_OK;
    }
    int fd;
    stash_status status = fd_acquire(f, &fd);
    if (status != STASH_OK)
        return status;
    status = write_back(f, fd); /* the file must hold what the window does */
    if (status == STASH_OK) {
        uint64_t at = offset + done;
        size_t n = 0;
        if (is_direct(f, len - done)) {
            status = sysio_pread_full(fd, (char *)buf + done, len - done, at, &n);
        } else if ((status = refill(f, fd, at)) == STASH_OK) {
            n = copy_out(f, (char *)buf + done, len - done, at);
        }
        done += n;
    }
    fd_release(f);
    if (status == STASH_OK)
        *got = done;
    return status;
}

static stash_status file_peek(void *ctx, uint64_t offset, const void **data, size_t *len)
{
    struct file_ctx *f = ctx;
    if (!in_window(f, offset) && offset < f->size) {
        int fd;
        stash_status status = fd_acquire(f, &fd);
        if (status != STASH_OK)
            return status;
        status = write_back(f, fd);
        if (status == STASH_OK)
            status = refill(f, fd, offset);
        fd_release(f);
        if (status != STASH_OK)
            return status;
    }
    if (!in_window(f, offset)) {
        *data = NULL;
        *len = 0;
        return STASH_OK;
    }
    size_t into = (size_t)(offset - f->buf_off);
    *data = f->buf + into;
    *len = f->buf_len - into;
    return STASH_OK;
}

/* A write that lands inside the window or grows it at its end, while it fits. */
static bool fits_window(const struct file_ctx *f, uint64_t offset, size_t len)
{
    return f->buf != NULL && offset >= f->buf_off && offset - f->buf_off <= f->buf_len &&
           len <= f->cap - (offset - f->buf_off);
}

static void write_into_window(struct file_ctx *f, const void *data, size_t len, uint64_t offset)
{
    size_t lo = (size_t)(offset - f->buf_off), hi = lo + len;
    memcpy(f->buf + lo, data, len);
    if (hi > f->buf_len)
        f->buf_len = hi;
    if (!is_dirty(f)) {
        f->dirty_lo = lo;
        f->dirty_hi = hi;
    } else {
        f->dirty_lo = lo < f->dirty_lo ? lo : f->dirty_lo;
        f->dirty_hi = hi > f->dirty_hi ? hi : f->dirty_hi;
    }
    assert(window_holds(f));
}

static stash_status file_pwrite(void *ctx, const void *data, size_t len, uint64_t offset)
{
    struct file_ctx *f = ctx;
    stash_status status = ensure_buffer(f);
    if (status != STASH_OK)
        return status;
    if (!fits_window(f, offset, len)) {
        int fd;
        if ((status = fd_acquire(f, &fd)) != STASH_OK)
            return status;
        status = write_back(f, fd);
        if (status == STASH_OK && is_direct(f, len)) {
            f->buf_len = 0; /* the window may hold what this overwrites */
            status = sysio_pwrite_full(fd, data, len, offset, NULL);
        } else if (status == STASH_OK) {
            f->buf_off = offset;
            f->buf_len = 0;
            write_into_window(f, data, len, offset);
        }
        fd_release(f);
    } else {
        write_into_window(f, data, len, offset);
    }
    if (status == STASH_OK && offset + len > f->size)
        f->size = offset + len;
    assert(window_holds(f));
    return status;
}

static stash_status file_size(void *ctx, uint64_t *size)
{
    *size = ((struct file_ctx *)ctx)->size;
    return STASH_OK;
}

static stash_status file_flush(void *ctx)
{
    struct file_ctx *f = ctx;
    if (!is_dirty(f))
        return STASH_OK;
    int fd;
    stash_status status = fd_acquire(f, &fd);
    if (status != STASH_OK)
        return status;
    status = write_back(f, fd);
    fd_release(f);
    return status;
}

static stash_status file_close(void *ctx)
{
    struct file_ctx *f = ctx;
    stash_status status = file_flush(f);
    stash_status closed = STASH_OK;
    if (f->lender.borrow != NULL)
        closed = f->lender.finish(f->lender.owner);
    else if (f->owns_fd)
        closed = sysio_close(f->fd);
    free(f->buf);
    free(f);
    return status != STASH_OK ? status : closed;
}

const stash_stream_backend stash_file_backend_ = {
    .version = STASH_STREAM_BACKEND_V1,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .size = file_size,
    .peek = file_peek,
    .flush = file_flush,
    .close = file_close,
};

/* Regular files and block devices support positional I/O; nothing else does:
 * a FIFO, socket or character device is STASH_E_NOT_FILE, as in sysio. */
static stash_status check_file_kind(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return STASH_OK;
    }
    if (!S_ISBLK(st.st_mode))
        return STASH_E_NOT_FILE;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return -errno;
    *size = (uint64_t)end;
    return STASH_OK;
}

static stash_status open_on_fd(int fd, bool owns_fd, const struct stream_fd_lender *lender,
                               uint64_t size, size_t cap, unsigned directions, stash_stream **out)
{
    struct file_ctx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    *f = (struct file_ctx){.fd = fd, .owns_fd = owns_fd, .cap = cap, .size = size};
    if (lender != NULL)
        f->lender = *lender;
    stash_status status = stream_create(&stash_file_backend_, f, directions, out);
    if (status != STASH_OK)
        free(f);
    return status;
}

stash_status stash_stream_open_file(const char *path, const char *mode, stash_stream **out)
{
    struct stash_mode m;
    if (path == NULL || out == NULL)
        return STASH_E_INVALID;
    stash_status status = mode_parse(mode, &m);
    if (status != STASH_OK)
        return status;
    /* O_NONBLOCK: opening a FIFO must not wait for a peer; it is rejected
     * below, and the flag changes nothing for regular files. */
    int fd = open(path, m.open_flags | O_NONBLOCK, 0666);
    if (fd < 0)
        return errno == ENXIO ? STASH_E_NOT_FILE : -errno; /* ENXIO: a FIFO with no reader */
    uint64_t size = 0;
    status = check_file_kind(fd, &size);
    if (status == STASH_OK)
        status = open_on_fd(fd, true, NULL, size, STASH_STREAM_BUFFER_DEFAULT, m.directions,
                            out);
    if (status != STASH_OK)
        sysio_close(fd);
    return status;
}

stash_status stash_stream_open_fd(int fd, const char *mode, stash_stream **out)
{
    struct stash_mode m;
    if (fd < 0 || out == NULL)
        return STASH_E_INVALID;
    stash_status status = mode_parse(mode, &m);
    if (status != STASH_OK)
        return status;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    int access = flags & O_ACCMODE;
    if ((m.directions & STASH_STREAM_READ) && access == O_WRONLY)
        return STASH_E_NOT_READABLE;
    if ((m.directions & STASH_STREAM_WRITE) && access == O_RDONLY)
        return STASH_E_NOT_WRITABLE;
    if ((flags & O_APPEND) && !(m.directions & STASH_STREAM_APPEND))
        return STASH_E_MODE; /* every pwrite would land at the end */
    uint64_t size = 0;
    status = check_file_kind(fd, &size);
    if (status != STASH_OK)
        return status;
    return open_on_fd(fd, false, NULL, size, STASH_STREAM_BUFFER_DEFAULT, m.directions, out);
}

stash_status stream_open_lent(const struct stream_fd_lender *lender, size_t buffer_bytes,
                              stash_stream **out)
{
    return open_on_fd(-1, false, lender, 0, buffer_bytes, STASH_STREAM_READ | STASH_STREAM_WRITE,
                      out);
}

stash_status stash_stream_set_buffer_bytes(stash_stream *s, size_t bytes)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (s->backend != &stash_file_backend_)
        return STASH_E_UNSUPPORTED;
    if (bytes < STASH_STREAM_BUFFER_MIN || bytes > STASH_STREAM_BUFFER_MAX)
        return STASH_E_INVALID;
    struct file_ctx *f = s->ctx;
    stream_drop_view(s);
    stash_status status = file_flush(f);
    if (status != STASH_OK)
        return status;
    free(f->buf);
    f->buf = NULL;
    f->buf_len = 0;
    f->cap = bytes;
    assert(window_holds(f));
    return STASH_OK;
}
