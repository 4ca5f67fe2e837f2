/*
 * The program's inputs: every file it reads goes through here, so every
 * input argument means the same. "-" is standard input. Anything else must
 * be a regular file: a FIFO, device, socket or directory is refused at once
 * with a message, never waited on. Whatever is read whole has a cap, and
 * going past it says which cap.
 */
#ifndef STASH_TOOLS_INPUT_H
#define STASH_TOOLS_INPUT_H

#include <stash/error.h>

#include <stddef.h>

/* JSON text read whole: --meta @FILE, store put/hash FILE.json. */
#define INPUT_JSON_MAX_BYTES ((size_t)64 << 20)

/* A binary file (NPY, NCO) given as "-": standard input is copied aside first. */
#define INPUT_STDIN_MAX_BYTES ((size_t)1 << 30)

/*
 * An input argument made ready for a library call that opens a path: path
 * is the argument itself once it proved a regular file, or for "-" a name
 * of an unnamed copy of standard input (/proc/self/fd/N). name is what the
 * user typed, for messages.
 */
struct input {
    const char *name;
    char path[64];
    const char *use; /* the path to open: name, or path for "-" */
    int copy_fd;     /* the copy of standard input, or -1 */
};

/* Checks arg or copies standard input (at most INPUT_STDIN_MAX_BYTES). */
stash_status input_open(const char *arg, struct input *in);

/* Closes the copy of standard input, if any. */
void input_close(struct input *in);

/* The whole of arg ("-": standard input) in a new NUL-terminated buffer
 * (free it), STASH_E_LIMIT past max_bytes. */
stash_status input_read_all(const char *arg, size_t max_bytes, char **data, size_t *len);

/* "who: name: why" on stderr, saying which cap for STASH_E_LIMIT (max_bytes). */
void input_complain(const char *who, const char *name, stash_status status, size_t max_bytes);

#endif
