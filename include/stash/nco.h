/*
 * stash/nco.h - nengo's cache objects: pickled metadata and an NPY array in
 * one file, several objects chained in one file, found through an index.
 *
 * An object (docs/nco.md has the byte layout) is a 40-byte header - "NCO",
 * version 0, four zero bytes, then four little-endian u64 absolute file
 * offsets: metadata start and end, array start and end - then the metadata
 * as a pickle starting on a 16-byte boundary, then the array as an NPY file
 * starting on a 16-byte boundary (stash writes it on a 64-byte one, so the
 * data is 64-byte aligned in the file and in a mapping). Padding is zeros.
 * This is the layout nengo's nco.write produces on 64-bit Linux ("@3sBLLLL").
 * Objects are chained as nengo's legacy cache chained them: the next header
 * starts where an object's array ends.
 *
 * Reading checks every offset against the file size and the others before
 * it is used: metadata inside [header end, array start], array inside
 * [metadata end, file end], NPY data inside the array's range. The chain
 * only moves forward, so it always ends. The first object must be valid
 * (STASH_E_CORRUPT for a wrong magic, STASH_E_VERSION for a version other
 * than 0, STASH_E_TRUNCATED or STASH_E_RANGE for offsets that do not fit);
 * a file with no committed object - empty, or a first header of zeros - is
 * not an NCO file (STASH_E_CORRUPT).
 * After the first, a header that is all zeros or cut short is an append that
 * never committed (stash writes the header last), and a header that does not
 * check out is damage: either way the chain ends before it, and the bytes
 * from there on are reported by stash_nco_info (tail_bytes, tail_status)
 * rather than failing the whole file.
 *
 * The index, a file beside the NCO file named "<path>.stashidx", holds the
 * start of every object and the identity (inode, size, modification time) of
 * the file it describes, under a checksum. Opening uses it only if it lists
 * exactly the chain: the first entry at 0 and each later one where the
 * object before it ends, so a forged index with a valid checksum cannot make
 * object i return another object's bytes. When it is missing, damaged, stale
 * or wrong, opening walks the chain instead. Opening never writes the index:
 * stash_nco_append and stash_nco_pack do.
 *
 * Metadata is read with the safe pickle reader (stash/pickle.h). A pickle
 * that would import or call code gives STASH_E_UNSAFE from stash_nco_meta,
 * and the object stays usable: its array reads as always and its metadata
 * is available as opaque bytes from stash_nco_meta_bytes (or, copied,
 * stash_nco_meta_bytes_read).
 *
 * Appending holds an exclusive flock on the NCO file, drops any uncommitted
 * tail, writes the object with a zero header, then the header, then the
 * index (written aside and renamed). An append that fails (-ENOSPC, -EFBIG)
 * cuts the file back to the end of the chain before it returns, giving the
 * space back and leaving no tail. A first append to a missing file
 * writes the whole object aside and links it in under path, so the file
 * never exists without a committed object. A crash at any point leaves every
 * committed object readable; STASH_NCO_DURABLE adds fsyncs so that this also
 * holds across power loss.
 *
 * Ownership and lifetimes: a stash_nco maps the file read-only (unless
 * opened with STASH_NCO_NO_MAP: then it holds a descriptor); pointers
 * from stash_nco_meta_bytes and stash_nco_array point into that mapping and
 * stay valid until stash_nco_close. Objects appended after the open are not
 * seen by it; open again to see them. stash_nco_meta_bytes_read and
 * stash_nco_array_read return malloc'd copies the caller frees.
 *
 * Foreign writers: the mapping shows the file as it is now, not as it was
 * at the open. stash itself never changes committed bytes in place (appends
 * write past the chain; packs write a new file and rename it over the old),
 * but another program can: a writer that truncates the file (a `cp` over it
 * truncates, then writes) makes any read of the lost pages - through the
 * pointers above, or by stash_nco_meta, stash_nco_array_read and the others
 * on a mapped handle - raise SIGBUS and kill the process; one that rewrites
 * bytes in place changes what the pointers show after they were checked.
 * To be safe from such writers, replace files by renaming new ones over
 * them (as stash does), or open with STASH_NCO_NO_MAP: the file is then read
 * with pread as it is asked for, never mapped, and a file truncated
 * meanwhile gives STASH_E_TRUNCATED (bytes rewritten in place are still read
 * as they are, and pass the same checks as any bytes).
 *
 * Thread-safety: an open stash_nco is read-only and may be used from any
 * number of threads at once. Appends to one file from several threads or
 * processes are serialised by the flock.
 */
#ifndef STASH_NCO_H
#define STASH_NCO_H

#include <stash/array.h>
#include <stash/error.h>
#include <stash/pickle.h>
#include <stash/stream.h>
#include <stash/value.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STASH_NCO_HEADER_BYTES 40
#define STASH_NCO_VERSION 0
/** Where stash starts the NPY part, so its data is 64-byte aligned. */
#define STASH_NCO_ARRAY_ALIGN 64
/** The index of the NCO file at PATH is the file PATH STASH_NCO_INDEX_SUFFIX beside it. */
#define STASH_NCO_INDEX_SUFFIX ".stashidx"

/** Flags for stash_nco_open, stash_nco_append and stash_nco_pack. */
enum {
    /** Append, pack: fsync the data, the header and the index (STASH_DURABLE). */
    STASH_NCO_DURABLE = STASH_DURABLE,
    /** Open: walk the chain; do not read the index. */
    STASH_NCO_NO_INDEX = 1u << 1,
    /**
     * Open: read the file with pread instead of mapping it (see "Foreign
     * writers" above). The zero-copy calls, stash_nco_meta_bytes and
     * stash_nco_array, return STASH_E_UNSUPPORTED on such a handle; the
     * others work as on a mapped one.
     */
    STASH_NCO_NO_MAP = 1u << 2,
};

/** One object's place in the file: absolute offsets, as in its header. */
typedef struct stash_nco_object {
    uint64_t start;                  /* the header */
    uint64_t meta_start, meta_end;   /* the pickle */
    uint64_t array_start, array_end; /* the NPY file */
} stash_nco_object;

/** How the open found the objects. */
typedef enum stash_nco_index_state {
    STASH_NCO_INDEX_USED,    /* the index was current and listed the chain */
    STASH_NCO_INDEX_REBUILT, /* no longer given: opening never writes the index */
    STASH_NCO_INDEX_WALKED,  /* walked: NO_INDEX, or the index missing, stale or wrong */
} stash_nco_index_state;

typedef struct stash_nco_info {
    size_t count;               /* committed objects */
    uint64_t file_bytes;        /* the file's size when opened */
    uint64_t chain_end;         /* the end of the last object */
    uint64_t tail_bytes;        /* file_bytes - chain_end: not a committed object */
    stash_status tail_status;   /* STASH_OK if none or all zeros, else why it is not */
    stash_nco_index_state index;
} stash_nco_info;

typedef struct stash_nco stash_nco;

/**
 * Opens and maps path (or, with STASH_NCO_NO_MAP, keeps a descriptor) and
 * finds its objects (see the file comment). flags: STASH_NCO_NO_INDEX,
 * STASH_NCO_NO_MAP. Errors: the format errors above, STASH_E_CORRUPT for a
 * file with no committed object, and system errors (-ENOENT, -EISDIR...).
 */
STASH_API stash_status stash_nco_open(const char *path, unsigned flags, stash_nco **out);

/** Unmaps, closes, frees and sets *nco to NULL (whatever the status); no-op on NULL. */
STASH_API stash_status stash_nco_close(stash_nco **nco);

STASH_API stash_status stash_nco_info_get(const stash_nco *nco, stash_nco_info *info);

/** The i-th object's offsets; STASH_E_NOT_FOUND past the last. */
STASH_API stash_status stash_nco_object_at(const stash_nco *nco, size_t i, stash_nco_object *out);

/**
 * The i-th object's metadata as the pickle bytes in the mapping (zero copy);
 * STASH_E_UNSUPPORTED on a STASH_NCO_NO_MAP handle.
 */
STASH_API stash_status stash_nco_meta_bytes(const stash_nco *nco, size_t i, const void **pickle,
                                            size_t *len);

/**
 * The i-th object's metadata as the pickle bytes, copied: *pickle is
 * malloc'd (free() it) and holds *len bytes. On a STASH_NCO_NO_MAP handle
 * they are read with pread (STASH_E_TRUNCATED if the file shrank since the
 * open); on a mapped one they are copied from the mapping.
 */
STASH_API stash_status stash_nco_meta_bytes_read(const stash_nco *nco, size_t i, void **pickle,
                                                 size_t *len);

/**
 * The i-th object's metadata as a new tree (free with stash_value_free), read
 * with the default pickle limits. STASH_E_UNSAFE and the pickle reader's
 * other refusals leave the object usable (see the file comment); err
 * (optional) says where the pickle was refused.
 */
STASH_API stash_status stash_nco_meta(const stash_nco *nco, size_t i, stash_value **meta,
                                      stash_pickle_error *err);

/**
 * The i-th object's array with zero copy: *data points into the mapping,
 * laid out as *desc says (any byte order; see stash_array_to_native for a
 * copy in this machine's order). NPY errors as stash_npy_header_parse, and
 * STASH_E_TRUNCATED if the data runs past the object's array end.
 * STASH_E_UNSUPPORTED on a STASH_NCO_NO_MAP handle: use stash_nco_array_read.
 */
STASH_API stash_status stash_nco_array(const stash_nco *nco, size_t i, stash_array_desc *desc,
                                       const void **data);

/**
 * The i-th object's array, copied: *desc as stash_nco_array gives it and,
 * if data is not NULL, *data a malloc'd copy of its bytes (free() it; one
 * byte is allocated for an empty array). data NULL reads only the NPY
 * header, to describe the array. On a STASH_NCO_NO_MAP handle the bytes are
 * read with pread (STASH_E_TRUNCATED if the file shrank since the open); on
 * a mapped one they are copied from the mapping. Errors as stash_nco_array,
 * and -ENOMEM.
 */
STASH_API stash_status stash_nco_array_read(const stash_nco *nco, size_t i,
                                            stash_array_desc *desc, void **data);

/**
 * Appends one object to path and updates its index. A missing path is
 * created (mode 0666 less the umask) holding the object, written aside and
 * linked in; an existing empty file, or one whose first append never
 * committed, is an empty chain. meta may be NULL for None. flags:
 * STASH_NCO_DURABLE. Errors: the pickle writer's (an array in meta is
 * STASH_E_UNSUPPORTED), the array description's, a damaged first object, and
 * system errors (-ENOENT for a missing directory). On failure the file's
 * committed objects are unchanged.
 */
STASH_API stash_status stash_nco_append(const char *path, const stash_value *meta,
                                        const stash_array_desc *desc, const void *data,
                                        unsigned flags);

/**
 * A batch appender: many objects appended to one file under one lock, with
 * one index write, for the many small objects that stash_nco_append (a lock,
 * a chain lookup and an index rewrite each) makes slow. Each add commits its
 * object as stash_nco_append does (zero header, data, header; a failed add
 * cuts its tail and leaves the batch usable), so a crash mid-batch leaves
 * every object added before it readable; the index is written once, at
 * close (until then readers find the new objects by walking the chain).
 *
 * stash_nco_batch_open only remembers path and flags (STASH_NCO_DURABLE:
 * each add fsyncs as stash_nco_append does). The first add opens the file,
 * or creates it with that object as stash_nco_append would, and takes the
 * exclusive flock, which the batch then holds until stash_nco_batch_close:
 * other appenders wait for the close, readers never do. Close writes the
 * index, releases the lock, frees the batch and sets *batch to NULL (NULL
 * is a no-op); its status is the file's close. A batch belongs to one
 * thread at a time. Errors of add: as stash_nco_append, and STASH_E_CLOSED
 * for a NULL batch.
 */
typedef struct stash_nco_batch stash_nco_batch;

STASH_API stash_status stash_nco_batch_open(const char *path, unsigned flags,
                                            stash_nco_batch **batch);
STASH_API stash_status stash_nco_batch_add(stash_nco_batch *batch, const stash_value *meta,
                                           const stash_array_desc *desc, const void *data);
STASH_API stash_status stash_nco_batch_close(stash_nco_batch **batch);

/**
 * Writes a new file holding one object, atomically (aside, then renamed over
 * path), and its index. flags: STASH_NCO_DURABLE. A symlink at path is
 * followed and the file it names replaced (the link stays); a FIFO, device
 * or socket is written straight into (and gets no index); a directory is
 * -EISDIR.
 */
STASH_API stash_status stash_nco_pack(const char *path, const stash_value *meta,
                                      const stash_array_desc *desc, const void *data,
                                      unsigned flags);

/**
 * nengo's nco.write: one object at the stream's position, header last; the
 * stream is left at the object's end, where the next object would start.
 * *object (optional) receives its offsets.
 */
STASH_API stash_status stash_nco_write(stash_stream *s, const stash_value *meta,
                                       const stash_array_desc *desc, const void *data,
                                       stash_nco_object *object);

#ifdef __cplusplus
}
#endif
#endif /* STASH_NCO_H */
