#include "core/sysio.h"
#include "core/checked.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* pread/pwrite take off_t and return ssize_t: keep each call within both. */
#define MAX_CHUNK ((size_t)1 << 30)

stash_status sysio_pread_full(int fd, void *buf, size_t len, uint64_t offset, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < MAX_CHUNK ? len - done : MAX_CHUNK;
        if (!range_within(offset, done + want, FILE_OFFSET_MAX))
            break; /* nothing can exist past the largest offset */
        ssize_t n = pread(fd, (char *)buf + done, want, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return STASH_OK;
}

stash_status sysio_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset,
                               size_t *written)
{
    size_t done = 0;
    stash_status status = STASH_OK;
    while (done < len) {
        size_t want = len - done < MAX_CHUNK ? len - done : MAX_CHUNK;
        ssize_t n = pwrite(fd, (const char *)buf + done, want, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            status = -errno;
            break;
        }
        if (n == 0) {
            status = -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (written != NULL)
        *written = done;
    return status;
}

stash_status sysio_flock(int fd, int op)
{
    while (flock(fd, op) != 0)
        if (errno != EINTR)
            return -errno;
    return STASH_OK;
}

stash_status sysio_close(int fd)
{
    /* Linux releases the descriptor even when close fails with EINTR, so a
     * retry could close another thread's new descriptor. */
    if (close(fd) != 0 && errno != EINTR)
        return -errno;
    return STASH_OK;
}

/* ---- Aside files ---------------------------------------------------------------------- */

static stash_status random_from_kernel(void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        done += n > 0 ? (size_t)n : 0;
    }
    return STASH_OK;
}

struct sysio_seams sysio_seams = {.random_bytes = random_from_kernel, .unnamed_files = true};

/* "PATH.tmp-PID-R" into a->temp, R random: no one can plant a file at it
 * beforehand, and a name taken by chance is tried again. */
static stash_status next_temp_name(const char *path, struct sysio_aside *a)
{
    uint64_t r;
    stash_status status = sysio_seams.random_bytes(&r, sizeof r);
    if (status != STASH_OK)
        return status;
    int len = snprintf(a->temp, sizeof a->temp, "%s.tmp-%ld-%016llx", path, (long)getpid(),
                       (unsigned long long)r);
    return len < 0 || (size_t)len >= sizeof a->temp ? -ENAMETOOLONG : STASH_OK;
}

/* Tries names until one is free. try_name returns 0 or -1 with errno, as
 * open does, and fails with EEXIST on anything already there, a symlink too. */
static stash_status claim_temp_name(const char *path, struct sysio_aside *a,
                                    int (*try_name)(struct sysio_aside *a))
{
    for (int attempt = 0; attempt < 100; attempt++) {
        stash_status status = next_temp_name(path, a);
        if (status != STASH_OK)
            return status;
        if (try_name(a) == 0) {
            a->named = true;
            return STASH_OK;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

static int create_named(struct sysio_aside *a)
{
    a->fd = open(a->temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    return a->fd >= 0 ? 0 : -1;
}

static int link_anonymous(struct sysio_aside *a)
{
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", a->fd);
    return linkat(AT_FDCWD, self, AT_FDCWD, a->temp, AT_SYMLINK_FOLLOW);
}

/* Whether /proc/self/fd is there to link unnamed files in through; asked once. */
static bool proc_fd_links(void)
{
    static atomic_int known; /* 0 not asked yet, 1 yes, -1 no */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        k = access("/proc/self/fd", X_OK) == 0 ? 1 : -1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k > 0;
}

/*
 * An unnamed file in path's directory, or -1 where there can be none: no
 * O_TMPFILE in the file system, or no /proc to link it in through later
 * (linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
 */
static int open_anonymous(const char *path)
{
    if (!sysio_seams.unnamed_files || !proc_fd_links())
        return -1;
    char dir[PATH_MAX];
    sysio_directory_of(path, dir, sizeof dir);
    return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
}

stash_status sysio_aside_open(const char *path, struct sysio_aside *a)
{
    a->named = false;
    a->fd = -1;
    stash_status status = next_temp_name(path, a); /* the name it gets later must fit */
    if (status != STASH_OK)
        return status;
    a->fd = open_anonymous(path);
    if (a->fd < 0 && (status = claim_temp_name(path, a, create_named)) != STASH_OK)
        return status;
    /* Nobody else has the file yet, so this cannot wait; it can only fail
     * where the file system has no locks, and then liveness is unknowable. */
    if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
        status = -errno;
        sysio_aside_discard(a);
    }
    return status;
}

stash_status sysio_aside_name(struct sysio_aside *a, const char *path)
{
    return a->named ? STASH_OK : claim_temp_name(path, a, link_anonymous);
}

stash_status sysio_aside_link(struct sysio_aside *a, const char *path, int *fd)
{
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", a->fd);
    int linked = a->named ? link(a->temp, path)
                          : linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
    if (linked != 0)
        return -errno;
    if (a->named)
        unlink(a->temp); /* path is the file's name now; the temporary one goes */
    a->named = false;
    flock(a->fd, LOCK_UN);
    *fd = a->fd;
    a->fd = -1;
    return STASH_OK;
}

stash_status sysio_aside_close(struct sysio_aside *a)
{
    stash_status status = a->fd >= 0 ? sysio_close(a->fd) : STASH_OK;
    a->fd = -1;
    return status;
}

stash_status sysio_aside_finish(struct sysio_aside *a, const char *path)
{
    stash_status status = sysio_aside_name(a, path);
    stash_status closed = sysio_aside_close(a);
    return status != STASH_OK ? status : closed;
}

void sysio_aside_discard(struct sysio_aside *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->named)
        unlink(a->temp);
    a->named = false;
}

stash_status sysio_aside_held(int dirfd, const char *name, bool *held)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno != ELOOP)
        return -errno;
    struct stat st;
    stash_status status = STASH_OK;
    bool locked = false;
    if (fd >= 0 && fstat(fd, &st) != 0)
        status = -errno;
    else if (fd >= 0 && S_ISREG(st.st_mode)) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            flock(fd, LOCK_UN);
        else if (errno == EWOULDBLOCK)
            locked = true;
        else
            status = -errno;
    }
    if (fd >= 0)
        sysio_close(fd);
    if (status == STASH_OK)
        *held = locked;
    return status;
}

/* ---- Publishing ------------------------------------------------------------------------ */

stash_status sysio_publish(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx,
                           bool durable)
{
    struct sysio_aside a;
    stash_status status = sysio_aside_open(path, &a);
    if (status != STASH_OK)
        return status;
    status = write(a.fd, ctx);
    if (status == STASH_OK && durable && fsync(a.fd) != 0)
        status = -errno;
    if (status == STASH_OK)
        status = sysio_aside_name(&a, path);
    if (status == STASH_OK && rename(a.temp, path) != 0)
        status = -errno;
    if (status != STASH_OK) {
        sysio_aside_discard(&a);
        return status;
    }
    a.named = false; /* the name is path's now */
    status = sysio_aside_close(&a);
    if (status == STASH_OK && durable)
        status = sysio_sync_directory(path);
    return status;
}

/* Copies all of from (a regular file, from its start) to to's position. */
static stash_status copy_into(int from, int to)
{
    char buf[16384];
    uint64_t offset = 0;
    for (;;) {
        size_t got = 0;
        stash_status status = sysio_pread_full(from, buf, sizeof buf, offset, &got);
        if (status != STASH_OK || got == 0)
            return status;
        offset += got;
        for (size_t done = 0; done < got;) {
            ssize_t n = write(to, buf + done, got - done);
            if (n < 0 && errno != EINTR)
                return -errno;
            if (n == 0)
                return -EIO;
            done += n > 0 ? (size_t)n : 0;
        }
    }
}

stash_status sysio_write_into(int fd, stash_status (*write)(int fd, void *ctx), void *ctx)
{
    int staged = memfd_create("stash-output", MFD_CLOEXEC);
    if (staged < 0)
        return -errno;
    stash_status status = write(staged, ctx);
    if (status == STASH_OK)
        status = copy_into(staged, fd);
    sysio_close(staged);
    return status;
}

/* Opens a FIFO, device or socket to write into: never creates, never truncates. */
static stash_status write_straight_in(const char *path, stash_status (*write)(int fd, void *ctx),
                                      void *ctx)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    stash_status status = fstat(fd, &st) == 0 ? STASH_OK : -errno;
    /* Replaced by a regular file since we looked: that one must not be
     * overwritten in place, and the caller may try again. */
    if (status == STASH_OK && S_ISREG(st.st_mode))
        status = -EAGAIN;
    if (status == STASH_OK)
        status = sysio_write_into(fd, write, ctx);
    stash_status closed = sysio_close(fd);
    return status != STASH_OK ? status : closed;
}

/* The end of path's chain of symlinks, into out: the name of the file the
 * chain leads to (or would create, if it dangles). */
static stash_status follow_links(const char *path, char *out, size_t cap)
{
    if (snprintf(out, cap, "%s", path) >= (int)cap)
        return -ENAMETOOLONG;
    for (int hops = 0;; hops++) {
        char target[PATH_MAX], dir[PATH_MAX];
        ssize_t n = readlink(out, target, sizeof target);
        if (n < 0)
            return errno == EINVAL || errno == ENOENT ? STASH_OK : -errno; /* not a link */
        if (hops == SYSIO_LINK_HOPS)
            return -ELOOP;
        if ((size_t)n == sizeof target)
            return -ENAMETOOLONG;
        target[n] = '\0';
        sysio_directory_of(out, dir, sizeof dir);
        int len = target[0] == '/' ? snprintf(out, cap, "%s", target)
                                   : snprintf(out, cap, "%s/%s", dir, target);
        if (len < 0 || (size_t)len >= cap)
            return -ENAMETOOLONG;
    }
}

stash_status sysio_publish_output(const char *path, stash_status (*write)(int fd, void *ctx),
                                  void *ctx, bool durable)
{
    struct stat st, end;
    char final[PATH_MAX];
    /* stat follows links as the kernel does, /proc's fd links included
     * (/dev/stdout), which name no file when they lead to a pipe. */
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return -errno;
    if (exists && S_ISDIR(st.st_mode))
        return -EISDIR;
    if (exists && !S_ISREG(st.st_mode))
        return write_straight_in(path, write, ctx); /* durable means nothing to a pipe */
    stash_status status = follow_links(path, final, sizeof final);
    if (status != STASH_OK)
        return status;
    /* The chain must end at the file stat found: it may have been deleted
     * (a /proc link to it says "(deleted)") or moved meanwhile. */
    if (exists && (lstat(final, &end) != 0 || end.st_dev != st.st_dev || end.st_ino != st.st_ino))
        return -ENOENT;
    return sysio_publish(final, write, ctx, durable);
}

/* ---- Input ----------------------------------------------------------------------------- */

stash_status sysio_open_regular_stat(int dirfd, const char *path, int flags, int *fd,
                                     struct stat *st)
{
    int f = openat(dirfd, path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
    if (f < 0)
        return errno == ENXIO ? STASH_E_NOT_FILE : -errno; /* ENXIO: a FIFO with no reader */
    stash_status status = fstat(f, st) == 0 ? STASH_OK : -errno;
    if (status == STASH_OK && !S_ISREG(st->st_mode))
        status = S_ISDIR(st->st_mode) ? -EISDIR : STASH_E_NOT_FILE;
    /* Blocking again, unless the caller asked to keep O_NONBLOCK (two system calls saved). */
    if (status == STASH_OK && !(flags & O_NONBLOCK) &&
        fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0)
        status = -errno;
    if (status != STASH_OK) {
        sysio_close(f);
        return status;
    }
    *fd = f;
    return STASH_OK;
}

stash_status sysio_open_regular(int dirfd, const char *path, int flags, int *fd)
{
    struct stat st;
    return sysio_open_regular_stat(dirfd, path, flags & ~O_NONBLOCK, fd, &st);
}

stash_status sysio_open_input(const char *path, int *fd)
{
    return sysio_open_regular(AT_FDCWD, path, O_RDONLY, fd);
}

stash_status sysio_read_all(int fd, size_t max_bytes, char **data, size_t *len)
{
    if (max_bytes >= SIZE_MAX / 2)
        return STASH_E_INVALID; /* max_bytes + 1 and every doubling must fit */
    char *buf = NULL;
    size_t cap = 0, got = 0;
    stash_status status = STASH_OK;
    for (;;) {
        if (got == cap) {
            if (cap > max_bytes) {
                status = STASH_E_LIMIT;
                break;
            }
            /* One byte past the limit tells a file that exceeds it. */
            size_t grown = cap ? cap * 2 : 65536;
            cap = grown < max_bytes + 1 ? grown : max_bytes + 1;
            char *bigger = realloc(buf, cap + 1);
            if (bigger == NULL) {
                status = -ENOMEM;
                break;
            }
            buf = bigger;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            status = -errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (status != STASH_OK) {
        free(buf);
        return status;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return STASH_OK;
}

void sysio_directory_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

stash_status sysio_sync_directory(const char *path)
{
    char dir[PATH_MAX];
    sysio_directory_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    stash_status status = fsync(fd) == 0 ? STASH_OK : -errno;
    sysio_close(fd);
    return status;
}
