/*
 * Value trees as HDF5 objects, in corelay's HDF5Storage layout (which h5py
 * reads as it writes): a dict is a group with a member per key, a tuple or
 * list a group with members "0", "1", ..., and an array or scalar a dataset
 * in h5py's conventions. docs/store.md, "hdf5: layout", is the mapping.
 *
 * What corelay's layout cannot say is recorded in a "stash:type" string
 * attribute: "tuple", "list", "bytes", "null" and "array" (a 0-d array,
 * which would otherwise read back as a scalar). Groups track the order
 * members were created in, so dicts read back in insertion order.
 *
 * The HDF5 error stack must be silenced by the caller; these functions only
 * return statuses.
 */
#ifndef STASH_HDF5_VALUE_H
#define STASH_HDF5_VALUE_H

#include <stash/value.h>

#include <stash/store.h>

#include <hdf5.h>

#define H5V_TYPE_ATTRIBUTE "stash:type"

/*
 * Checks that v can be written in full, before anything is: dict keys must
 * be HDF5 member names (no "/", not "."), strings must hold no NUL.
 * STASH_E_UNSUPPORTED otherwise.
 */
stash_status h5v_check(const stash_value *v);

/*
 * Writes v as the object name in the group loc. tuple_digits pads tuple and
 * list member names ("000" for 3, as HashedHDF5; 0 for corelay's "0").
 */
stash_status h5v_write(hid_t loc, const char *name, const stash_value *v, int tuple_digits);

/*
 * Reads the object name in loc as a value. A group without a type
 * attribute is a dict, unless tuple_if_numbered and its members are all
 * decimal names (HashedHDF5's "data"). Untrusted: only hard links are
 * followed; a group inside the value with more than one hard link is
 * refused (it could be its own ancestor, or multiply the tree), and so is a
 * member whose stored name is not one link name (a forged "/x" is a path,
 * STASH_E_CORRUPT); sizes are
 * checked against the storage the file holds and a budget for the whole
 * tree; nesting is bounded by STASH_VALUE_MAX_DEPTH; a stash:type word
 * must be a scalar string, known, and fit its object (unknown words are
 * STASH_E_UNSUPPORTED, contradicting ones STASH_E_CORRUPT). So a hostile
 * file cannot make it allocate without bound, recurse forever or overflow.
 */
stash_status h5v_read(hid_t loc, const char *name, bool tuple_if_numbered, stash_value **out);

/*
 * Calls fn for every key in file with the bytes its datasets hold
 * (store_hdf5_list.c says which keys), skipping names that start with
 * skip_prefix (puts in progress). A non-zero fn status stops the listing
 * with it. Untrusted files as in h5v_read.
 */
stash_status h5v_list(hid_t file, const char *skip_prefix, stash_store_list_fn fn, void *ctx);

#endif
