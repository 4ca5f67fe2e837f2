/*
 * The parts of NCO files shared by the reader, the writer and the index.
 */
#ifndef STASH_NCO_INTERNAL_H
#define STASH_NCO_INTERNAL_H

#include <stash/nco.h>

#include <sys/stat.h>

/* Encodes an object's header: "NCO", version 0, zeros, four LE u64 offsets. */
void nco_header_encode(const stash_nco_object *o, unsigned char out[STASH_NCO_HEADER_BYTES]);

/*
 * Decodes and checks the header at start in a file of file_bytes, given its
 * first avail bytes (fewer than 40 at the end of a file): magic, version, and
 * offsets in order inside the file. STASH_E_CORRUPT, STASH_E_VERSION,
 * STASH_E_TRUNCATED (the header or a range runs past the end) or STASH_E_RANGE
 * (offsets out of order).
 */
stash_status nco_header_decode(const unsigned char *hdr, size_t avail, uint64_t start,
                               uint64_t file_bytes, stash_nco_object *out);

/* True if the avail bytes at a header's place are all zeros (an uncommitted append). */
bool nco_header_is_blank(const unsigned char *hdr, size_t avail);

/*
 * Walks the chain in a mapped file from offset 0. *starts (malloc'd) holds
 * each committed object's start; the tail past the chain is described in
 * info. Fails only if the first object is bad or memory runs out.
 */
stash_status nco_walk(const unsigned char *map, uint64_t file_bytes, uint64_t **starts,
                      size_t *count, stash_nco_info *info);

/*
 * Fills info's chain_end, tail_bytes and tail_status for a chain ending at
 * end: STASH_OK for no tail or a blank header there, else why the header
 * there is not an object.
 */
void nco_describe_tail(const unsigned char *map, uint64_t file_bytes, uint64_t end,
                       stash_nco_info *info);

/* The index file's name for path, in buf. -ENAMETOOLONG if it does not fit. */
stash_status nco_index_path(const char *path, char *buf, size_t cap);

/*
 * Loads the index of the file described by st; STASH_E_NOT_FOUND if there is
 * none, STASH_E_CORRUPT / STASH_E_VERSION if it is damaged, and
 * STASH_E_BUSY if it describes another version of the file (stale).
 */
stash_status nco_index_load(const char *path, const struct stat *st, uint64_t **starts,
                            size_t *count);

/* Writes the index for the file described by st, aside then renamed. */
stash_status nco_index_save(const char *path, const struct stat *st, const uint64_t *starts,
                            size_t count, bool durable);

/* An internal open flag: read a file of at most NCO_SMALL_FILE_BYTES into
 * the heap instead of mapping it. */
#define NCO_READ_SMALL (1u << 16)
#define NCO_SMALL_FILE_BYTES (64u * 1024u)

/* stash_nco_open on an open descriptor (which the caller keeps); flags may
 * add NCO_READ_SMALL. */
stash_status nco_open_fd(int fd, const char *path, unsigned flags, stash_nco **out);

/* An NCO file already read into len malloc'd bytes, which the handle takes
 * over (and frees, also on failure). Walked; no index. */
stash_status nco_open_heap(void *bytes, size_t len, stash_nco **out);

/* stash_nco_write with the metadata already pickled (len bytes at pickle). */
stash_status nco_write_pickled(stash_stream *s, const void *pickle, size_t len,
                               const stash_array_desc *desc, const void *data,
                               stash_nco_object *object);

/* The starts of an open file's objects, info.count of them. */
const uint64_t *nco_starts(const stash_nco *nco);

#endif
