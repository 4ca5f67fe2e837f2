/*
 * Element types between stash's array description and HDF5 (hdf5_types.c).
 */
#ifndef STASH_HDF5_TYPES_H
#define STASH_HDF5_TYPES_H

#include <stash/array.h>

#include <hdf5.h>

/* A new HDF5 type for dtype in that byte order (close it); H5I_INVALID_HID on failure. */
hid_t h5t_of_dtype(stash_dtype dtype, stash_byte_order order);

/* The dtype and byte order of an HDF5 type; STASH_E_DTYPE if it has no stash twin. */
stash_status h5t_to_dtype(hid_t type, stash_dtype *dtype, stash_byte_order *order);

#endif
