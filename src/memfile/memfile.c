/*
 * The memory file: a memfd mapped at a fixed address, its size, growth,
 * truncation, export and reference count. Layout in memfile_internal.h.
 */
#include "core/checked.h"
#include "memfile/memfile_internal.h"
#include "core/sysio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The smallest reservation tried when the default one is refused. */
#define MIN_DEFAULT_RESERVATION ((uint64_t)64 << 20)
/* The first capacity a growing file gets: small files cost one ftruncate. */
#define MIN_CAPACITY ((uint64_t)64 << 10)
/* memfd names are limited to 249 bytes; only the label is cut, not ours. */
#define MEMFD_NAME_MAX 200

/* ---- Locking: a no-op unless the file was created locked ---------------- */

static void lock_shared(stash_memfile *mf)
{
    if (mf->flags & STASH_MEMFILE_LOCKED)
        pthread_rwlock_rdlock(&mf->lock);
}

static void lock_exclusive(stash_memfile *mf)
{
    if (mf->flags & STASH_MEMFILE_LOCKED)
        pthread_rwlock_wrlock(&mf->lock);
}

static void unlock(stash_memfile *mf)
{
    if (mf->flags & STASH_MEMFILE_LOCKED)
        pthread_rwlock_unlock(&mf->lock);
}

/* ---- Size ---------------------------------------------------------------- */

static uint64_t known_size(const stash_memfile *mf)
{
    return atomic_load_explicit(&mf->size, memory_order_relaxed);
}

/* The layout's bounds (memfile_internal.h): the cached size within the
 * mapping and, before the export, within the memfd's length too. */
static void set_size(stash_memfile *mf, uint64_t size)
{
    assert(size <= mf->max_size && (mf->exported || size <= mf->capacity));
    atomic_store_explicit(&mf->size, size, memory_order_relaxed);
}

/* After the export the descriptor's length is the truth, and *size gets it.
 * The cached size is capped at max_size: it guards the memcpy paths, which
 * only reach the mapping; bytes others wrote past it are read with pread. */
static stash_status refresh_size(stash_memfile *mf, uint64_t *size)
{
    struct stat st;
    if (fstat(mf->fd, &st) != 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    set_size(mf, *size < mf->max_size ? *size : mf->max_size);
    return STASH_OK;
}

/* The size, re-read after the export if [offset, offset + len) passes it. */
static stash_status size_covering(stash_memfile *mf, uint64_t offset, size_t len,
                                  uint64_t *size)
{
    uint64_t known = known_size(mf);
    if (mf->exported && (offset >= known || len > known - offset))
        return refresh_size(mf, size);
    *size = known;
    return STASH_OK;
}

/* The size as it is now: after the export, others may have grown it. */
static stash_status fresh_size(stash_memfile *mf, uint64_t *size)
{
    if (mf->exported)
        return refresh_size(mf, size);
    *size = known_size(mf);
    return STASH_OK;
}

stash_status memfile_current_size(stash_memfile *mf, uint64_t *size)
{
    lock_shared(mf);
    stash_status status = fresh_size(mf, size);
    unlock(mf);
    return status;
}

/* ---- Growth (before the export) ----------------------------------------- */

static uint64_t round_up_to_page(uint64_t n)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return n > UINT64_MAX - (page - 1) ? UINT64_MAX : (n + page - 1) / page * page;
}

/* Makes the memfd at least needed bytes long, doubling, within max_size. */
static stash_status reserve_capacity(stash_memfile *mf, uint64_t needed)
{
    assert(needed <= mf->max_size); /* the callers refuse more */
    if (needed <= mf->capacity)
        return STASH_OK;
    uint64_t capacity = mf->capacity < MIN_CAPACITY ? MIN_CAPACITY : mf->capacity;
    while (capacity < needed)
        capacity = capacity > mf->max_size / 2 ? mf->max_size : capacity * 2;
    capacity = round_up_to_page(capacity);
    if (capacity > mf->max_size)
        capacity = mf->max_size;
    if (ftruncate(mf->fd, (off_t)capacity) != 0)
        return -errno;
    mf->capacity = capacity;
    assert(needed <= mf->capacity && mf->capacity <= mf->max_size);
    return STASH_OK;
}

/* ---- Reading and writing ------------------------------------------------- */

/* Copies n bytes at offset: from the mapping below max_size, and with pread
 * past it, where only a holder of the descriptor can have grown the file. */
static stash_status copy_out(stash_memfile *mf, void *buf, size_t n, uint64_t offset)
{
    uint64_t mapped_after = offset < mf->max_size ? mf->max_size - offset : 0;
    if (mapped_after >= n) {
        memcpy(buf, mf->base + offset, n);
        return STASH_OK;
    }
    size_t mapped = (size_t)mapped_after;
    memcpy(buf, mf->base + offset, mapped);
    size_t got;
    stash_status status = sysio_pread_full(mf->fd, (unsigned char *)buf + mapped, n - mapped,
                                           offset + mapped, &got);
    return status == STASH_OK && got < n - mapped ? -EIO : status; /* cannot shrink */
}

/* Reads that reach the end, run after the export or take the lock. */
__attribute__((noinline)) static stash_status read_slow(stash_memfile *mf, void *buf,
                                                        size_t len, uint64_t offset,
                                                        size_t *got)
{
    uint64_t size;
    lock_shared(mf);
    stash_status status = size_covering(mf, offset, len, &size);
    size_t n = 0;
    if (status == STASH_OK && offset < size) {
        n = size - offset < len ? (size_t)(size - offset) : len;
        status = copy_out(mf, buf, n, offset);
    }
    if (status == STASH_OK)
        *got = n;
    unlock(mf);
    return status;
}

/* Copies up to 16 bytes without a call: two possibly overlapping loads, as
 * memcpy does inside, minus the call and its dispatch. */
static inline void copy_small(unsigned char *dst, const unsigned char *src, size_t len)
{
    if (len >= 8) {
        uint64_t head, tail;
        memcpy(&head, src, 8);
        memcpy(&tail, src + len - 8, 8);
        memcpy(dst, &head, 8);
        memcpy(dst + len - 8, &tail, 8);
    } else {
        for (size_t i = 0; i < len; i++)
            dst[i] = src[i];
    }
}

/*
 * The hot path, kept short on purpose: a random 8-byte read is bound by cache
 * misses, and the fewer instructions each read takes, the more misses the
 * processor overlaps. A whole read below the known size needs nothing else,
 * before or after the export.
 */
static inline stash_status read_fast(stash_memfile *mf, void *buf, size_t len,
                                     uint64_t offset, size_t *got)
{
    uint64_t size = known_size(mf);
    if ((mf->flags & STASH_MEMFILE_LOCKED) || offset >= size || len > size - offset)
        return read_slow(mf, buf, len, offset, got);
    if (len <= 16)
        copy_small(buf, mf->base + offset, len);
    else
        memcpy(buf, mf->base + offset, len);
    *got = len;
    return STASH_OK;
}

stash_status memfile_read(stash_memfile *mf, void *buf, size_t len, uint64_t offset,
                          size_t *got)
{
    return read_fast(mf, buf, len, offset, got);
}

/* A write after the export: in place as a memcpy; growing through the
 * descriptor, so the kernel extends it atomically and never shrinks it. */
static stash_status write_exported(stash_memfile *mf, const void *buf, size_t len,
                                   uint64_t offset)
{
    uint64_t size;
    stash_status status = size_covering(mf, offset, len, &size);
    if (status != STASH_OK)
        return status;
    if (offset + len <= size) {
        memcpy(mf->base + offset, buf, len);
        return STASH_OK;
    }
    status = sysio_pwrite_full(mf->fd, buf, len, offset, NULL);
    if (status == STASH_OK && offset + len > known_size(mf))
        set_size(mf, offset + len);
    return status;
}

/* The write itself; the caller holds the lock exclusively. */
static stash_status write_locked(stash_memfile *mf, const void *buf, size_t len,
                                 uint64_t offset)
{
    if (len == 0)
        return STASH_OK;
    if (!range_within(offset, len, mf->max_size))
        return STASH_E_FULL;
    if (mf->exported)
        return write_exported(mf, buf, len, offset);
    uint64_t end = offset + len;
    stash_status status = reserve_capacity(mf, end);
    if (status != STASH_OK)
        return status;
    memcpy(mf->base + offset, buf, len); /* a gap below offset is already zero */
    if (end > known_size(mf))
        set_size(mf, end);
    return STASH_OK;
}

/* Writes that extend the file, run after the export or take the lock. */
__attribute__((noinline)) static stash_status write_slow(stash_memfile *mf, const void *buf,
                                                         size_t len, uint64_t offset)
{
    lock_exclusive(mf);
    stash_status status = write_locked(mf, buf, len, offset);
    unlock(mf);
    return status;
}

/* The hot path, short for the same reason as read_fast: a write inside the
 * known size changes nothing but the bytes, before or after the export. */
static inline stash_status write_fast(stash_memfile *mf, const void *buf, size_t len,
                                      uint64_t offset)
{
    uint64_t size = known_size(mf);
    if ((mf->flags & STASH_MEMFILE_LOCKED) || offset >= size || len > size - offset)
        return write_slow(mf, buf, len, offset);
    if (len <= 16)
        copy_small(mf->base + offset, buf, len);
    else
        memcpy(mf->base + offset, buf, len);
    return STASH_OK;
}

stash_status memfile_write(stash_memfile *mf, const void *buf, size_t len, uint64_t offset)
{
    return write_fast(mf, buf, len, offset);
}

stash_status memfile_append(stash_memfile *mf, const void *buf, size_t len, uint64_t *offset)
{
    uint64_t end;
    lock_exclusive(mf);
    stash_status status = fresh_size(mf, &end);
    if (status == STASH_OK)
        status = write_locked(mf, buf, len, end);
    unlock(mf);
    if (status == STASH_OK)
        *offset = end;
    return status;
}

/* ---- Truncation ---------------------------------------------------------- */

static stash_status truncate_exported(stash_memfile *mf, uint64_t size, uint64_t current)
{
    if (size < current)
        return STASH_E_BUSY; /* sealed: a holder of the descriptor may map it */
    if (size > current && ftruncate(mf->fd, (off_t)size) != 0)
        return errno == EPERM ? STASH_E_BUSY : -errno; /* grown meanwhile past size */
    set_size(mf, size);
    return STASH_OK;
}

static stash_status truncate_locked(stash_memfile *mf, uint64_t size)
{
    if (size > mf->max_size)
        return STASH_E_FULL;
    uint64_t current;
    stash_status status = fresh_size(mf, &current);
    if (status != STASH_OK)
        return status;
    if (mf->exported)
        return truncate_exported(mf, size, current);
    if (size < current) {
        /* The kernel drops the tail, which keeps [size, capacity) zero. */
        if (ftruncate(mf->fd, (off_t)size) != 0)
            return -errno;
        mf->capacity = size;
    } else if ((status = reserve_capacity(mf, size)) != STASH_OK) {
        return status;
    }
    set_size(mf, size);
    return STASH_OK;
}

stash_status memfile_prepare_open(stash_memfile *mf, int open_flags, uint64_t *end)
{
    lock_exclusive(mf);
    uint64_t size;
    stash_status status = fresh_size(mf, &size);
    if (status == STASH_OK && (open_flags & O_EXCL) && size > 0)
        status = -EEXIST;
    if (status == STASH_OK && (open_flags & O_TRUNC) && size > 0) {
        status = truncate_locked(mf, 0);
        size = 0;
    }
    if (status == STASH_OK)
        *end = size;
    unlock(mf);
    return status;
}

/* ---- Life cycle ---------------------------------------------------------- */

/* Reserves the address space: the requested size, or the default halved
 * until the system grants it (RLIMIT_AS may be small: ENOMEM; a length the
 * system finds too large is EINVAL, as under valgrind, which refuses 64 GiB). */
static stash_status map_reservation(int fd, uint64_t requested, unsigned char **base,
                                    uint64_t *max_size)
{
    bool fallback = requested == 0;
    uint64_t size = fallback ? STASH_MEMFILE_DEFAULT_MAX_SIZE : round_up_to_page(requested);
    for (;;) {
        if (size > (uint64_t)SIZE_MAX || size > (uint64_t)INT64_MAX)
            return -ENOMEM;
        void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_NORESERVE, fd, 0);
        if (p != MAP_FAILED) {
            *base = p;
            *max_size = size;
            return STASH_OK;
        }
        bool too_large = errno == ENOMEM || errno == EINVAL;
        if (!too_large || !fallback || size / 2 < MIN_DEFAULT_RESERVATION)
            return -errno;
        size /= 2;
    }
}

static stash_status open_memfd(const char *name, int *fd)
{
    char label[MEMFD_NAME_MAX + 1];
    snprintf(label, sizeof label, "%s", name);
    *fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return *fd < 0 ? -errno : STASH_OK;
}

stash_status stash_memfile_create(const char *name, const stash_memfile_options *options,
                                  stash_memfile **out)
{
    stash_memfile_options defaults = {0};
    if (options == NULL)
        options = &defaults;
    if (out == NULL || (options->flags & ~(unsigned)STASH_MEMFILE_LOCKED) != 0)
        return STASH_E_INVALID;
    if (name == NULL)
        name = "memfile";
    size_t name_len = strlen(name);
    stash_memfile *mf = calloc(1, sizeof *mf + name_len + 1);
    if (mf == NULL)
        return -ENOMEM;
    memcpy(mf->name, name, name_len + 1);
    mf->flags = options->flags;
    stash_status status = open_memfd(name, &mf->fd);
    if (status == STASH_OK) {
        status = map_reservation(mf->fd, options->max_size, &mf->base, &mf->max_size);
        if (status != STASH_OK)
            sysio_close(mf->fd);
    }
    if (status == STASH_OK && (mf->flags & STASH_MEMFILE_LOCKED) &&
        (status = -pthread_rwlock_init(&mf->lock, NULL)) != STASH_OK) {
        munmap(mf->base, (size_t)mf->max_size);
        sysio_close(mf->fd);
    }
    if (status != STASH_OK) {
        free(mf);
        return status;
    }
    atomic_init(&mf->refs, 1);
    atomic_init(&mf->size, 0);
    *out = mf;
    return STASH_OK;
}

void memfile_retain(stash_memfile *mf)
{
    atomic_fetch_add_explicit(&mf->refs, 1, memory_order_relaxed);
}

stash_status memfile_release(stash_memfile *mf)
{
    unsigned long refs = atomic_fetch_sub_explicit(&mf->refs, 1, memory_order_acq_rel);
    assert(refs > 0);
    if (refs != 1)
        return STASH_OK;
    munmap(mf->base, (size_t)mf->max_size);
    stash_status status = sysio_close(mf->fd);
    if (mf->flags & STASH_MEMFILE_LOCKED)
        pthread_rwlock_destroy(&mf->lock);
    free(mf);
    return status;
}

stash_status stash_memfile_close(stash_memfile **mfp)
{
    if (mfp == NULL || *mfp == NULL)
        return STASH_OK;
    stash_memfile *mf = *mfp;
    *mfp = NULL;
    return memfile_release(mf);
}

const char *stash_memfile_name(const stash_memfile *mf)
{
    return mf == NULL ? "" : mf->name;
}

/* ---- The public positional calls ----------------------------------------- */

stash_status stash_memfile_pread(stash_memfile *mf, void *buf, size_t len, uint64_t offset,
                                 size_t *got)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if ((buf == NULL && len != 0) || got == NULL)
        return STASH_E_INVALID;
    return read_fast(mf, buf, len, offset, got);
}

stash_status stash_memfile_pwrite(stash_memfile *mf, const void *buf, size_t len,
                                  uint64_t offset)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (buf == NULL && len != 0)
        return STASH_E_INVALID;
    if (!range_within(offset, len, FILE_OFFSET_MAX))
        return STASH_E_RANGE; /* as a stream's pwrite says */
    return write_fast(mf, buf, len, offset);
}

stash_status stash_memfile_size(stash_memfile *mf, uint64_t *size)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (size == NULL)
        return STASH_E_INVALID;
    return memfile_current_size(mf, size);
}

stash_status stash_memfile_truncate(stash_memfile *mf, uint64_t size)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    lock_exclusive(mf);
    stash_status status = truncate_locked(mf, size);
    unlock(mf);
    return status;
}

stash_status stash_memfile_data(stash_memfile *mf, void **data, uint64_t *size)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (data == NULL || size == NULL)
        return STASH_E_INVALID;
    uint64_t current;
    stash_status status = memfile_current_size(mf, &current);
    if (status == STASH_OK && current > mf->max_size)
        status = STASH_E_FULL; /* grown through a descriptor past what base maps */
    if (status == STASH_OK) {
        *data = mf->base;
        *size = current;
    }
    return status;
}

/* First export: cut the memfd to the exact size, then seal it. */
static stash_status export_locked(stash_memfile *mf)
{
    if (mf->exported)
        return STASH_OK;
    uint64_t size = known_size(mf);
    if (ftruncate(mf->fd, (off_t)size) != 0)
        return -errno;
    mf->capacity = size;
    if (fcntl(mf->fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
        return -errno;
    mf->exported = true;
    return STASH_OK;
}

stash_status stash_memfile_fd(stash_memfile *mf, int *fd)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (fd == NULL)
        return STASH_E_INVALID;
    lock_exclusive(mf);
    stash_status status = export_locked(mf);
    int copy = status == STASH_OK ? fcntl(mf->fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (status == STASH_OK && copy < 0)
        status = -errno;
    unlock(mf);
    if (status == STASH_OK)
        *fd = copy;
    return status;
}
