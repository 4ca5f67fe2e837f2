/*
 * Reading NCO files: map the whole file once, find the objects through the
 * index or by walking the chain, then hand out pointers into the mapping.
 * Every object's header is checked again when it is used, so an index can
 * only make a lookup fast, never make it read outside the file.
 */
#include "nco_internal.h"
#include "sysio.h"

#include <stash/npy.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct stash_nco {
    const unsigned char *map; /* NULL for an empty file */
    size_t map_bytes;
    bool heap; /* map is a malloc'd copy (NCO_READ_SMALL), not a mapping */
    uint64_t *starts;
    stash_nco_info info;
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
 * and tearing down a mapping.
 */
static stash_status load_whole_file(int fd, unsigned flags, struct stat *st, stash_nco *nco)
{
    stash_status status = stat_regular(fd, st);
    if (status != STASH_OK || st->st_size == 0)
        return status;
    size_t size = (size_t)st->st_size;
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
    return STASH_OK;
}

/*
 * Fills the tail fields from the last indexed object, as a walk would. A
 * committed object past the last indexed one makes the index stale, even
 * though it describes this file's size and modification time: a reader
 * that walked during an append can publish its index after the append's
 * header, which changes neither (and a coarse clock may give both writes
 * one timestamp). Trusting it would hide the object, and the next append
 * would cut it off as a tail.
 */
static stash_status info_from_index(stash_nco *nco)
{
    stash_nco_object last = {0};
    if (nco->info.count) {
        uint64_t at = nco->starts[nco->info.count - 1];
        uint64_t avail = nco->map_bytes - at;
        stash_status status =
            nco_header_decode(nco->map + at, avail > 64 ? 64 : (size_t)avail, at,
                              nco->map_bytes, &last);
        if (status != STASH_OK)
            return status;
    }
    nco_describe_tail(nco->map, nco->map_bytes, last.array_end, &nco->info);
    uint64_t tail = nco->info.tail_bytes;
    size_t head = tail > 64 ? 64 : (size_t)tail;
    bool object_after = tail > 0 && nco->info.tail_status == STASH_OK &&
                        !nco_header_is_blank(nco->map + last.array_end, head);
    return object_after ? STASH_E_BUSY : STASH_OK;
}

/* The index if it is current, else a walk (and a new index if allowed). */
static stash_status find_objects(stash_nco *nco, const char *path, const struct stat *st,
                                 unsigned flags)
{
    if (!(flags & STASH_NCO_NO_INDEX) &&
        nco_index_load(path, st, &nco->starts, &nco->info.count) == STASH_OK) {
        nco->info.index = STASH_NCO_INDEX_USED;
        if (info_from_index(nco) == STASH_OK)
            return STASH_OK;
        free(nco->starts); /* a bad header at an entry, or an object after the last: stale */
        nco->starts = NULL;
    }
    stash_status status = nco_walk(nco->map, nco->map_bytes, &nco->starts, &nco->info.count,
                                   &nco->info);
    if (status != STASH_OK)
        return status;
    nco->info.index = STASH_NCO_INDEX_WALKED;
    if (!(flags & STASH_NCO_NO_INDEX) &&
        nco_index_save(path, st, nco->starts, nco->info.count, false) == STASH_OK)
        nco->info.index = STASH_NCO_INDEX_REBUILT;
    return STASH_OK;
}

stash_status nco_open_fd(int fd, const char *path, unsigned flags, stash_nco **out)
{
    stash_nco *nco = calloc(1, sizeof *nco);
    if (!nco)
        return -ENOMEM;
    struct stat st;
    stash_status status = load_whole_file(fd, flags, &st, nco);
    if (status == STASH_OK) {
        nco->map_bytes = (size_t)st.st_size;
        nco->info.file_bytes = (uint64_t)st.st_size;
        status = find_objects(nco, path, &st, flags);
    }
    if (status != STASH_OK) {
        stash_nco_close(&nco);
        return status;
    }
    *out = nco;
    return STASH_OK;
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
    nco->map_bytes = len;
    nco->info.file_bytes = len;
    stash_status status = nco_walk(nco->map, nco->map_bytes, &nco->starts, &nco->info.count,
                                   &nco->info);
    nco->info.index = STASH_NCO_INDEX_WALKED;
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
    if (!path || !out || (flags & ~(unsigned)STASH_NCO_NO_INDEX))
        return STASH_E_INVALID;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    stash_status status = nco_open_fd(fd, path, flags, out);
    sysio_close(fd); /* the mapping keeps the file */
    return status;
}

void stash_nco_close(stash_nco **nco)
{
    if (!nco || !*nco)
        return;
    if ((*nco)->heap)
        free((void *)(*nco)->map);
    else if ((*nco)->map)
        munmap((void *)(*nco)->map, (*nco)->map_bytes);
    free((*nco)->starts);
    free(*nco);
    *nco = NULL;
}

stash_status stash_nco_info_get(const stash_nco *nco, stash_nco_info *info)
{
    if (!nco || !info)
        return STASH_E_INVALID;
    *info = nco->info;
    return STASH_OK;
}

stash_status stash_nco_object_at(const stash_nco *nco, size_t i, stash_nco_object *out)
{
    if (!nco || !out)
        return STASH_E_INVALID;
    if (i >= nco->info.count)
        return STASH_E_NOT_FOUND;
    uint64_t at = nco->starts[i], avail = nco->map_bytes - at;
    return nco_header_decode(nco->map + at, avail > 64 ? 64 : (size_t)avail, at, nco->map_bytes,
                             out);
}

stash_status stash_nco_meta_bytes(const stash_nco *nco, size_t i, const void **pickle,
                                  size_t *len)
{
    stash_nco_object o;
    stash_status status = pickle && len ? stash_nco_object_at(nco, i, &o) : STASH_E_INVALID;
    if (status != STASH_OK)
        return status;
    *pickle = nco->map + o.meta_start;
    *len = (size_t)(o.meta_end - o.meta_start);
    return STASH_OK;
}

stash_status stash_nco_meta(const stash_nco *nco, size_t i, stash_value **meta,
                            stash_pickle_error *err)
{
    const void *pickle;
    size_t len;
    stash_status status = meta ? stash_nco_meta_bytes(nco, i, &pickle, &len) : STASH_E_INVALID;
    return status == STASH_OK ? stash_pickle_read(pickle, len, NULL, meta, err) : status;
}

stash_status stash_nco_array(const stash_nco *nco, size_t i, stash_array_desc *desc,
                             const void **data)
{
    stash_nco_object o;
    stash_npy_header h;
    stash_status status = desc && data ? stash_nco_object_at(nco, i, &o) : STASH_E_INVALID;
    if (status == STASH_OK)
        status = stash_npy_header_parse(nco->map + o.array_start,
                                        (size_t)(o.array_end - o.array_start), &h);
    if (status == STASH_OK && o.array_end - o.array_start - h.data_offset < h.data_bytes)
        status = STASH_E_TRUNCATED;
    if (status != STASH_OK)
        return status;
    *desc = h.desc;
    *data = nco->map + o.array_start + h.data_offset;
    return STASH_OK;
}
