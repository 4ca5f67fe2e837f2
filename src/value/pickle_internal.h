/*
 * Pickles whose arrays live outside them, for the result store's entries:
 * the writer replaces each array by a persistent id (its number, 0, 1, ...,
 * in the order met, then BINPERSID) and hands the array to the caller, who
 * stores it beside the pickle; the reader asks a loader for each id.
 * Python reads such a pickle with an Unpickler whose persistent_load returns
 * the arrays (docs/store.md).
 */
#ifndef STASH_PICKLE_INTERNAL_H
#define STASH_PICKLE_INTERNAL_H

#include <stash/pickle.h>

/* Receives each array of the tree, in id order, before its id is written. */
typedef stash_status (*pickle_array_fn)(void *ctx, const stash_value *array);

/*
 * A protocol-4 pickle of the dict {keys[i]: values[i]} (n entries, fewer
 * than 1000), with arrays as persistent ids. The dict is never built, so the
 * values stay the caller's.
 */
stash_status pickle_write_dict_refs(stash_stream *s, size_t n, const char *const keys[],
                                    const stash_value *const values[], pickle_array_fn on_array,
                                    void *ctx);

/* The same dict with arrays inline, as NumPy writes them (protocol 3 to 5; 0: 4). */
stash_status pickle_write_dict(stash_stream *s, int protocol, size_t n, const char *const keys[],
                               const stash_value *const values[]);

/* Returns (a new reference to) the object with this persistent id. */
typedef stash_status (*pickle_load_fn)(void *ctx, int64_t id, stash_value **out);

/* What a read may use beyond the bytes; zero for stash_pickle_read's behaviour. */
struct pickle_read_options {
    const stash_pickle_limits *limits;  /* NULL: the defaults */
    pickle_load_fn load;                /* resolves BINPERSID; NULL: refused */
    void *load_ctx;
    const stash_pickle_buffer *buffers; /* for NEXT_BUFFER; NULL: unsupported */
    size_t buffer_count;
    size_t *end; /* if set: where the pickle ended (just past STOP) */
};

/* The one reader under every stash_pickle_read* call. */
stash_status pickle_read_with(const void *buf, size_t len, const struct pickle_read_options *o,
                              stash_value **out, stash_pickle_error *err);

/*
 * Walks a pickle's opcodes by their argument formats, building and calling
 * nothing (pickle_skim.c): where it ends (*end, just past STOP), and, when it
 * is a dict whose "key" was given a string written out as such, that string
 * (*key, pointing into buf, *key_len bytes, not checked as UTF-8). *key is
 * NULL when there is no such string: read the pickle in full to know.
 * STASH_E_TRUNCATED if buf ends before STOP, STASH_E_VERSION for a protocol
 * above 5, STASH_E_CORRUPT for an unknown opcode or a stack that runs out,
 * -ENOMEM. Only where a pickle ends is certain; what it holds is the
 * reader's to judge.
 */
stash_status pickle_skim_record(const void *buf, size_t len, size_t *end, const char **key,
                                size_t *key_len);

/* stash_pickle_read that resolves BINPERSID through load (NULL: refused). */
stash_status pickle_read_refs(const void *buf, size_t len, const stash_pickle_limits *limits,
                              pickle_load_fn load, void *load_ctx, stash_value **out,
                              stash_pickle_error *err);

#endif
