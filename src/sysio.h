/*
 * Whole-buffer positional I/O: the loops every caller of pread/pwrite needs
 * (short transfers, EINTR), written once. Failures are -errno.
 */
#ifndef STASH_SYSIO_H
#define STASH_SYSIO_H

#include <stash/error.h>

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
 * Creates a new file beside path to write aside and rename over it later:
 * "PATH.tmp-PID-N", written into temp (cap bytes). Mode 0666 less the umask,
 * as a plain create would give, without touching the process's umask (another
 * thread may be creating files). -ENAMETOOLONG if the name does not fit.
 */
stash_status sysio_create_aside(const char *path, char *temp, size_t cap, int *fd);

/*
 * Publishes a new version of path atomically: write(fd, ctx) fills a file
 * created aside (sysio_create_aside), which is then renamed over path, so a
 * reader sees the old file or the new one, never a part. durable: fsync the
 * file before the rename and the directory after it. The aside file is
 * removed on any failure.
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
