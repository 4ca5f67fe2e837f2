/*
 * FILE * export of any stream through glibc's fopencookie. The FILE reads,
 * writes and seeks through the stream's own position; stdio adds its own
 * buffer on top. fclose flushes it into the stream and, for a FILE that owns
 * its stream (a memory file's), closes the stream too.
 */
#include "core/mode.h"
#include "stream/stream_internal.h"

#include <errno.h>
#include <stdio.h>

/* stdio wants errno set on failure; stash's own conditions become EIO. */
static void set_errno(stash_status status)
{
    errno = stash_is_system_error(status) ? stash_errno(status) : EIO;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t len)
{
    size_t got = 0;
    stash_status status = stash_stream_read(cookie, buf, len, &got);
    if (status != STASH_OK) {
        set_errno(status);
        return -1;
    }
    return (ssize_t)got;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
    stash_status status = stash_stream_write(cookie, buf, len);
    if (status != STASH_OK) {
        set_errno(status);
        return 0; /* glibc: 0 means the write failed */
    }
    return (ssize_t)len;
}

static int cookie_seek(void *cookie, off64_t *offset, int whence)
{
    uint64_t pos;
    stash_status status = stash_stream_seek(cookie, *offset, whence, &pos);
    if (status != STASH_OK) {
        set_errno(status);
        return -1;
    }
    *offset = (off64_t)pos;
    return 0;
}

static int cookie_close(void *cookie)
{
    stash_status status = stash_stream_flush(cookie);
    if (status != STASH_OK) {
        set_errno(status);
        return EOF;
    }
    return 0;
}

static int cookie_close_owned(void *cookie)
{
    stash_stream *s = cookie;
    stash_status status = stash_stream_close(&s);
    if (status != STASH_OK) {
        set_errno(status);
        return EOF;
    }
    return 0;
}

stash_status stream_fopen(stash_stream *s, const char *mode, bool owns_stream, FILE **out)
{
    struct stash_mode m;
    if (s == NULL)
        return STASH_E_CLOSED;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_status status = mode_parse(mode, &m);
    if (status != STASH_OK)
        return status;
    if ((m.directions & STASH_STREAM_READ) && !(s->directions & STASH_STREAM_READ))
        return STASH_E_NOT_READABLE;
    if ((m.directions & STASH_STREAM_WRITE) && !(s->directions & STASH_STREAM_WRITE))
        return STASH_E_NOT_WRITABLE;
    cookie_io_functions_t io = {
        .read = (m.directions & STASH_STREAM_READ) ? cookie_read : NULL,
        .write = (m.directions & STASH_STREAM_WRITE) ? cookie_write : NULL,
        .seek = cookie_seek,
        .close = owns_stream ? cookie_close_owned : cookie_close,
    };
    FILE *f = fopencookie(s, mode_for_stdio(m.directions), io);
    if (f == NULL)
        return -errno;
    *out = f;
    return STASH_OK;
}

stash_status stash_stream_fopen(stash_stream *s, const char *mode, FILE **out)
{
    return stream_fopen(s, mode, false, out);
}
