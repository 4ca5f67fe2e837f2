/*
 * stash/npy.h - NumPy's NPY format: one array, its description in a small
 * text header, then its bytes.
 *
 * Writing is byte-for-byte what numpy.save writes for the same array (NumPy
 * 1.24, as in Debian bookworm): the same header text with its keys sorted,
 * the 21 spare spaces NumPy leaves for growing the first axis, padding so the
 * data starts on a 64-byte boundary, and the oldest version (1.0, then 2.0)
 * whose length field fits. A Fortran-order array whose bytes are also its
 * C-order bytes (stash_array_layout_is_trivial) is written as fortran_order
 * False, as NumPy does. docs/npy.md specifies the format as written and as
 * accepted.
 *
 * Reading accepts every valid header: versions 1.0, 2.0 and 3.0, keys in any
 * order, any padding, either quote character, big-endian and "|" types,
 * fortran_order, shape () and zero-length dimensions, trailing commas, and
 * Python 2's "3L" integers. It refuses, each with its own status:
 *   STASH_E_CORRUPT    no NPY magic, or a header that is not the dict NumPy
 *                      writes (missing, extra or mistyped keys, bad syntax)
 *   STASH_E_VERSION    a version other than 1.0, 2.0 or 3.0
 *   STASH_E_DTYPE      object, string, structured or unknown element types
 *   STASH_E_LIMIT      a header longer than STASH_NPY_MAX_HEADER, or more
 *                      than STASH_ARRAY_MAX_DIMS dimensions
 *   STASH_E_RANGE      a shape whose byte size does not fit in 63 bits
 *   STASH_E_TRUNCATED  a file or buffer shorter than the header or the data
 *                      the shape promises
 * Nothing is allocated before the sizes are checked against what exists.
 *
 * Ownership: stash_npy_load returns data the caller frees with free().
 * A stash_npy_map owns its mapping until stash_npy_map_close.
 *
 * Foreign writers: a stash_npy_map shows the file as it is now, not as it
 * was when mapped. stash never changes a saved file in place
 * (stash_npy_save writes a new file and renames it over the old one, which
 * leaves existing maps intact), but another program can: one that
 * truncates the file (a `cp` over it truncates, then writes) makes reading
 * the lost pages through stash_npy_map_data raise SIGBUS and kill the
 * process, and one that rewrites bytes in place changes the data (and not
 * the header the map checked). To be safe from such writers, replace files
 * by renaming new ones over them, or copy instead of mapping:
 * stash_npy_load (or stash_npy_read_header on a file stream, to describe a
 * file) reads with read/pread, and a file cut short meanwhile gives
 * STASH_E_TRUNCATED.
 *
 * Thread-safety: the functions share no state; a stream or map is used by one
 * thread at a time (a map's data may be read from any number of threads).
 */
#ifndef STASH_NPY_H
#define STASH_NPY_H

#include <stash/array.h>
#include <stash/error.h>
#include <stash/stream.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The longest header text accepted (the part after the length field). */
#define STASH_NPY_MAX_HEADER ((size_t)64 * 1024)

/** Room enough for any header stash formats (magic to newline). */
#define STASH_NPY_FORMATTED_MAX ((size_t)4096)

/** The alignment of the data that stash writes, as NumPy does. */
#define STASH_NPY_ALIGN 64

typedef struct stash_npy_header {
    stash_array_desc desc;
    unsigned major, minor; /* the version: 1.0, 2.0 or 3.0 */
    uint64_t data_offset;  /* from the magic to the first data byte */
    uint64_t data_bytes;   /* stash_array_nbytes(desc) */
} stash_npy_header;

/** Flags for stash_npy_save. */
enum {
    /** fsync the file and its directory before returning (survives power loss). */
    STASH_NPY_DURABLE = STASH_DURABLE,
};

/**
 * Formats the header numpy.save writes for desc (magic through the final
 * newline) into buf. major is 1, 2 or 3 to force a version, or 0 for the
 * oldest that fits. STASH_E_RANGE if cap is too small (STASH_NPY_FORMATTED_MAX
 * always suffices); STASH_E_LIMIT if a forced version 1 cannot hold it.
 */
STASH_API stash_status stash_npy_header_format(const stash_array_desc *desc, unsigned major,
                                               void *buf, size_t cap, size_t *len);

/**
 * Parses the header at the start of the len bytes at buf. Does not check that
 * the data follows; compare data_offset + data_bytes with what you have.
 */
STASH_API stash_status stash_npy_header_parse(const void *buf, size_t len,
                                              stash_npy_header *out);

/**
 * Writes header and data at the stream's position, as numpy.save does
 * (major as in stash_npy_header_format). data holds stash_array_nbytes(desc)
 * bytes, laid out as desc says.
 */
STASH_API stash_status stash_npy_write(stash_stream *s, const stash_array_desc *desc,
                                       const void *data, unsigned major);

/**
 * Reads a header at the stream's position and leaves the stream at the
 * first data byte. STASH_E_TRUNCATED if the stream holds less data than the
 * header promises.
 */
STASH_API stash_status stash_npy_read_header(stash_stream *s, stash_npy_header *out);

/**
 * Writes an NPY file atomically: into a temporary file beside path, then
 * renamed over it, so a crash leaves the old file or the new one, never a
 * part. flags: STASH_NPY_DURABLE. A symlink at path is followed and the file
 * it names replaced (the link stays); a FIFO, device or socket is written
 * straight into, never replaced; a directory is -EISDIR.
 */
STASH_API stash_status stash_npy_save(const char *path, const stash_array_desc *desc,
                                      const void *data, unsigned flags);

/** Reads a whole NPY file: *data is malloc'd (free() it), laid out as *desc says. */
STASH_API stash_status stash_npy_load(const char *path, stash_array_desc *desc, void **data);

/**
 * A read-only mapping of an NPY file: its data with zero copies. See
 * "Foreign writers" above for what another program writing the file can do
 * to it; stash_npy_load is the copying variant.
 */
typedef struct stash_npy_map stash_npy_map;

/** Maps path read-only and checks its header and size. */
STASH_API stash_status stash_npy_map_open(const char *path, stash_npy_map **out);

/** The header of a mapped file; NULL for NULL. */
STASH_API const stash_npy_header *stash_npy_map_header(const stash_npy_map *map);

/** The first data byte, aligned as the file was written (64 by stash and NumPy). */
STASH_API const void *stash_npy_map_data(const stash_npy_map *map);

/** Unmaps, frees and sets *map to NULL; no-op on NULL. */
STASH_API stash_status stash_npy_map_close(stash_npy_map **map);

#ifdef __cplusplus
}
#endif
#endif /* STASH_NPY_H */
