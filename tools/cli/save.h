/*
 * The program's outputs: every file it writes goes through here, so every
 * output argument means the same. "-" is standard output. Anything else is
 * published by sysio_publish_output: a regular file (or nothing) is replaced
 * atomically, a symlink is followed and the file it names replaced, and a
 * FIFO, device or socket is written straight into, never replaced.
 */
#ifndef STASH_TOOLS_SAVE_H
#define STASH_TOOLS_SAVE_H

#include <stash/array.h>
#include <stash/error.h>

#include <stddef.h>
#include <sys/uio.h>

/* What write(fd, ctx) makes, as the whole of the output path ("-": stdout). */
stash_status save_output(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx);

/* Whether path could be written now: "-", an existing file, or a new name in
 * a directory this process may write in (-ENOENT, -ENOTDIR, -EACCES if not).
 * For a command with two outputs, to write neither when one cannot be. */
stash_status save_check(const char *path);

/* The count parts, in order, as the whole of path; 0 or -errno (nothing left behind). */
int save_file(const char *path, const struct iovec *parts, int count);

/* text and a newline as the whole of path. */
stash_status save_text(const char *path, const char *text);

/* An array as an NPY file at path. */
stash_status save_npy(const char *path, const stash_array_desc *desc, const void *data);

#endif
