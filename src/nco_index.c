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
#include "nco_internal.h"
#include "sysio.h"

#include <endian.h>
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

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

stash_status nco_index_path(const char *path, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s.stashidx", path);
    return n > 0 && (size_t)n < cap ? STASH_OK : -ENAMETOOLONG;
}

static void identity_encode(const struct stat *st, size_t count, unsigned char *hdr)
{
    memset(hdr, 0, INDEX_HEADER_BYTES);
    memcpy(hdr, INDEX_MAGIC, 8);
    put_le(hdr + 8, INDEX_VERSION, 4);
    put_le(hdr + 16, (uint64_t)st->st_size, 8);
    put_le(hdr + 24, (uint64_t)st->st_ino, 8);
    put_le(hdr + 32, (uint64_t)st->st_mtim.tv_sec, 8);
    put_le(hdr + 40, (uint64_t)st->st_mtim.tv_nsec, 8);
    put_le(hdr + 48, count, 8);
}

static uint64_t checksum(const unsigned char *hdr, const unsigned char *entries, size_t bytes)
{
    return XXH3_64bits_withSeed(entries, bytes, XXH3_64bits(hdr, 56));
}

/* Reads the whole index file, its size checked before the allocation. */
static stash_status read_index(const char *index, unsigned char **buf, size_t *len)
{
    int fd = open(index, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    struct stat st;
    stash_status status = fstat(fd, &st) == 0 ? STASH_OK : -errno;
    if (status == STASH_OK && (st.st_size < INDEX_HEADER_BYTES ||
                               (uint64_t)st.st_size > SIZE_MAX / 2 ||
                               (st.st_size - INDEX_HEADER_BYTES) % 8))
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
    if (memcmp(buf, INDEX_MAGIC, 8) != 0 || get_le(buf + 48, 8) != count)
        return STASH_E_CORRUPT;
    if (get_le(buf + 8, 4) != INDEX_VERSION)
        return STASH_E_VERSION;
    if (checksum(buf, buf + INDEX_HEADER_BYTES, len - INDEX_HEADER_BYTES) != get_le(buf + 56, 8))
        return STASH_E_CORRUPT;
    unsigned char want[INDEX_HEADER_BYTES];
    identity_encode(st, count, want);
    return memcmp(buf + 16, want + 16, 32) == 0 ? STASH_OK : STASH_E_BUSY; /* BUSY: stale */
}

/* Decodes the entries in place (the buffer becomes the list) and checks them. */
static stash_status decode_entries(unsigned char *buf, size_t count, const struct stat *st)
{
    uint64_t *list = (uint64_t *)(void *)buf;
    memmove(list, buf + INDEX_HEADER_BYTES, count * 8);
    for (size_t i = 0; i < count; i++) {
        list[i] = le64toh(list[i]);
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
    for (size_t i = 0; i < job->count; i++) {
        uint64_t le = htole64(job->starts[i]);
        memcpy(buf + INDEX_HEADER_BYTES + 8 * i, &le, 8);
    }
    put_le(buf + 56, checksum(buf, buf + INDEX_HEADER_BYTES, job->count * 8), 8);
    stash_status status = sysio_pwrite_full(fd, buf, bytes, 0, NULL);
    free(buf);
    return status;
}

stash_status nco_index_save(const char *path, const struct stat *st, const uint64_t *starts,
                            size_t count, bool durable)
{
    char index[4096];
    stash_status status = nco_index_path(path, index, sizeof index);
    if (status != STASH_OK)
        return status;
    struct index_job job = {st, starts, count};
    return sysio_publish(index, write_index, &job, durable);
}
