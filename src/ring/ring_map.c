/*
 * The ring's object and its mappings.
 *
 * A ring is built in an unnamed file (O_TMPFILE) in the directory it will
 * live in, complete with header and allocated data, and only then linked
 * to its name: an attacher finds a whole ring or none, and a creator that
 * dies leaves nothing behind. The data is allocated with fallocate, so a
 * ring too large for memory or disk fails at creation with -ENOSPC instead
 * of a SIGBUS in the middle of a put. Readers open it read-only, so they
 * cannot cut it short under the writer; the size is checked again after
 * every mapping, so a ring cut by someone else is refused, not faulted on.
 *
 * The mirror: one reservation of header + 2 x data bytes, then the header
 * and the same data pages mapped twice over it with MAP_FIXED. Slot
 * capacity + i is then slot i, so any window up to the capacity is one
 * contiguous range, for the writer's copies and the readers' views alike.
 */
#include "ring/ring_map.h"

#include "core/sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* [A-Za-z0-9._-], 1 to STASH_RING_NAME_MAX of them, not starting with '.' */
static bool valid_shm_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > STASH_RING_NAME_MAX || name[0] == '.')
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
           len;
}

stash_status ring_path(const char *name, char path[RING_PATH_MAX])
{
    if (name == NULL)
        return STASH_E_INVALID;
    if (strchr(name, '/') == NULL) {
        if (!valid_shm_name(name))
            return STASH_E_INVALID;
        snprintf(path, RING_PATH_MAX, "%s%s", RING_SHM_DIR, name);
        return STASH_OK;
    }
    size_t len = strlen(name);
    if (len >= RING_PATH_MAX || name[len - 1] == '/')
        return STASH_E_INVALID;
    memcpy(path, name, len + 1);
    return STASH_OK;
}

static stash_status write_header(int fd, const struct ring_geometry *geo,
                                 const stash_ring_config *cfg)
{
    void *page = calloc(1, geo->header_bytes);
    if (page == NULL)
        return -ENOMEM;
    ring_header_fill(page, geo, cfg);
    stash_status st = sysio_pwrite_full(fd, page, geo->header_bytes, 0, NULL);
    free(page);
    return st;
}

stash_status ring_object_build(const char *path, const struct ring_geometry *geo,
                               const stash_ring_config *cfg, unsigned mode, struct sysio_aside *a)
{
    stash_status st = sysio_aside_open(path, a);
    if (st != STASH_OK)
        return st;
    off_t bytes = (off_t)geo->header_bytes + (off_t)geo->data_bytes;
    if (fchmod(a->fd, mode & 07777) != 0) /* exactly mode, whatever the umask */
        st = -errno;
    int err = st == STASH_OK ? posix_fallocate(a->fd, 0, bytes) : 0;
    if (err != 0)
        st = -err;
    if (st == STASH_OK)
        st = write_header(a->fd, geo, cfg);
    if (st != STASH_OK)
        sysio_aside_discard(a);
    return st;
}

stash_status ring_object_open(const char *path, bool writable, int *out, uint64_t *bytes)
{
    int fd;
    stash_status status =
        sysio_open_regular(AT_FDCWD, path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW, &fd);
    if (status == STASH_E_NOT_FILE)
        return STASH_E_CORRUPT; /* not a ring: a device or a FIFO, refused without waiting */
    if (status != STASH_OK)
        return status;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        status = -errno;
        close(fd);
        return status;
    }
    *out = fd;
    *bytes = (uint64_t)st.st_size;
    return STASH_OK;
}

stash_status ring_object_reopen_read_only(int *fd)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", *fd);
    int ro = open(proc, O_RDONLY | O_CLOEXEC);
    if (ro < 0)
        return -errno;
    close(*fd);
    *fd = ro;
    return STASH_OK;
}

stash_status ring_object_fits(int fd, const struct ring_geometry *geo)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    return (uint64_t)st.st_size < (uint64_t)geo->header_bytes + geo->data_bytes
               ? STASH_E_TRUNCATED
               : STASH_OK;
}

bool ring_mirror_fits(const struct ring_geometry *geo)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return geo->header_bytes % page == 0 && geo->data_bytes % page == 0;
}

static bool map_fixed(void *at, size_t len, int prot, int fd, off_t offset)
{
    int flags = MAP_SHARED | MAP_FIXED | MAP_POPULATE;
    return mmap(at, len, prot, flags, fd, offset) == at;
}

stash_status ring_map(int fd, const struct ring_geometry *geo, bool writable,
                      struct ring_mapping *map)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (geo->header_bytes % page || (!geo->pocket && !ring_mirror_fits(geo)))
        return STASH_E_UNSUPPORTED;
    size_t header = geo->header_bytes, data = (size_t)geo->data_bytes;
    size_t length = header + data * (geo->pocket ? 1 : 2);
    unsigned char *base = mmap(NULL, length, PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return -errno;
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    bool ok = map_fixed(base, header, prot, fd, 0) &&
              map_fixed(base + header, data, prot, fd, (off_t)header) &&
              (geo->pocket || map_fixed(base + header + data, data, prot, fd, (off_t)header));
    stash_status st = ok ? ring_object_fits(fd, geo) : -errno;
    if (st != STASH_OK) {
        munmap(base, length);
        return st;
    }
    *map = (struct ring_mapping){.base = base, .length = length,
                                 .header = (struct ring_header *)base, .data = base + header};
    return STASH_OK;
}

void ring_unmap(struct ring_mapping *map)
{
    if (map->base)
        munmap(map->base, map->length);
    map->base = NULL;
}
