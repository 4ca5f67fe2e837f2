/*
 * Writing NCO objects: nengo's write on any stream, and the two ways stash
 * publishes files - appending to a chain under a lock with the header as the
 * commit point, and packing a new file aside and renaming it.
 */
#include "nco/nco_internal.h"
#include "core/sysio.h"

#include <stash/npy.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static uint64_t align_up(uint64_t n, uint64_t a)
{
    return (n + a - 1) & ~(a - 1);
}

static stash_status pad_to(stash_stream *s, uint64_t offset)
{
    static const unsigned char zeros[STASH_NCO_ARRAY_ALIGN];
    stash_status status = STASH_OK;
    while (status == STASH_OK && stash_stream_tell(s) < offset) {
        uint64_t gap = offset - stash_stream_tell(s);
        status = stash_stream_write(s, zeros, gap < sizeof zeros ? (size_t)gap : sizeof zeros);
    }
    return status;
}

/* The metadata pickled in memory, before any byte reaches the file: a value
 * that cannot be pickled is refused while the file is untouched. */
struct pickled {
    stash_stream *buffer;
    const void *bytes;
    size_t len;
};

static stash_status pickle_meta(const stash_value *meta, struct pickled *p)
{
    stash_value *none = NULL;
    *p = (struct pickled){0};
    stash_status status = meta ? STASH_OK : stash_value_new_null(&none);
    if (status == STASH_OK)
        status = stash_stream_open_growable(256, &p->buffer);
    if (status == STASH_OK)
        status = stash_pickle_write(p->buffer, meta ? meta : none, 0);
    if (status == STASH_OK)
        status = stash_stream_memory_contents(p->buffer, &p->bytes, &p->len);
    stash_value_free(&none);
    if (status != STASH_OK)
        stash_stream_close(&p->buffer);
    return status;
}

/* Everything but the header, which stays zeros: a reader sees no object yet. */
static stash_status write_body(stash_stream *s, const struct pickled *meta,
                               const stash_array_desc *desc, const void *data,
                               stash_nco_object *o)
{
    static const unsigned char blank[STASH_NCO_HEADER_BYTES];
    o->start = stash_stream_tell(s);
    o->meta_start = align_up(o->start + STASH_NCO_HEADER_BYTES, 16);
    stash_status status = stash_stream_write(s, blank, sizeof blank);
    if (status == STASH_OK)
        status = pad_to(s, o->meta_start);
    if (status == STASH_OK)
        status = stash_stream_write(s, meta->bytes, meta->len);
    o->meta_end = stash_stream_tell(s);
    o->array_start = align_up(o->meta_end, STASH_NCO_ARRAY_ALIGN);
    if (status == STASH_OK)
        status = pad_to(s, o->array_start);
    if (status == STASH_OK)
        status = stash_npy_write(s, desc, data, 0);
    o->array_end = stash_stream_tell(s);
    return status;
}

/* Checks what can be checked before a byte is written, and pickles meta. */
static stash_status prepare(const stash_array_desc *desc, const void *data,
                            const stash_value *meta, struct pickled *p)
{
    uint64_t nbytes;
    *p = (struct pickled){0}; /* closing it is safe whatever happens below */
    stash_status status = desc ? stash_array_nbytes(desc, &nbytes) : STASH_E_INVALID;
    if (status == STASH_OK && nbytes && !data)
        status = STASH_E_INVALID;
    return status == STASH_OK ? pickle_meta(meta, p) : status;
}

/* A whole object at the stream's position, the header last. */
static stash_status write_object(stash_stream *s, const struct pickled *meta,
                                 const stash_array_desc *desc, const void *data,
                                 stash_nco_object *o)
{
    unsigned char header[STASH_NCO_HEADER_BYTES];
    stash_status status = write_body(s, meta, desc, data, o);
    if (status == STASH_OK) {
        nco_header_encode(o, header);
        status = stash_stream_pwrite(s, header, sizeof header, o->start);
    }
    return status;
}

stash_status stash_nco_write(stash_stream *s, const stash_value *meta,
                             const stash_array_desc *desc, const void *data,
                             stash_nco_object *object)
{
    if (!s)
        return STASH_E_INVALID;
    struct pickled pickled;
    stash_nco_object o;
    stash_status status = prepare(desc, data, meta, &pickled);
    if (status == STASH_OK)
        status = write_object(s, &pickled, desc, data, &o);
    stash_stream_close(&pickled.buffer);
    if (status == STASH_OK && object)
        *object = o;
    return status;
}

stash_status nco_write_pickled(stash_stream *s, const void *pickle, size_t len,
                               const stash_array_desc *desc, const void *data,
                               stash_nco_object *object)
{
    uint64_t nbytes;
    stash_status status = s && pickle && desc ? stash_array_nbytes(desc, &nbytes)
                                              : STASH_E_INVALID;
    if (status == STASH_OK && nbytes && !data)
        status = STASH_E_INVALID;
    struct pickled pickled = {.bytes = pickle, .len = len};
    stash_nco_object o;
    if (status == STASH_OK)
        status = write_object(s, &pickled, desc, data, &o);
    if (status == STASH_OK && object)
        *object = o;
    return status;
}

/* ---- A whole file with one object, written aside (packs, first appends) ----- */

struct pack_job {
    const struct pickled *meta;
    const stash_array_desc *desc;
    const void *data;
};

static stash_status write_pack(int fd, void *ctx)
{
    const struct pack_job *job = ctx;
    stash_stream *s;
    stash_nco_object o;
    stash_status status = stash_stream_open_fd(fd, "w", &s);
    if (status != STASH_OK)
        return status;
    status = write_object(s, job->meta, job->desc, job->data, &o);
    stash_status closed = stash_stream_close(&s);
    return status != STASH_OK ? status : closed;
}

/* ---- Appending -------------------------------------------------------------- */

/* The committed objects' starts and where the chain ends. */
static stash_status read_chain(int fd, const char *path, uint64_t **starts, size_t *count,
                               uint64_t *end)
{
    stash_nco *nco;
    stash_status status = nco_open_fd(fd, path, NCO_EMPTY_OK, &nco);
    if (status != STASH_OK)
        return status;
    stash_nco_info info;
    stash_nco_info_get(nco, &info);
    uint64_t *list = malloc((info.count + 1) * sizeof *list);
    if (list) {
        if (info.count)
            memcpy(list, nco_starts(nco), info.count * sizeof *list);
        *starts = list;
        *count = info.count;
        *end = info.chain_end;
    }
    stash_nco_close(&nco);
    return list ? STASH_OK : -ENOMEM;
}

static stash_status sync_if(bool durable, int fd)
{
    return durable && fdatasync(fd) != 0 ? -errno : STASH_OK;
}

/* Writes the object at end, header last, and returns its offsets. */
static stash_status append_at(int fd, uint64_t end, const struct pickled *meta,
                              const stash_array_desc *desc, const void *data, bool durable,
                              stash_nco_object *o)
{
    stash_stream *s;
    stash_status status = ftruncate(fd, (off_t)end) == 0 ? STASH_OK : -errno; /* drop a torn tail */
    if (status == STASH_OK)
        status = stash_stream_open_fd(fd, "r+", &s);
    if (status != STASH_OK)
        return status;
    status = stash_stream_seek(s, (int64_t)end, STASH_SEEK_SET, NULL);
    if (status == STASH_OK)
        status = write_body(s, meta, desc, data, o);
    stash_status closed = stash_stream_close(&s);
    status = status != STASH_OK ? status : closed;
    if (status == STASH_OK)
        status = sync_if(durable, fd);
    unsigned char header[STASH_NCO_HEADER_BYTES];
    nco_header_encode(o, header);
    if (status == STASH_OK)
        status = sysio_pwrite_full(fd, header, sizeof header, o->start, NULL);
    if (status == STASH_OK)
        status = sync_if(durable, fd);
    return status;
}

/*
 * append_at, and on failure the file cut back to end: a torn tail would keep
 * the disk space a full disk needs back, and nengo's reader, which trusts
 * what follows the last object, would trip on it. (stash's own reader
 * ignores it, and the next append drops it.)
 */
static stash_status append_or_cut(int fd, uint64_t end, const struct pickled *meta,
                                  const stash_array_desc *desc, const void *data, bool durable,
                                  stash_nco_object *o)
{
    stash_status status = append_at(fd, end, meta, desc, data, durable, o);
    if (status != STASH_OK && ftruncate(fd, (off_t)end) == 0 && durable)
        fdatasync(fd);
    return status;
}

/* Appends under the lock to the file open at fd. */
static stash_status append_locked(int fd, const char *path, const struct pickled *meta,
                                  const stash_array_desc *desc, const void *data, bool durable)
{
    uint64_t *starts = NULL, end = 0;
    size_t count = 0;
    stash_nco_object o;
    stash_status status = sysio_flock(fd, LOCK_EX);
    if (status == STASH_OK)
        status = read_chain(fd, path, &starts, &count, &end);
    if (status == STASH_OK)
        status = append_or_cut(fd, end, meta, desc, data, durable, &o);
    struct stat st;
    if (status == STASH_OK && fstat(fd, &st) == 0) {
        starts[count++] = o.start;
        nco_index_save(path, &st, starts, count, durable); /* a cache: best effort */
    }
    free(starts);
    return status;
}

/*
 * The first append to a missing file writes the whole object aside and links
 * it in only if path is still missing (link does not replace), so no reader
 * ever sees an empty file or a first object without its header under path.
 * -EEXIST if another writer created path meanwhile: append to theirs.
 */
static stash_status create_with_first(const char *path, const struct pickled *meta,
                                      const stash_array_desc *desc, const void *data,
                                      bool durable)
{
    struct sysio_aside a;
    stash_status status = sysio_aside_open(path, &a);
    if (status != STASH_OK)
        return status;
    struct pack_job job = {meta, desc, data};
    struct stat st;
    status = write_pack(a.fd, &job);
    if (status == STASH_OK && durable && fsync(a.fd) != 0)
        status = -errno;
    if (status == STASH_OK && fstat(a.fd, &st) != 0)
        status = -errno;
    /* The lock is taken through a second descriptor, which outlives the aside
     * file's: an appender that finds the new file waits until its index is written. */
    int locked = -1;
    if (status == STASH_OK) {
        locked = fcntl(a.fd, F_DUPFD_CLOEXEC, 0);
        status = locked >= 0 ? sysio_flock(locked, LOCK_EX) : -errno;
    }
    int fd = -1;
    if (status == STASH_OK)
        status = sysio_aside_link(&a, path, &fd); /* never replaces: -EEXIST if path appeared */
    if (fd >= 0)
        sysio_close(fd);
    sysio_aside_discard(&a); /* after a failure: the file and its temporary name */
    if (status == STASH_OK && durable)
        status = sysio_sync_directory(path);
    uint64_t start = 0;
    if (status == STASH_OK)
        nco_index_save(path, &st, &start, 1, durable); /* a cache: best effort */
    if (locked >= 0)
        sysio_close(locked); /* and the lock with it */
    return status;
}

/* stash_nco_append of an object already prepared. */
static stash_status nco_append_pickled(const char *path, const struct pickled *pickled,
                                       const stash_array_desc *desc, const void *data,
                                       bool durable)
{
    /* Missing: create it with the object. Created meanwhile by another
     * writer (-EEXIST) or removed meanwhile (-ENOENT): try again, a few times. */
    stash_status status = -ENOENT;
    for (int tries = 0; tries < 8 && (status == -ENOENT || status == -EEXIST); tries++) {
        int fd;
        status = sysio_open_regular(AT_FDCWD, path, O_RDWR, &fd); /* a FIFO is refused */
        if (status == STASH_OK) {
            status = append_locked(fd, path, pickled, desc, data, durable);
            sysio_close(fd); /* and the lock with it */
            break;
        }
        if (status == -ENOENT)
            status = create_with_first(path, pickled, desc, data, durable);
    }
    return status;
}

stash_status stash_nco_append(const char *path, const stash_value *meta,
                              const stash_array_desc *desc, const void *data, unsigned flags)
{
    if (!path || (flags & ~(unsigned)STASH_NCO_DURABLE))
        return STASH_E_INVALID;
    struct pickled pickled;
    stash_status status = prepare(desc, data, meta, &pickled);
    if (status == STASH_OK)
        status = nco_append_pickled(path, &pickled, desc, data, flags & STASH_NCO_DURABLE);
    stash_stream_close(&pickled.buffer);
    return status;
}

/* ---- Appending many: one lock, one index ------------------------------------ */

struct stash_nco_batch {
    char *path;
    int fd;           /* locked alone from the first add to close; -1 before */
    bool durable;
    uint64_t end;     /* the chain's end: where the next object goes */
    uint64_t *starts; /* every committed object's start */
    size_t count, cap;
    bool added;       /* an object was committed: the index is rewritten at close */
};

stash_status stash_nco_batch_open(const char *path, unsigned flags, stash_nco_batch **batch)
{
    if (!path || !batch || (flags & ~(unsigned)STASH_NCO_DURABLE))
        return STASH_E_INVALID;
    stash_nco_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return -ENOMEM;
    }
    b->fd = -1;
    b->durable = flags & STASH_NCO_DURABLE;
    *batch = b;
    return STASH_OK;
}

/* The file open and locked, and its chain read: once per batch. A missing
 * file is first created with this object by stash_nco_append (so it never
 * exists empty); *done then says the object is in. */
static stash_status batch_lock(stash_nco_batch *b, const struct pickled *meta,
                               const stash_array_desc *desc, const void *data, bool *done)
{
    *done = false;
    stash_status status = sysio_open_regular(AT_FDCWD, b->path, O_RDWR, &b->fd);
    if (status == -ENOENT) {
        status = nco_append_pickled(b->path, meta, desc, data, b->durable);
        *done = status == STASH_OK;
        if (status == STASH_OK)
            status = sysio_open_regular(AT_FDCWD, b->path, O_RDWR, &b->fd);
    }
    if (status == STASH_OK)
        status = sysio_flock(b->fd, LOCK_EX);
    if (status == STASH_OK) {
        free(b->starts);
        b->starts = NULL;
        status = read_chain(b->fd, b->path, &b->starts, &b->count, &b->end);
        b->cap = b->count + 1; /* read_chain leaves room for one more */
    }
    if (status != STASH_OK && b->fd >= 0) {
        sysio_close(b->fd);
        b->fd = -1;
    }
    return status;
}

static stash_status batch_commit(stash_nco_batch *b, const struct pickled *meta,
                                 const stash_array_desc *desc, const void *data)
{
    if (b->count == b->cap) {
        size_t cap = b->cap * 2;
        uint64_t *starts = realloc(b->starts, cap * sizeof *starts);
        if (!starts)
            return -ENOMEM;
        b->starts = starts;
        b->cap = cap;
    }
    stash_nco_object o;
    stash_status status = append_or_cut(b->fd, b->end, meta, desc, data, b->durable, &o);
    if (status == STASH_OK) {
        b->starts[b->count++] = o.start;
        b->end = o.array_end;
        b->added = true;
    }
    return status;
}

stash_status stash_nco_batch_add(stash_nco_batch *batch, const stash_value *meta,
                                 const stash_array_desc *desc, const void *data)
{
    if (!batch)
        return STASH_E_CLOSED;
    struct pickled pickled;
    stash_status status = prepare(desc, data, meta, &pickled);
    bool done = false;
    if (status == STASH_OK && batch->fd < 0)
        status = batch_lock(batch, &pickled, desc, data, &done);
    if (status == STASH_OK && !done)
        status = batch_commit(batch, &pickled, desc, data);
    stash_stream_close(&pickled.buffer);
    return status;
}

stash_status stash_nco_batch_close(stash_nco_batch **batch)
{
    if (!batch || !*batch)
        return STASH_OK;
    stash_nco_batch *b = *batch;
    struct stat st;
    if (b->added && fstat(b->fd, &st) == 0)
        nco_index_save(b->path, &st, b->starts, b->count, b->durable); /* a cache: best effort */
    stash_status status = b->fd >= 0 ? sysio_close(b->fd) : STASH_OK; /* and the lock */
    free(b->starts);
    free(b->path);
    free(b);
    *batch = NULL;
    return status;
}

/* ---- Packing ---------------------------------------------------------------- */

stash_status stash_nco_pack(const char *path, const stash_value *meta,
                            const stash_array_desc *desc, const void *data, unsigned flags)
{
    if (!path || (flags & ~(unsigned)STASH_NCO_DURABLE))
        return STASH_E_INVALID;
    struct pickled pickled;
    stash_status status = prepare(desc, data, meta, &pickled);
    if (status != STASH_OK)
        return status;
    bool durable = flags & STASH_NCO_DURABLE;
    struct pack_job job = {&pickled, desc, data};
    status = sysio_publish_output(path, write_pack, &job, durable);
    stash_stream_close(&pickled.buffer);
    struct stat st;
    uint64_t start = 0;
    /* No index beside a FIFO or device the pack was written into. */
    if (status == STASH_OK && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        nco_index_save(path, &st, &start, 1, durable);
    return status;
}
