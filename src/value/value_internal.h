/*
 * The value tree's insides, for the codecs that build trees (JSON, pickle).
 *
 * A node is reference counted so that the pickle reader can share a node
 * between the places a memo refers to it, without copying it once per
 * reference (which a hostile pickle could make exponential). Sharing is safe
 * because a node is frozen once it is inside a container and frozen nodes are
 * never changed: a container that is frozen cannot gain items, and a node can
 * only be added to a container that is not frozen, which no other node can
 * reach. So the graph stays acyclic; only a node added to itself needs its own
 * check.
 *
 * Each node also knows what its tree costs when written out in full: how many
 * nodes and payload bytes it expands to, and how deep it is. Readers of
 * untrusted input bound those, so a small pickle cannot stand for a huge tree.
 */
#ifndef STASH_VALUE_INTERNAL_H
#define STASH_VALUE_INTERNAL_H

#include <stash/value.h>

#include "core/utf8.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct value_entry {
    char *key; /* NUL-terminated UTF-8; key_len excludes the NUL */
    size_t key_len;
    stash_value *value;
};

/*
 * Memory that array views point into (a mapped or read file), released when
 * the last view of it is freed. The count is atomic because the views may be
 * freed from different threads once their trees have been handed out.
 */
struct value_owner {
    atomic_uint refs;
    void (*release)(struct value_owner *owner);
};

/* Drops one reference; the last one calls owner->release. NULL is a no-op. */
void value_owner_release(struct value_owner *owner);

struct stash_value {
    stash_value_kind kind;
    uint32_t refs;           /* holders: the owner, containers, a reader's stack */
    bool frozen;             /* inside a container: never changed again */
    uint32_t depth;          /* containers on the deepest path, this one included */
    uint64_t expanded_nodes; /* nodes when written out as a tree, this one included */
    uint64_t expanded_bytes; /* string, bytes, key and array bytes, likewise */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *data; /* NUL-terminated; follows the node, in its allocation */
            size_t len;
        } blob;
        struct {
            stash_array_desc *desc; /* one block: the description, then the data */
            void *data;             /* or, in a view, the owner's memory */
            size_t nbytes;
            struct value_owner *owner; /* NULL unless a view */
        } array;
        struct {
            stash_value **items;
            size_t len, cap;
        } seq;
        struct {
            struct value_entry *entries;
            size_t len, cap;
            uint32_t *slots; /* open addressing, entry index + 1; NULL while small */
            size_t slot_count;
        } dict;
    } u;
};

/*
 * A node kind outside the public ones: a constructor the pickle reader knows
 * by name (see pickle_read.c). It can sit on the reader's stack and memo but
 * never inside a container or a result.
 */
#define VALUE_KIND_CONSTRUCTOR ((stash_value_kind)0x100)

/* A constructor node; which is the reader's own code for the name. */
stash_status value_new_constructor(int64_t which, stash_value **out);

/*
 * Another reader-only kind: a tuple that holds constructor nodes, the
 * arguments of a call or a __setstate__ state (NumPy's dtype inside an
 * array's state). Only a REDUCE or BUILD consumes it; like a constructor it
 * never goes into another container or a result.
 */
#define VALUE_KIND_ARGS ((stash_value_kind)0x101)

stash_status value_new_args(stash_value **out);

/*
 * A list, tuple or argument tuple with room for n items in the node's own
 * allocation (the reader knows how many a tuple gets): one allocation, not
 * two. It grows onto the heap like any other if more are added.
 */
stash_status value_new_seq_sized(stash_value_kind kind, size_t n, stash_value **out);

/*
 * Turns the constructor node node into *from in place, so that every holder
 * of node (the memo, the stack) sees the object a BUILD made, as Python's
 * objects change under their references; frees the shell of *from, which
 * must have no other holder.
 */
void value_become(stash_value *node, stash_value **from);

/* One more holder of v (a shared scalar counts none). */
void value_retain(stash_value *v);

/*
 * The shared node for null, a bool (i is 0 or 1) or an int from -1 to 255,
 * or NULL for any other value: frozen, never freed, safe for any thread to
 * hold. Only a reader may put them into the trees it builds; a tree's owner
 * must not get one as its root (copy it), as it could not change it.
 */
stash_value *value_shared_scalar(stash_value_kind kind, int64_t i);
bool value_is_shared(const stash_value *v);

/* Replaces a shared scalar at *v by a new node of the same value (*v NULL if that fails). */
stash_status value_unshare(stash_value **v);

/*
 * Adds item to a list, tuple (seq) or dict under key: the item's reference
 * moves into the container. Unlike the public calls, item may already be
 * frozen (shared). STASH_E_UNSUPPORTED if the container is frozen or is item
 * (a cycle), STASH_E_LIMIT past STASH_VALUE_MAX_DEPTH.
 */
stash_status value_adopt(stash_value *container, stash_value *item);
stash_status value_dict_adopt(stash_value *dict, const char *key, size_t key_len,
                              stash_value *item);

/*
 * An array node whose data stays where it is, in memory owner keeps alive:
 * the node takes a reference to owner and drops it when freed (owner NULL:
 * the caller keeps the memory alive, as stash_value_new_array_borrowed
 * says). The data is not copied and must not change while the node lives.
 */
stash_status value_new_array_view(const stash_array_desc *desc, const void *data,
                                  struct value_owner *owner, stash_value **out);

/* An array node whose stash_array_nbytes(desc) bytes at *data the caller fills. */
stash_status value_new_array_uninit(const stash_array_desc *desc, stash_value **out, void **data);

/* A string node from bytes already known to be UTF-8 (no check). */
stash_status value_new_string_unchecked(const char *utf8, size_t len, stash_value **out);

#endif
