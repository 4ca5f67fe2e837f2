/*
 * Reading NCO files: the file's bytes are mapped once (or, for small store
 * entries, read into the heap), or with STASH_NCO_NO_MAP read with pread as
 * they are asked for; the objects are found through the index or by walking
 * the chain, then handed out as pointers into the mapping or as copies.
 * Every object's header is checked again when it is used, and an index is
 * used only if it lists exactly the chain a walk would find, so it can never
 * make a lookup read outside the file or return another object's bytes.
 *
 * Reading never writes: the index is written by the appenders and packers
 * (src/nco/nco_write.c), never by an open.
 */
#include "nco/nco_internal.h"
#include "array/npy_internal.h"
#include "core/sysio.h"

#include <stash/npy.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A mapped file's first bytes are also read into the handle, where headers are read from. */
#define NCO_HEAD_READ_BYTES 4096

struct stash_nco {
    const unsigned char *map; /* NULL for an empty file or a pread handle */
    size_t map_bytes;         /* the file's size when opened */
    bool heap;                /* map is a malloc'd copy, not a mapping */
    int fd;                   /* STASH_NCO_NO_MAP: read through this; else -1 */
    uint64_t *starts;
    stash_nco_info info;
    /*
     * The first head_bytes of a file that stash_nco_open mapped, read with
     * one pread: headers there are read from this copy, not the mapping,
     * whose first touch would fault pages in (up to 16, with the kernel's
     * fault-around) that munmap must tear down again: more than the pread
     * costs, for an open that only looks up an array. Data is never read
     * from here. The store's opens, which hand the data out at once, skip it.
     */
    size_t head_bytes;
    unsigned char head[NCO_HEAD_READ_BYTES];
};

static stash_status stat_regular(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return -errno;
    if (!S_ISREG(st->st_mode))
        return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
    if ((uint64_t)st->st_size > SIZE_MAX)
        return STASH_E_RANGE;
    return STASH_OK;
}

/*
 * The file's bytes in memory: a read-only mapping, or for a small file with
 * NCO_READ_SMALL one read into the heap, which costs less than setting up
 * and tearing down a mapping. STASH_NCO_NO_MAP keeps a descriptor instead.
 */
static stash_status load_whole_file(int fd, unsigned flags, const struct stat *st,
                                    stash_nco *nco)
{
    stash_status status = STASH_OK;
    if (st->st_size == 0)
        return STASH_OK;
    size_t size = (size_t)st->st_size;
    if (flags & STASH_NCO_NO_MAP) {
        nco->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        return nco->fd >= 0 ? STASH_OK : -errno;
    }
    if ((flags & NCO_READ_SMALL) && size <= NCO_SMALL_FILE_BYTES) {
        unsigned char *copy = malloc(size);
        size_t got = 0;
        status = copy ? sysio_pread_full(fd, copy, size, 0, &got) : -ENOMEM;
        if (status == STASH_OK && got != size)
            status = STASH_E_TRUNCATED; /* shrank under us: not a published file */
        if (status != STASH_OK) {
            free(copy);
            return status;
        }
        nco->map = copy;
        nco->heap = true;
        return STASH_OK;
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    nco->map = p;
    size_t got = 0; /* a failed or short read leaves headers to the mapping, no worse */
    if ((flags & NCO_READ_HEAD) &&
        sysio_pread_full(fd, nco->head, size < NCO_HEAD_READ_BYTES ? size : NCO_HEAD_READ_BYTES,
                         0, &got) == STASH_OK)
        nco->head_bytes = got;
    return STASH_OK;
}

/* The len bytes at `at` of a file in memory: from the head's copy if they lie in it. */
static const unsigned char *bytes_at(const stash_nco *nco, uint64_t at, uint64_t len)
{
    return at <= nco->head_bytes && len <= nco->head_bytes - at ? nco->head + at : nco->map + at;
}

/* Copies len bytes at `at` (inside the file as opened) out of the mapping or
 * with pread; a file cut short since the open gives STASH_E_TRUNCATED. */
static stash_status copy_out(const stash_nco *nco, uint64_t at, void *buf, size_t len)
{
    if (nco->fd < 0) {
        memcpy(buf, bytes_at(nco, at, len), len);
        return STASH_OK;
    }
    size_t got = 0;
    stash_status status = sysio_pread_full(nco->fd, buf, len, at, &got);
    return status == STASH_OK && got < len ? STASH_E_TRUNCATED : status;
}

stash_status nco_head_at(const stash_nco *nco, uint64_t at, unsigned char buf[NCO_HEAD_BYTES],
                         size_t *avail)
{
    uint64_t left = nco->map_bytes - at;
    *avail = left > NCO_HEAD_BYTES ? NCO_HEAD_BYTES : (size_t)left;
    return copy_out(nco, at, buf, *avail);
}

uint64_t nco_file_bytes(const stash_nco *nco)
{
    return nco->map_bytes;
}

/* The header at `at`, read and checked. */
static stash_status header_at(const stash_nco *nco, uint64_t at, stash_nco_object *o)
{
    unsigned char head[NCO_HEAD_BYTES];
    size_t avail;
    stash_status status = nco_head_at(nco, at, head, &avail);
    return status == STASH_OK ? nco_header_decode(head, avail, at, nco->map_bytes, o) : status;
}

/*
 * Uses the index only if it lists exactly the chain a walk would find: the
 * first entry at 0, each later one where the object before it ends, each
 * header passing its checks. A checksum and the file's identity show only
 * that the index was written whole for this version of the file, not that
 * it is right: an index forged (or written by a bug) to skip an object would
 * otherwise hand out the next object's array under the skipped one's number.
 * The check costs one header read per object, the reads a walk makes.
 *
 * A committed object after the last indexed one makes the index stale too,
 * though it describes this file's size and modification time: a process
 * that indexed the chain while another appended without the lock (nengo, or
 * a stash reader from before readers stopped writing indexes) can publish
 * it after that append's header, which changes neither (and a coarse clock
 * may give both writes one timestamp). Trusting it would hide the object,
 * and the next append would cut it off as a tail.
 */
static stash_status check_index(stash_nco *nco)
{
    if (nco->info.count == 0)
        return STASH_E_NOT_FOUND; /* a walk says why the file holds no object */
    uint64_t end = 0;
    for (size_t i = 0; i < nco->info.count; i++) {
        stash_nco_object o;
        stash_status status = nco->starts[i] == end ? header_at(nco, end, &o) : STASH_E_CORRUPT;
        if (status != STASH_OK)
            return status;
        end = o.array_end;
    }
    bool object_after = false;
    stash_status status = nco_describe_tail(nco, end, &nco->info, &object_after);
    return status == STASH_OK && object_after ? STASH_E_BUSY : status;
}

/*
 * A reader's file must hold a committed object: an empty file, or one whose
 * first header is all zeros (a first append that never committed, as stash
 * no longer leaves one), is not an NCO file. The appender's own open
 * (NCO_EMPTY_OK) takes either as an empty chain to append to.
 */
static stash_status found(const stash_nco *nco, unsigned flags)
{
    assert(nco_starts_increase(nco->starts, nco->info.count)); /* walked, or checked as a chain */
    assert(nco->info.count == 0 || nco->starts[nco->info.count - 1] < nco->info.file_bytes);
    return nco->info.count == 0 && !(flags & NCO_EMPTY_OK) ? STASH_E_CORRUPT : STASH_OK;
}

/* The index if it lists the chain, else a walk. Never writes the index. */
static stash_status find_objects(stash_nco *nco, const char *path, const struct stat *st,
                                 unsigned flags)
{
    if (!(flags & STASH_NCO_NO_INDEX) &&
        nco_index_load(path, st, &nco->starts, &nco->info.count) == STASH_OK) {
        nco->info.index = STASH_NCO_INDEX_USED;
        if (check_index(nco) == STASH_OK)
            return found(nco, flags);
        free(nco->starts); /* forged, damaged, or missing an object after the last */
        nco->starts = NULL;
    }
    nco->info.index = STASH_NCO_INDEX_WALKED;
    stash_status status = nco_walk(nco, &nco->starts, &nco->info.count, &nco->info);
    return status == STASH_OK ? found(nco, flags) : status;
}

/* nco_open_fd once the file's status is known: st is fstat of fd, a regular file. */
static stash_status open_known(int fd, const struct stat *st, const char *path, unsigned flags,
                               stash_nco **out)
{
    stash_nco *nco = calloc(1, sizeof *nco);
    if (!nco)
        return -ENOMEM;
    nco->fd = -1;
    stash_status status = load_whole_file(fd, flags, st, nco);
    if (status == STASH_OK) {
        nco->map_bytes = (size_t)st->st_size;
        nco->info.file_bytes = (uint64_t)st->st_size;
        status = find_objects(nco, path, st, flags);
    }
    if (status != STASH_OK) {
        stash_nco_close(&nco);
        return status;
    }
    *out = nco;
    return STASH_OK;
}

stash_status nco_open_fd(int fd, const char *path, unsigned flags, stash_nco **out)
{
    struct stat st;
    stash_status status = stat_regular(fd, &st);
    return status == STASH_OK ? open_known(fd, &st, path, flags, out) : status;
}

stash_status nco_open_heap(void *bytes, size_t len, stash_nco **out)
{
    stash_nco *nco = calloc(1, sizeof *nco);
    if (!nco) {
        free(bytes);
        return -ENOMEM;
    }
    nco->map = bytes;
    nco->heap = true;
    nco->fd = -1;
    nco->map_bytes = len;
    nco->info.file_bytes = len;
    nco->info.index = STASH_NCO_INDEX_WALKED;
    stash_status status = nco_walk(nco, &nco->starts, &nco->info.count, &nco->info);
    if (status == STASH_OK)
        status = found(nco, 0);
    if (status != STASH_OK) {
        stash_nco_close(&nco);
        return status;
    }
    *out = nco;
    return STASH_OK;
}

const uint64_t *nco_starts(const stash_nco *nco)
{
    return nco->starts;
}

stash_status stash_nco_open(const char *path, unsigned flags, stash_nco **out)
{
    if (!path || !out || (flags & ~(unsigned)(STASH_NCO_NO_INDEX | STASH_NCO_NO_MAP)))
        return STASH_E_INVALID;
    int fd;
    struct stat st;
    /* Never waits on a FIFO. A descriptor that is only mapped keeps O_NONBLOCK; one that
     * STASH_NCO_NO_MAP reads from is blocking again. */
    int open_flags = O_RDONLY | (flags & STASH_NCO_NO_MAP ? 0 : O_NONBLOCK);
    stash_status status = sysio_open_regular_stat(AT_FDCWD, path, open_flags, &fd, &st);
    if (status != STASH_OK)
        return status;
    status = (uint64_t)st.st_size > SIZE_MAX
                 ? STASH_E_RANGE
                 : open_known(fd, &st, path, flags | NCO_READ_HEAD, out);
    sysio_close(fd); /* the mapping (or, NO_MAP, a duplicate) keeps the file */
    return status;
}

stash_status stash_nco_close(stash_nco **nco)
{
    if (!nco || !*nco)
        return STASH_OK;
    stash_status st = STASH_OK;
    if ((*nco)->heap)
        free((void *)(*nco)->map);
    else if ((*nco)->map && munmap((void *)(*nco)->map, (*nco)->map_bytes) != 0)
        st = -errno;
    if ((*nco)->fd >= 0) {
        stash_status closed = sysio_close((*nco)->fd);
        st = st != STASH_OK ? st : closed;
    }
    free((*nco)->starts);
    free(*nco);
    *nco = NULL;
    return st;
}

stash_status stash_nco_info_get(const stash_nco *nco, stash_nco_info *info)
{
    if (!nco)
        return STASH_E_CLOSED;
    if (!info)
        return STASH_E_INVALID;
    *info = nco->info;
    return STASH_OK;
}

stash_status stash_nco_object_at(const stash_nco *nco, size_t i, stash_nco_object *out)
{
    if (!nco)
        return STASH_E_CLOSED;
    if (!out)
        return STASH_E_INVALID;
    if (i >= nco->info.count)
        return STASH_E_NOT_FOUND;
    return header_at(nco, nco->starts[i], out);
}

/* The i-th object, for a zero-copy call: STASH_E_UNSUPPORTED without a mapping. */
static stash_status mapped_object(const stash_nco *nco, size_t i, stash_nco_object *o)
{
    stash_status status = stash_nco_object_at(nco, i, o);
    return status == STASH_OK && nco->fd >= 0 ? STASH_E_UNSUPPORTED : status;
}

/* len bytes at `at` in a new malloc'd buffer (one byte for none). */
static stash_status copy_range(const stash_nco *nco, uint64_t at, uint64_t len, void **out)
{
    if (len > SIZE_MAX)
        return STASH_E_RANGE;
    void *buf = malloc(len ? (size_t)len : 1);
    stash_status status = buf ? copy_out(nco, at, buf, (size_t)len) : -ENOMEM;
    if (status != STASH_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    return STASH_OK;
}

stash_status stash_nco_meta_bytes(const stash_nco *nco, size_t i, const void **pickle,
                                  size_t *len)
{
    stash_nco_object o;
    stash_status status =
        !nco || (pickle && len) ? mapped_object(nco, i, &o) : STASH_E_INVALID;
    if (status != STASH_OK)
        return status;
    *pickle = nco->map + o.meta_start;
    *len = (size_t)(o.meta_end - o.meta_start);
    return STASH_OK;
}

stash_status stash_nco_meta_bytes_read(const stash_nco *nco, size_t i, void **pickle,
                                       size_t *len)
{
    stash_nco_object o;
    stash_status status =
        !nco || (pickle && len) ? stash_nco_object_at(nco, i, &o) : STASH_E_INVALID;
    void *copy = NULL;
    if (status == STASH_OK)
        status = copy_range(nco, o.meta_start, o.meta_end - o.meta_start, &copy);
    if (status != STASH_OK)
        return status;
    *pickle = copy;
    *len = (size_t)(o.meta_end - o.meta_start);
    return STASH_OK;
}

stash_status stash_nco_meta(const stash_nco *nco, size_t i, stash_value **meta,
                            stash_pickle_error *err)
{
    if (!nco)
        return STASH_E_CLOSED;
    if (!meta)
        return STASH_E_INVALID;
    if (nco && nco->fd < 0) {
        const void *pickle;
        size_t len;
        stash_status status = stash_nco_meta_bytes(nco, i, &pickle, &len);
        return status == STASH_OK ? stash_pickle_read(pickle, len, NULL, meta, err) : status;
    }
    void *pickle = NULL;
    size_t len;
    stash_status status = stash_nco_meta_bytes_read(nco, i, &pickle, &len);
    if (status == STASH_OK)
        status = stash_pickle_read(pickle, len, NULL, meta, err);
    free(pickle);
    return status;
}

/* The NPY header of object o, read with pread: its fixed prefix, then the rest. */
static stash_status read_npy_header(const stash_nco *nco, const stash_nco_object *o,
                                    stash_npy_header *h)
{
    unsigned char prefix[NPY_PREFIX_MAX];
    uint64_t room = o->array_end - o->array_start;
    size_t n = room < sizeof prefix ? (size_t)room : sizeof prefix, total;
    stash_status status = copy_out(nco, o->array_start, prefix, n);
    if (status == STASH_OK)
        status = npy_prefix_parse(prefix, n, &total);
    if (status == STASH_OK && total > room)
        status = STASH_E_TRUNCATED;
    void *text = NULL;
    if (status == STASH_OK)
        status = copy_range(nco, o->array_start, total, &text); /* at most 64 KiB + 12 */
    if (status == STASH_OK)
        status = stash_npy_header_parse(text, total, h);
    free(text);
    return status;
}

/* The NPY header of object o in a file in memory: from the head's copy if it lies in it. */
static stash_status mapped_npy_header(const stash_nco *nco, const stash_nco_object *o,
                                      stash_npy_header *h)
{
    size_t room = (size_t)(o->array_end - o->array_start);
    if (o->array_start < nco->head_bytes) {
        size_t in_head = nco->head_bytes - (size_t)o->array_start;
        stash_status status = stash_npy_header_parse(nco->head + o->array_start,
                                                     in_head < room ? in_head : room, h);
        if (status != STASH_E_TRUNCATED || in_head >= room)
            return status;
    }
    return stash_npy_header_parse(nco->map + o->array_start, room, h);
}

/* The NPY header of object o, checked to lie with its data inside the object. */
static stash_status array_header(const stash_nco *nco, const stash_nco_object *o,
                                 stash_npy_header *h)
{
    stash_status status =
        nco->fd < 0 ? mapped_npy_header(nco, o, h) : read_npy_header(nco, o, h);
    if (status == STASH_OK && o->array_end - o->array_start - h->data_offset < h->data_bytes)
        status = STASH_E_TRUNCATED;
    return status;
}

stash_status stash_nco_array(const stash_nco *nco, size_t i, stash_array_desc *desc,
                             const void **data)
{
    stash_nco_object o;
    stash_npy_header h;
    stash_status status = !nco || (desc && data) ? mapped_object(nco, i, &o) : STASH_E_INVALID;
    if (status == STASH_OK)
        status = array_header(nco, &o, &h);
    if (status != STASH_OK)
        return status;
    *desc = h.desc;
    *data = nco->map + o.array_start + h.data_offset;
    return STASH_OK;
}

stash_status stash_nco_array_read(const stash_nco *nco, size_t i, stash_array_desc *desc,
                                  void **data)
{
    stash_nco_object o;
    stash_npy_header h;
    void *copy = NULL;
    stash_status status = !nco || desc ? stash_nco_object_at(nco, i, &o) : STASH_E_INVALID;
    if (status == STASH_OK)
        status = array_header(nco, &o, &h);
    if (status == STASH_OK && data)
        status = copy_range(nco, o.array_start + h.data_offset, h.data_bytes, &copy);
    if (status != STASH_OK)
        return status;
    *desc = h.desc;
    if (data)
        *data = copy;
    return STASH_OK;
}
