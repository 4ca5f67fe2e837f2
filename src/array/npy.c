/*
 * NPY files through streams, atomic saves, whole loads and zero-copy maps.
 * The header text itself is src/array/npy_header.c.
 */
#include "array/npy_internal.h"
#include "core/sysio.h"

#include <stash/npy.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

stash_status stash_npy_write(stash_stream *s, const stash_array_desc *desc, const void *data,
                             unsigned major)
{
    char header[STASH_NPY_FORMATTED_MAX];
    size_t header_len;
    uint64_t nbytes;
    stash_status status = stash_npy_header_format(desc, major, header, sizeof header,
                                                  &header_len);
    if (status == STASH_OK)
        status = stash_array_nbytes(desc, &nbytes);
    if (status != STASH_OK)
        return status;
    if (data == NULL && nbytes > 0)
        return STASH_E_INVALID;
    if (nbytes > SIZE_MAX)
        return STASH_E_RANGE;
    status = stash_stream_write(s, header, header_len);
    if (status == STASH_OK)
        status = stash_stream_write(s, data, (size_t)nbytes);
    return status;
}

stash_status stash_npy_read_header(stash_stream *s, stash_npy_header *out)
{
    if (out == NULL)
        return STASH_E_INVALID;
    uint64_t start = stash_stream_tell(s), size;
    stash_status status = stash_stream_size(s, &size);
    if (status != STASH_OK)
        return status;
    unsigned char prefix[NPY_PREFIX_MAX];
    size_t got, total;
    status = stash_stream_pread(s, prefix, sizeof prefix, start, &got);
    if (status == STASH_OK)
        status = npy_prefix_parse(prefix, got, &total);
    if (status != STASH_OK)
        return status;
    if (size < start || size - start < total)
        return STASH_E_TRUNCATED;
    char *text = malloc(total); /* at most STASH_NPY_MAX_HEADER + 12, and present */
    if (text == NULL)
        return -ENOMEM;
    stash_npy_header h;
    status = stash_stream_pread(s, text, total, start, &got);
    if (status == STASH_OK)
        status = stash_npy_header_parse(text, got, &h);
    free(text);
    if (status == STASH_OK && size - start - h.data_offset < h.data_bytes)
        status = STASH_E_TRUNCATED;
    if (status == STASH_OK)
        status = stash_stream_seek(s, (int64_t)(start + h.data_offset), STASH_SEEK_SET, NULL);
    if (status == STASH_OK)
        *out = h;
    return status;
}

/* ---- Whole files -------------------------------------------------------- */

struct npy_job {
    const stash_array_desc *desc;
    const void *data;
};

static stash_status write_npy(int fd, void *ctx)
{
    const struct npy_job *job = ctx;
    stash_stream *s;
    stash_status status = stash_stream_open_fd(fd, "w", &s);
    if (status == STASH_OK) {
        status = stash_npy_write(s, job->desc, job->data, 0);
        stash_status closed = stash_stream_close(&s);
        status = status != STASH_OK ? status : closed;
    }
    return status;
}

stash_status stash_npy_save(const char *path, const stash_array_desc *desc, const void *data,
                            unsigned flags)
{
    if (path == NULL || (flags & ~(unsigned)STASH_NPY_DURABLE) != 0)
        return STASH_E_INVALID;
    struct npy_job job = {desc, data};
    return sysio_publish_output(path, write_npy, &job, (flags & STASH_NPY_DURABLE) != 0);
}

stash_status stash_npy_load(const char *path, stash_array_desc *desc, void **data)
{
    if (path == NULL || desc == NULL || data == NULL)
        return STASH_E_INVALID;
    stash_stream *s;
    stash_status status = stash_stream_open_file(path, "r", &s);
    if (status != STASH_OK)
        return status;
    stash_npy_header h;
    void *bytes = NULL;
    status = stash_npy_read_header(s, &h); /* checks the data is all there */
    if (status == STASH_OK && h.data_bytes > SIZE_MAX)
        status = STASH_E_RANGE;
    if (status == STASH_OK && (bytes = malloc(h.data_bytes ? (size_t)h.data_bytes : 1)) == NULL)
        status = -ENOMEM;
    if (status == STASH_OK)
        status = stash_stream_read_exact(s, bytes, (size_t)h.data_bytes);
    stash_stream_close(&s);
    if (status != STASH_OK) {
        free(bytes);
        return status == STASH_E_EOF ? STASH_E_TRUNCATED : status; /* shrank meanwhile */
    }
    *desc = h.desc;
    *data = bytes;
    return STASH_OK;
}

/* ---- Maps --------------------------------------------------------------- */

struct stash_npy_map {
    stash_npy_header header;
    void *base;
    size_t size;
};

/* Maps the file that sysio_open_regular_stat opened (st: its status then). */
static stash_status map_file(int fd, const struct stat *st, void **base, size_t *size)
{
    if ((uint64_t)st->st_size > SIZE_MAX)
        return STASH_E_RANGE;
    *size = (size_t)st->st_size;
    if (*size == 0)
        return STASH_E_TRUNCATED;
    void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *base = p;
    return STASH_OK;
}

/* Headers up to this long are read with the one pread; longer ones (rare) from the mapping. */
#define NPY_HEAD_READ_BYTES 4096

/*
 * The header of the mapped file, read with one pread rather than through the
 * mapping: a first touch of the mapping faults its first pages in (with the
 * kernel's fault-around, up to 16) and munmap must then tear them down, which
 * costs more than the pread for a caller that opens, looks and closes. A
 * caller that goes on to read the data faults those pages in then, as it
 * would have anyway.
 */
static stash_status map_header(int fd, const stash_npy_map *m, stash_npy_header *h)
{
    unsigned char head[NPY_HEAD_READ_BYTES];
    size_t want = m->size < sizeof head ? m->size : sizeof head, got = 0;
    if (sysio_pread_full(fd, head, want, 0, &got) == STASH_OK) {
        stash_status status = stash_npy_header_parse(head, got, h);
        if (status != STASH_E_TRUNCATED)
            return status;
        if (got < want)
            return STASH_E_TRUNCATED; /* shorter than when mapped: never touch the mapping */
    }
    return stash_npy_header_parse(m->base, m->size, h);
}

stash_status stash_npy_map_open(const char *path, stash_npy_map **out)
{
    if (path == NULL || out == NULL)
        return STASH_E_INVALID;
    int fd;
    struct stat st;
    /* Never waits on a FIFO; O_NONBLOCK stays, as the descriptor is only mapped and read
     * from once (a regular file's read ignores it; if one did not, see map_header). */
    stash_status status =
        sysio_open_regular_stat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, &fd, &st);
    if (status != STASH_OK)
        return status;
    stash_npy_map m = {0};
    status = map_file(fd, &st, &m.base, &m.size);
    if (status == STASH_OK)
        status = map_header(fd, &m, &m.header);
    sysio_close(fd); /* the mapping keeps the file */
    if (status == STASH_OK && m.size - m.header.data_offset < m.header.data_bytes)
        status = STASH_E_TRUNCATED;
    stash_npy_map *map = status == STASH_OK ? malloc(sizeof *map) : NULL;
    if (status == STASH_OK && map == NULL)
        status = -ENOMEM;
    if (status != STASH_OK) {
        if (m.base != NULL)
            munmap(m.base, m.size);
        return status;
    }
    *map = m;
    *out = map;
    return STASH_OK;
}

const stash_npy_header *stash_npy_map_header(const stash_npy_map *map)
{
    return map == NULL ? NULL : &map->header;
}

const void *stash_npy_map_data(const stash_npy_map *map)
{
    return map == NULL ? NULL : (const char *)map->base + map->header.data_offset;
}

stash_status stash_npy_map_close(stash_npy_map **map)
{
    if (map == NULL || *map == NULL)
        return STASH_OK;
    stash_status status = munmap((*map)->base, (*map)->size) == 0 ? STASH_OK : -errno;
    free(*map);
    *map = NULL;
    return status;
}
