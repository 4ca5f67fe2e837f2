/*
 * The index beside an NCO file ("<path>.stashidx"): every object's start,
 * so the i-th object is found without walking the chain. Little-endian:
 *
 *   0  "STASHIDX"          32  mtime seconds of the NCO file
 *   8  u32 version (1)     40  mtime nanoseconds
 *  12  u32 zero            48  object count n
 *  16  NCO file size       56  XXH3-64 of bytes 0..55, seeding XXH3-64 of the entries
 *  24  NCO file inode      64  n u64 object starts, strictly increasing
 *
 * The identity fields say which version of the NCO file it describes; any
 * difference makes it stale. A checksum failure makes it damaged. Either way
 * the caller walks the chain instead.
 */
#include "nco/nco_internal.h"
#include "core/sysio.h"

#include <stash/bytes.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#define INDEX_MAGIC "STASHIDX"
#define INDEX_VERSION 1
#define INDEX_HEADER_BYTES 64

stash_status nco_index_path(const char *path, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s" STASH_NCO_INDEX_SUFFIX, path);
    return n > 0 && (size_t)n < cap ? STASH_OK : -ENAMETOOLONG;
}

static void identity_encode(const struct stat *st, size_t count, unsigned char *hdr)
{
    memset(hdr, 0, INDEX_HEADER_BYTES);
    memcpy(hdr, INDEX_MAGIC, 8);
    stash_bytes_store_u32le(hdr + 8, INDEX_VERSION);
    stash_bytes_store_u64le(hdr + 16, (uint64_t)st->st_size);
    stash_bytes_store_u64le(hdr + 24, (uint64_t)st->st_ino);
    stash_bytes_store_u64le(hdr + 32, (uint64_t)st->st_mtim.tv_sec);
    stash_bytes_store_u64le(hdr + 40, (uint64_t)st->st_mtim.tv_nsec);
    stash_bytes_store_u64le(hdr + 48, count);
}

static uint64_t checksum(const unsigned char *hdr, const unsigned char *entries, size_t bytes)
{
    return XXH3_64bits_withSeed(entries, bytes, XXH3_64bits(hdr, 56));
}

/* Reads the whole index file, its size checked before the allocation. */
static stash_status read_index(const char *index, unsigned char **buf, size_t *len)
{
    int fd;
    struct stat st;
    /* O_NONBLOCK stays: a regular file's pread ignores it, and an index that cannot be
     * read at once is no worse than a missing one (the open walks). */
    stash_status status =
        sysio_open_regular_stat(AT_FDCWD, index, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, &fd, &st);
    if (status != STASH_OK) /* missing, or a link, FIFO or device planted there: walk */
        return status == -ENOENT ? STASH_E_NOT_FOUND : STASH_E_CORRUPT;
    if (st.st_size < INDEX_HEADER_BYTES || (uint64_t)st.st_size > SIZE_MAX / 2 ||
        (st.st_size - INDEX_HEADER_BYTES) % 8)
        status = STASH_E_CORRUPT;
    unsigned char *data = status == STASH_OK ? malloc((size_t)st.st_size) : NULL;
    if (status == STASH_OK && !data)
        status = -ENOMEM;
    size_t got = 0;
    if (status == STASH_OK)
        status = sysio_pread_full(fd, data, (size_t)st.st_size, 0, &got);
    if (status == STASH_OK && got != (size_t)st.st_size)
        status = STASH_E_CORRUPT; /* shrank while read */
    sysio_close(fd);
    if (status != STASH_OK) {
        free(data);
        return status;
    }
    *buf = data;
    *len = got;
    return STASH_OK;
}

/* The header: magic, version, checksum, and that it describes this file. */
static stash_status check_header(const unsigned char *buf, size_t len, const struct stat *st)
{
    size_t count = (len - INDEX_HEADER_BYTES) / 8;
    if (memcmp(buf, INDEX_MAGIC, 8) != 0 || stash_bytes_load_u64le(buf + 48) != count)
        return STASH_E_CORRUPT;
    if (stash_bytes_load_u32le(buf + 8) != INDEX_VERSION)
        return STASH_E_VERSION;
    if (checksum(buf, buf + INDEX_HEADER_BYTES, len - INDEX_HEADER_BYTES) !=
        stash_bytes_load_u64le(buf + 56))
        return STASH_E_CORRUPT;
    unsigned char want[INDEX_HEADER_BYTES];
    identity_encode(st, count, want);
    return memcmp(buf + 16, want + 16, 32) == 0 ? STASH_OK : STASH_E_BUSY; /* BUSY: stale */
}

/* Decodes the entries in place (the buffer becomes the list) and checks them.
 * Entry i is read from beyond where it is written, so nothing is overwritten
 * before it is read. */
static stash_status decode_entries(unsigned char *buf, size_t count, const struct stat *st)
{
    uint64_t *list = (uint64_t *)(void *)buf;
    for (size_t i = 0; i < count; i++) {
        list[i] = stash_bytes_load_u64le(buf + INDEX_HEADER_BYTES + 8 * i);
        if ((i > 0 && list[i] <= list[i - 1]) || list[i] >= (uint64_t)st->st_size)
            return STASH_E_CORRUPT;
    }
    return STASH_OK;
}

stash_status nco_index_load(const char *path, const struct stat *st, uint64_t **starts,
                            size_t *count)
{
    char index[4096];
    unsigned char *buf = NULL;
    size_t len = 0;
    stash_status status = nco_index_path(path, index, sizeof index);
    if (status == STASH_OK)
        status = read_index(index, &buf, &len);
    if (status != STASH_OK)
        return status;
    size_t n = (len - INDEX_HEADER_BYTES) / 8;
    status = check_header(buf, len, st);
    if (status == STASH_OK)
        status = decode_entries(buf, n, st);
    if (status != STASH_OK) {
        free(buf);
        return status;
    }
    *starts = (uint64_t *)(void *)buf;
    *count = n;
    return STASH_OK;
}

struct index_job {
    const struct stat *st;
    const uint64_t *starts;
    size_t count;
};

static stash_status write_index(int fd, void *ctx)
{
    const struct index_job *job = ctx;
    size_t bytes = INDEX_HEADER_BYTES + job->count * 8;
    unsigned char *buf = malloc(bytes);
    if (!buf)
        return -ENOMEM;
    identity_encode(job->st, job->count, buf);
    for (size_t i = 0; i < job->count; i++)
        stash_bytes_store_u64le(buf + INDEX_HEADER_BYTES + 8 * i, job->starts[i]);
    stash_bytes_store_u64le(buf + 56, checksum(buf, buf + INDEX_HEADER_BYTES, job->count * 8));
    stash_status status = sysio_pwrite_full(fd, buf, bytes, 0, NULL);
    free(buf);
    return status;
}

stash_status nco_index_save(const char *path, const struct stat *st, const uint64_t *starts,
                            size_t count, bool durable)
{
    char index[4096];
    assert(nco_starts_increase(starts, count)); /* what a loader will check */
    stash_status status = nco_index_path(path, index, sizeof index);
    if (status != STASH_OK)
        return status;
    struct index_job job = {st, starts, count};
    return sysio_publish(index, write_index, &job, durable);
}
