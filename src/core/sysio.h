/*
 * The one seam between stash and the file system for whole files:
 * whole-buffer positional I/O (the loops every caller of pread/pwrite needs:
 * short transfers, EINTR), atomic publishing of new files, and opening and
 * reading caller-named input. Failures are -errno or a STASH_E_* status.
 */
#ifndef STASH_SYSIO_H
#define STASH_SYSIO_H

#include <stash/error.h>

#include <limits.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

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
 * as "PATH.tmp-PID-R" only by sysio_aside_name, just before the rename.
 * Elsewhere it has that name from the start. R is 64 random bits in hex, and
 * the name is only ever created with O_EXCL (open or linkat), so a file or
 * symlink planted at a predictable name cannot be written through. Either way
 * its mode is 0666 less the umask, as a plain create would give, without
 * touching the process's umask (another thread may be creating files).
 *
 * The writer holds an exclusive flock on the file from its creation until
 * sysio_aside_close or sysio_aside_discard: sysio_aside_held tells a sweeper
 * whether the file's writer is alive, whatever PID namespace either is in.
 */
struct sysio_aside {
    int fd;              /* -1 once closed */
    bool named;          /* temp is on disk under our name: a failure must remove it */
    char temp[PATH_MAX]; /* the temporary name, once there is one */
};

/* Opens a new aside file for path. -ENAMETOOLONG if its name does not fit. */
stash_status sysio_aside_open(const char *path, struct sysio_aside *a);

/* Gives the file its name a->temp if it has none yet; it stays open and
 * locked, so rename(a->temp, path) can follow while the lock is held. */
stash_status sysio_aside_name(struct sysio_aside *a, const char *path);

/*
 * Gives the whole aside file the name path only if nothing has that name
 * yet: -EEXIST (path untouched) otherwise, for creators that must never
 * replace (a new ring, an NCO file's first object). Its temporary name, if
 * it had one, is removed. On success the descriptor is the caller's (*fd),
 * open and unlocked, and a is spent; on failure a is as before.
 */
stash_status sysio_aside_link(struct sysio_aside *a, const char *path, int *fd);

/* Closes the file, releasing the lock; after the rename, a->temp is no
 * longer ours, so a later discard leaves it alone. */
stash_status sysio_aside_close(struct sysio_aside *a);

/* sysio_aside_name then sysio_aside_close: the caller renames after. Prefer
 * name, rename, close, which keeps the lock until the file has its place. */
stash_status sysio_aside_finish(struct sysio_aside *a, const char *path);

/* After a failure: closes the file if it is open and removes its name. */
void sysio_aside_discard(struct sysio_aside *a);

/*
 * Whether the writer of the aside file name in directory dirfd still holds
 * it (*held true), or is gone (*held false: killed, crashed, or not an aside
 * file at all: a symlink, FIFO, device or socket is never one). The file is
 * opened O_RDONLY | O_NOFOLLOW | O_NONBLOCK and tried with a non-blocking
 * shared flock. -ENOENT if it has gone meanwhile. A file created by name
 * (no O_TMPFILE) is unlocked for the moment between its creation and the
 * flock that follows: a sweeper should also want it to be some seconds old.
 */
stash_status sysio_aside_held(int dirfd, const char *name, bool *held);

/*
 * Publishes a new version of path atomically: write(fd, ctx) fills an aside
 * file, which is then renamed over path, so a reader sees the old file or the
 * new one, never a part. Whatever is at path is replaced and never followed:
 * this is for files stash owns (store entries, indexes, logs). durable: fsync
 * the file before the rename and the directory after it. The aside file is
 * removed on any failure. write gets a regular file it may pwrite into.
 */
stash_status sysio_publish(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx,
                           bool durable);

/* Symlinks followed from a caller's output path before -ELOOP, as the kernel allows. */
#define SYSIO_LINK_HOPS 40

/*
 * sysio_publish for a path the caller named (an output file), which must
 * never turn what is there into something else:
 *   - a regular file, or nothing: published atomically as sysio_publish does;
 *   - a symlink (a chain of up to SYSIO_LINK_HOPS): followed, each relative
 *     to its link's directory, and the file it names published atomically
 *     beside itself (created if the link dangles); the links stay;
 *   - a FIFO, character or block device, or socket: written straight into
 *     (sysio_write_into), never replaced, never created, never truncated;
 *   - a directory: -EISDIR.
 */
stash_status sysio_publish_output(const char *path, stash_status (*write)(int fd, void *ctx),
                                  void *ctx, bool durable);

/*
 * Writes what write(fd, ctx) makes into an open descriptor that may be a
 * pipe, terminal, socket or device (standard output for "-", say): write
 * fills an unnamed memory file first, so a failure writes nothing, and the
 * bytes are then copied with write(2), in order, from the descriptor's own
 * position.
 */
stash_status sysio_write_into(int fd, stash_status (*write)(int fd, void *ctx), void *ctx);

/* ---- Input ------------------------------------------------------------------------------ */

/*
 * Opens path for reading, refusing at once (never waiting, as opening a FIFO
 * would) anything but a regular file: -EISDIR for a directory,
 * STASH_E_NOT_FILE for a FIFO, device or socket. The descriptor is
 * O_CLOEXEC, blocking again, and the caller's to close.
 */
stash_status sysio_open_input(const char *path, int *fd);

/*
 * The same for any open of a file that must be regular: path (relative to
 * dirfd, or AT_FDCWD) opened with flags (O_RDONLY, O_RDWR, maybe O_CREAT
 * with mode 0666 less the umask, O_NOFOLLOW for files stash owns), never
 * waiting in open: a FIFO, device or socket is STASH_E_NOT_FILE, a
 * directory -EISDIR, and a symlink under O_NOFOLLOW -ELOOP.
 */
stash_status sysio_open_regular(int dirfd, const char *path, int flags, int *fd);

/*
 * sysio_open_regular that also gives the status the check took (*st: the
 * size and identity as opened), so the caller need not fstat again. With
 * O_NONBLOCK in flags the descriptor keeps it, which saves the two fcntl
 * calls that clear it: for a caller that only maps the file and closes it
 * (a mapping ignores the flag). Each system call counts when opening is all
 * a lookup does (docs/benchmarks.md).
 */
stash_status sysio_open_regular_stat(int dirfd, const char *path, int flags, int *fd,
                                     struct stat *st);

/*
 * Reads fd from its position to its end into a new buffer (*data, free()
 * it) of *len bytes plus a NUL after them. The buffer doubles as it fills,
 * from 64 KiB, and the read stops with STASH_E_LIMIT (nothing returned) once
 * more than max_bytes have come (STASH_E_INVALID unless max_bytes < SIZE_MAX / 2).
 */
stash_status sysio_read_all(int fd, size_t max_bytes, char **data, size_t *len);

/*
 * Test seams: where the random part of temporary names comes from, and
 * whether unnamed (O_TMPFILE) files may be used. Only tests change them.
 */
struct sysio_seams {
    stash_status (*random_bytes)(void *buf, size_t len);
    bool unnamed_files;
};
extern struct sysio_seams sysio_seams;

/* The directory of path into dir (cap bytes): "." for a bare name, "/" for a file in the root. */
void sysio_directory_of(const char *path, char *dir, size_t cap);

/* fsync of the directory holding path (makes a rename or create durable). */
stash_status sysio_sync_directory(const char *path);

/* flock(fd, op) retried on EINTR (a signal while waiting for the lock): STASH_OK or -errno
 * (-EWOULDBLOCK for LOCK_NB when someone else holds it). */
stash_status sysio_flock(int fd, int op);

/* close() that reports -errno but never retries (the descriptor is gone). */
stash_status sysio_close(int fd);

#endif
