/*
 * The stream object shared by src/stream*.c, src/stream/bytes.c and src/storage*.c.
 *
 * A stream is a backend (positional operations on a context) plus what every
 * backend would otherwise repeat: the position, the allowed directions, the
 * count of bytes written, and a cached view.
 *
 * The view is the fast path of small reads. backend->peek hands out a span of
 * bytes at an offset (a memory stream's data, a file stream's buffer); the
 * stream caches it as [view_offset, view_offset + view_len) and serves reads
 * inside it with one bounds check and a memcpy, never calling the backend.
 * Every call into the backend other than peek may move or refill that span,
 * so each one drops the view first (stream_drop_view). That single rule keeps
 * the cache honest.
 */
#ifndef STASH_STREAM_INTERNAL_H
#define STASH_STREAM_INTERNAL_H

#include <stash/stream.h>

#include <stdbool.h>
#include <stdint.h>

struct stash_stream {
    const stash_stream_backend *backend;
    void *ctx;
    unsigned directions; /* STASH_STREAM_READ | _WRITE | _APPEND */
    uint64_t pos;
    uint64_t bytes_written;
    const unsigned char *view;
    uint64_t view_offset;
    size_t view_len;
};

static inline void stream_drop_view(stash_stream *s)
{
    s->view_len = 0;
}

/* The n bytes at the position if the view holds them all, else NULL (also
 * before any view: NULL + 0 is undefined, and n may be 0). */
static inline const unsigned char *stream_view_at_pos(const stash_stream *s, size_t n)
{
    uint64_t into = s->pos - s->view_offset; /* wraps when pos < view_offset */
    if (s->view == NULL || s->pos < s->view_offset || into > s->view_len ||
        s->view_len - into < n)
        return NULL;
    return s->view + into;
}

/*
 * Reads exactly n bytes at the position for a decoder: *bytes points at them
 * (inside the view, or at scratch after a copy) and the position advances.
 * STASH_E_EOF, consuming nothing, if fewer than n remain.
 */
stash_status stream_take_slow(stash_stream *s, size_t n, void *scratch,
                              const unsigned char **bytes);

static inline stash_status stream_take(stash_stream *s, size_t n, void *scratch,
                                       const unsigned char **bytes)
{
    const unsigned char *p = stream_view_at_pos(s, n);
    if (p == NULL)
        return stream_take_slow(s, n, scratch, bytes);
    *bytes = p;
    s->pos += n;
    return STASH_OK;
}

/* A view of the bytes at offset (see stash_stream_peek), usable by backends
 * layered on another stream. */
stash_status stream_peek_at(stash_stream *s, uint64_t offset, const void **data, size_t *len);

/*
 * The position whence + offset names, from current and size. Below 0 is
 * STASH_E_INVALID and past INT64_MAX is STASH_E_RANGE, unless clamp is set,
 * which pins the result into [0, size] instead. Bad whence: STASH_E_INVALID.
 */
stash_status stream_resolve_seek(uint64_t current, uint64_t size, int64_t offset, int whence,
                                 bool clamp, uint64_t *result);

/* Internal backend flag: peek returns a view into another stream's buffer,
 * which that stream may refill behind this one's back, so it is never cached. */
#define BACKEND_VIEW_BORROWED (1u << 31)

/* Internal backend flag: pread is as cheap as peek (a memcpy from memory
 * that is always there), so small reads call it directly. */
#define BACKEND_DIRECT_READS (1u << 29)

/*
 * Internal backend flag: the table is the first member of a
 * struct stream_appending_backend, whose append writes len bytes at the
 * backend's own end in one step and reports where they landed. Append-mode
 * writes use it, so two handles appending at once never overwrite each other
 * (size-then-pwrite would race).
 */
#define BACKEND_ATOMIC_APPEND (1u << 30)

struct stream_appending_backend {
    stash_stream_backend base;
    stash_status (*append)(void *ctx, const void *buf, size_t len, uint64_t *offset);
};

/* Backends with extra operations, recognised by their tables. */
extern const stash_stream_backend stash_file_backend_;
extern const stash_stream_backend stash_memory_backend_;

/* stash_stream_fopen; with owns_stream, fclose also closes s. */
stash_status stream_fopen(stash_stream *s, const char *mode, bool owns_stream, FILE **out);

/* Builds a stream on an already-checked backend; same contract as
 * stash_stream_open_backend. */
stash_status stream_create(const stash_stream_backend *backend, void *ctx,
                           unsigned directions, stash_stream **out);

/*
 * A descriptor lent to a file stream call by call, by a layer above that may
 * close it between calls (the storage part's temp-file pool): borrow pins it
 * open (reopening it if need be) and gives it, give_back unpins it, and
 * finish, called once when the stream closes, ends the loan and frees what
 * owner holds. The stream layer knows nothing else of the lender.
 */
struct stream_fd_lender {
    stash_status (*borrow)(void *owner, int *fd);
    void (*give_back)(void *owner);
    stash_status (*finish)(void *owner);
    void *owner;
};

/* A read-write file stream over a lent, empty file. On failure the loan is
 * the caller's to finish. */
stash_status stream_open_lent(const struct stream_fd_lender *lender, size_t buffer_bytes,
                              stash_stream **out);

#endif
