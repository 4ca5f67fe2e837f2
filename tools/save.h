/*
 * Publishing a file the program made (a report, a page): written to a
 * temporary name beside it, then renamed over it, so a reader or a crash
 * sees the old file or the new one, never half of one.
 */
#ifndef STASH_TOOLS_SAVE_H
#define STASH_TOOLS_SAVE_H

#include <stddef.h>
#include <sys/uio.h>

/* Writes the count parts, in order, as the whole of path; 0 or -errno (nothing left behind). */
int save_file(const char *path, const struct iovec *parts, int count);

#endif
