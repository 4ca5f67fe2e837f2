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

/* How many bytes of a header are read at a time: the 40, and some to spare. */
#define NCO_HEAD_BYTES 64

/*
 * The up to NCO_HEAD_BYTES bytes at `at` (fewer at the end of the file) from
 * an open file, into buf; *avail says how many. With STASH_NCO_NO_MAP a file
 * cut short since the open gives STASH_E_TRUNCATED.
 */
stash_status nco_head_at(const stash_nco *nco, uint64_t at, unsigned char buf[NCO_HEAD_BYTES],
                         size_t *avail);

/* The file's size when it was opened. */
uint64_t nco_file_bytes(const stash_nco *nco);

/*
 * Walks the chain of an open file from offset 0. *starts (malloc'd) holds
 * each committed object's start; the tail past the chain is described in
 * info. Fails if the first object is bad, memory runs out, or (pread) the
 * file shrank.
 */
stash_status nco_walk(const stash_nco *nco, uint64_t **starts, size_t *count,
                      stash_nco_info *info);

/*
 * Fills info's chain_end, tail_bytes and tail_status for a chain ending at
 * end: STASH_OK for no tail or a blank header there, else why the header
 * there is not an object. *object_after: a header that passes the checks
 * starts at end (so the chain does not really end there).
 */
stash_status nco_describe_tail(const stash_nco *nco, uint64_t end, stash_nco_info *info,
                               bool *object_after);

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
/* An internal open flag, the appender's: an empty file, or one whose first
 * header is blank, is an empty chain rather than "not an NCO file". */
#define NCO_EMPTY_OK (1u << 17)
/* An internal open flag, stash_nco_open's: read the mapped file's first
 * 4 KiB once, and its headers there from that copy (nco.c says why). */
#define NCO_READ_HEAD (1u << 18)
#define NCO_SMALL_FILE_BYTES (64u * 1024u)

/* stash_nco_open on an open descriptor (which the caller keeps); flags may
 * add NCO_READ_SMALL and NCO_EMPTY_OK. Never writes the index. */
stash_status nco_open_fd(int fd, const char *path, unsigned flags, stash_nco **out);

/* An NCO file already read into len malloc'd bytes, which the handle takes
 * over (and frees, also on failure). Walked; no index; an empty chain is
 * STASH_E_CORRUPT, as for stash_nco_open. */
stash_status nco_open_heap(void *bytes, size_t len, stash_nco **out);

/* stash_nco_write with the metadata already pickled (len bytes at pickle). */
stash_status nco_write_pickled(stash_stream *s, const void *pickle, size_t len,
                               const stash_array_desc *desc, const void *data,
                               stash_nco_object *object);

/* The starts of an open file's objects, info.count of them. */
const uint64_t *nco_starts(const stash_nco *nco);

/* Whether count starts rise strictly, as every list of them does (asserted). */
static inline bool nco_starts_increase(const uint64_t *starts, size_t count)
{
    for (size_t i = 1; i < count; i++)
        if (starts[i] <= starts[i - 1])
            return false;
    return true;
}

#endif
