/*
 * Whole-buffer positional I/O: the loops every caller of pread/pwrite needs
 * (short transfers, EINTR), written once. Failures are -errno.
 */
#ifndef STASH_SYSIO_H
#define STASH_SYSIO_H

#include <stash/error.h>

#include <limits.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads until len bytes or the end of file; *got says how many. */
stash_status sysio_pread_full(int fd, void *buf, size_t len, uint64_t offset, size_t *got);

/* Writes all len bytes, or fails with *written (optional) saying how many
 * reached the file before the failure. */
stash_status sysio_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset,
                               size_t *written);

/*
 * A file written beside path and renamed over it later. Where the file system
 * allows (O_TMPFILE: ext4, xfs, btrfs, tmpfs) the file has no name while it is
 * written, so a writer killed meanwhile leaves nothing behind; it is linked in
 * as "PATH.tmp-PID-N" only by sysio_aside_finish, just before the rename.
 * Elsewhere it has that name from the start. Either way its mode is 0666 less
 * the umask, as a plain create would give, without touching the process's
 * umask (another thread may be creating files).
 */
struct sysio_aside {
    int fd;              /* -1 once finished */
    bool named;          /* temp is on disk: a failure must remove it */
    char temp[PATH_MAX]; /* the temporary name, once there is one */
};

/* Opens a new aside file for path. -ENAMETOOLONG if its name does not fit. */
stash_status sysio_aside_open(const char *path, struct sysio_aside *a);

/* Names the file (if it has no name yet) and closes it: rename(a->temp, path)
 * then publishes it. */
stash_status sysio_aside_finish(struct sysio_aside *a, const char *path);

/* After a failure: closes the file if it is open and removes its name. */
void sysio_aside_discard(struct sysio_aside *a);

/*
 * Publishes a new version of path atomically: write(fd, ctx) fills an aside
 * file, which is then renamed over path, so a reader sees the old file or the
 * new one, never a part. durable: fsync the file before the rename and the
 * directory after it. The aside file is removed on any failure.
 */
stash_status sysio_publish(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx,
                           bool durable);

/* The directory of path into dir (cap bytes): "." for a bare name, "/" for a file in the root. */
void sysio_directory_of(const char *path, char *dir, size_t cap);

/* fsync of the directory holding path (makes a rename or create durable). */
stash_status sysio_sync_directory(const char *path);

/* close() that reports -errno but never retries (the descriptor is gone). */
stash_status sysio_close(int fd);

#endif
