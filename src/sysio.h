/*
 * Whole-buffer positional I/O: the loops every caller of pread/pwrite needs
 * (short transfers, EINTR), written once. Failures are -errno.
 */
#ifndef STASH_SYSIO_H
#define STASH_SYSIO_H

#include <stash/error.h>

#include <stddef.h>
#include <stdint.h>

/* Reads until len bytes or the end of file; *got says how many. */
stash_status sysio_pread_full(int fd, void *buf, size_t len, uint64_t offset, size_t *got);

/* Writes all len bytes, or fails with *written (optional) saying how many
 * reached the file before the failure. */
stash_status sysio_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset,
                               size_t *written);

/* close() that reports -errno but never retries (the descriptor is gone). */
stash_status sysio_close(int fd);

#endif
