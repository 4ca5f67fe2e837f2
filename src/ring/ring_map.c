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
 * The locks: every handle holds a shared lock on byte 1 of the object from
 * attach to close, so whether a ring is used, and by how many handles, is
 * the kernel's answer (ring_map.h), which a crash cannot leave wrong.
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
#include <sys/sysmacros.h>
#include <unistd.h>

/* The shared memory name in name ("eeg" and "/eeg" are /dev/shm/eeg), or NULL for a file path. */
static const char *shm_name(const char *name)
{
    if (strchr(name, '/') == NULL)
        return name;
    if (name[0] == '/' && strchr(name + 1, '/') == NULL)
        return name + 1; /* shm_open's convention: one leading slash and no other */
    return NULL;
}

const char *stash_ring_name_problem(const char *name)
{
    if (name == NULL)
        return "no name";
    const char *shm = shm_name(name);
    if (shm == NULL) {
        size_t len = strlen(name);
        if (len >= RING_PATH_MAX)
            return "a file path has at most 4095 bytes";
        return name[len - 1] == '/' ? "a file path names a file, so it does not end with '/'"
                                    : NULL;
    }
    size_t len = strlen(shm);
    if (len == 0)
        return "empty: a shared memory name has 1 to 200 characters from [A-Za-z0-9._-]";
    if (len > STASH_RING_NAME_MAX)
        return "a shared memory name has at most 200 characters";
    if (shm[0] == '.')
        return "a shared memory name does not start with '.'";
    if (strspn(shm, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len)
        return "a shared memory name has only the characters [A-Za-z0-9._-] (a name with a '/' "
               "after its first character is a file path)";
    return NULL;
}

stash_status ring_path(const char *name, char path[RING_PATH_MAX])
{
    if (stash_ring_name_problem(name) != NULL)
        return STASH_E_INVALID;
    const char *shm = shm_name(name);
    if (shm != NULL)
        snprintf(path, RING_PATH_MAX, "%s%s", RING_SHM_DIR, shm);
    else
        memcpy(path, name, strlen(name) + 1);
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

/* -ENOENT, from a ring's name or its directory, is the ring API's "no such thing". */
static stash_status not_found(stash_status st)
{
    return st == -ENOENT ? STASH_E_NOT_FOUND : st;
}

stash_status ring_object_build(const char *path, const struct ring_geometry *geo,
                               const stash_ring_config *cfg, unsigned mode, struct sysio_aside *a)
{
    stash_status st = not_found(sysio_aside_open(path, a));
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
    if (st == STASH_OK) /* held before the name appears: never seen unused */
        st = ring_handle_lock(a->fd);
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
        return not_found(status);
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

static struct flock lock_range(short type, off_t start, off_t len)
{
    return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
}

/* How often attach opens the name again when each object it opens was removed meanwhile. */
#define RING_REOPENS 16

stash_status ring_object_attach(const char *path, bool writable, int *out, uint64_t *bytes)
{
    for (int tries = 0; tries < RING_REOPENS; tries++) {
        int fd = -1; /* set by a successful open; gcc -O2 cannot see that */
        stash_status status = ring_object_open(path, writable, &fd, bytes);
        if (status != STASH_OK)
            return status;
        status = ring_handle_lock(fd); /* waits out a stale ring's removal in progress */
        struct stat st;
        if (status == STASH_OK && fstat(fd, &st) != 0)
            status = -errno;
        if (status == STASH_OK && st.st_nlink > 0) {
            *out = fd;
            return STASH_OK;
        }
        close(fd);
        if (status != STASH_OK)
            return status;
        /* Removed between the open and the lock: the name may now be another ring, or none. */
    }
    return STASH_E_NOT_FOUND;
}

stash_status ring_object_reopen_read_only(int *fd)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", *fd);
    int ro = open(proc, O_RDONLY | O_CLOEXEC);
    if (ro < 0)
        return -errno;
    stash_status st = ring_handle_lock(ro); /* before the old one's goes: never unused */
    if (st != STASH_OK) {
        close(ro);
        return st;
    }
    /* Unlocked, not just closed: a mapping made through it keeps it (and a lock) open. */
    struct flock unlock = lock_range(F_UNLCK, RING_LOCK_HANDLES, 1);
    fcntl(*fd, F_OFD_SETLK, &unlock);
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

/* ---- Locks: byte 0 is the writer's claim, byte 1 every handle's (see ring_map.h) ---- */

static stash_status lock_now(int fd, struct flock lock)
{
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0)
        return STASH_OK;
    return errno == EAGAIN || errno == EACCES ? STASH_E_BUSY : -errno;
}

stash_status ring_writer_lock(int fd)
{
    return lock_now(fd, lock_range(F_WRLCK, RING_LOCK_WRITER, 1));
}

void ring_writer_unlock(int fd)
{
    struct flock lock = lock_range(F_UNLCK, RING_LOCK_WRITER, 1);
    fcntl(fd, F_OFD_SETLK, &lock); /* cannot fail on a descriptor that holds the lock */
}

stash_status ring_handle_lock(int fd)
{
    struct flock lock = lock_range(F_RDLCK, RING_LOCK_HANDLES, 1);
    while (fcntl(fd, F_OFD_SETLKW, &lock) != 0)
        if (errno != EINTR)
            return -errno;
    return STASH_OK;
}

stash_status ring_lock_unused(int fd)
{
    return lock_now(fd, lock_range(F_WRLCK, RING_LOCK_WRITER, 2));
}

bool ring_lock_held(int fd, off_t byte)
{
    struct flock lock = lock_range(F_WRLCK, byte, 1);
    if (fcntl(fd, F_OFD_GETLK, &lock) != 0)
        return true; /* cannot tell: say in use, which removes nothing */
    return lock.l_type != F_UNLCK;
}

/* Read locks on byte 1 of the object (dev, ino) listed in /proc/locks' text. */
static uint32_t count_handle_locks(const char *text, dev_t dev, ino_t ino)
{
    uint32_t count = 0;
    for (const char *line = text; line != NULL; line = strchr(line, '\n')) {
        line += *line == '\n';
        char class[16], type[16], start[24], end[24];
        unsigned major_id, minor_id;
        unsigned long long inode;
        /* "1: OFDLCK ADVISORY  READ  -1 00:1b:40966 1 1"; a waiter's line has "->" for a class */
        if (sscanf(line, "%*d: %15s %*s %15s %*s %x:%x:%llu %23s %23s", class, type, &major_id,
                   &minor_id, &inode, start, end) == 7 &&
            strcmp(class, "OFDLCK") == 0 && strcmp(type, "READ") == 0 &&
            major_id == major(dev) && minor_id == minor(dev) && inode == (unsigned long long)ino &&
            strcmp(start, "1") == 0 && strcmp(end, "1") == 0)
            count++;
    }
    return count;
}

uint32_t ring_handles_count(int fd)
{
    if (!ring_lock_held(fd, RING_LOCK_HANDLES))
        return 0;
    struct stat st;
    int locks;
    char *text = NULL;
    size_t len;
    uint32_t count = 0;
    if (fstat(fd, &st) == 0 &&
        sysio_open_regular(AT_FDCWD, "/proc/locks", O_RDONLY, &locks) == STASH_OK) {
        if (sysio_read_all(locks, 64u << 20, &text, &len) == STASH_OK)
            count = count_handle_locks(text, st.st_dev, st.st_ino);
        close(locks);
        free(text);
    }
    return count ? count : 1; /* held, but not found in /proc/locks: at least one */
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
