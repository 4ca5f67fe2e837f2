/*
 * The hdf5: rollback journal (store_hdf5_journal.h; the layout is in
 * docs/store.md, "hdf5: journal").
 *
 * Why a record is trusted: records are appended in order, each written
 * whole before the bytes it saves are overwritten, and each carries a
 * checksum seeded with the transaction's random salt. So the records to
 * roll back are exactly the valid prefix: a record torn by a kill fails its
 * checksum (its page was not yet overwritten), and so does any record left
 * from an earlier transaction further on in the kept file (another salt).
 * A rollback only reads the journal, so it can be repeated until it ends
 * by invalidating the header.
 */
#include "store/store_hdf5_journal.h"

#include "core/sysio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#define MAGIC "STASHJNL"
#define VERSION 1u
#define RECORD_HEAD 16u /* offset, length */
#define RECORD_TAIL 8u  /* checksum */
#define RUN_PAGES 64u   /* pages saved with one read and one write */

/* Header fields (docs/store.md): byte offsets. */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,
    H_PAGE = 12,
    H_START = 16,
    H_SALT = 24,
    H_FILE_ID = 32,
    H_CHECKSUM = 56,
};

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

stash_status hdf5_journal_name(const char *path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.journal", path);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : STASH_OK;
}

stash_status hdf5_journal_open(const char *path, bool writable, bool durable,
                               struct hdf5_journal *j)
{
    *j = (struct hdf5_journal){.fd = -1, .file_fd = -1, .durable = durable};
    char name[PATH_MAX];
    stash_status st = hdf5_journal_name(path, name, sizeof name);
    if (st != STASH_OK)
        return st;
    int flags = O_NOFOLLOW | (writable ? O_RDWR | O_CREAT : O_RDONLY);
    st = sysio_open_regular(AT_FDCWD, name, flags, &j->fd);
    if (st != STASH_OK)
        j->fd = -1;
    if (st == -ELOOP || st == STASH_E_NOT_FILE)
        return STASH_E_CORRUPT; /* never a link, never a FIFO to hang on */
    /* Durable: the journal's name must survive a power cut as surely as its records. */
    if (st == STASH_OK && writable && durable)
        st = sysio_sync_directory(name);
    return st == -ENOENT && !writable ? STASH_OK : st;
}

stash_status hdf5_journal_close(struct hdf5_journal *j)
{
    free(j->saved);
    j->saved = NULL;
    j->saved_cap = 0;
    stash_status st = j->fd >= 0 ? sysio_close(j->fd) : STASH_OK;
    j->fd = -1;
    j->locked = false;
    return st;
}

stash_status hdf5_journal_lock(struct hdf5_journal *j)
{
    if (j->locked)
        return STASH_OK;
    stash_status st = j->fd >= 0 ? sysio_flock(j->fd, LOCK_EX | LOCK_NB) : STASH_E_INVALID;
    j->locked = st == STASH_OK;
    return st;
}

void hdf5_journal_unlock(struct hdf5_journal *j)
{
    if (j->locked)
        flock(j->fd, LOCK_UN);
    j->locked = false;
}

/* ---- Header ------------------------------------------------------------------------------- */

struct header {
    uint64_t start_bytes, salt, file_id;
};

static void encode_header(const struct header *h, uint8_t out[HDF5_JOURNAL_HEADER_BYTES])
{
    memset(out, 0, HDF5_JOURNAL_HEADER_BYTES);
    memcpy(out + H_MAGIC, MAGIC, 8);
    put_le(out + H_VERSION, VERSION, 4);
    put_le(out + H_PAGE, HDF5_JOURNAL_PAGE_BYTES, 4);
    put_le(out + H_START, h->start_bytes, 8);
    put_le(out + H_SALT, h->salt, 8);
    put_le(out + H_FILE_ID, h->file_id, 8);
    put_le(out + H_CHECKSUM, XXH3_64bits(out, H_CHECKSUM), 8);
}

/*
 * The journal's header: STASH_OK and *valid with its fields, or *valid
 * false (cold); STASH_E_CORRUPT for a valid header with impossible fields.
 */
static stash_status read_header(int fd, struct header *h, bool *valid)
{
    uint8_t in[HDF5_JOURNAL_HEADER_BYTES];
    size_t got = 0;
    *valid = false;
    stash_status st = sysio_pread_full(fd, in, sizeof in, 0, &got);
    if (st != STASH_OK || got < sizeof in)
        return st; /* shorter than a header: never written, or torn before any overwrite */
    if (memcmp(in + H_MAGIC, MAGIC, 8) != 0 || get_le(in + H_VERSION, 4) != VERSION ||
        get_le(in + H_PAGE, 4) != HDF5_JOURNAL_PAGE_BYTES ||
        get_le(in + H_CHECKSUM, 8) != XXH3_64bits(in, H_CHECKSUM))
        return STASH_OK;
    /* The checksum is no MAC: a start size no off_t holds would be cut and written to as a
     * negative offset. Hot, but not a journal stash wrote: left for a person to look at. */
    if (get_le(in + H_START, 8) > (uint64_t)INT64_MAX)
        return STASH_E_CORRUPT;
    *h = (struct header){get_le(in + H_START, 8), get_le(in + H_SALT, 8),
                         get_le(in + H_FILE_ID, 8)};
    *valid = true;
    return STASH_OK;
}

/* One write that makes the journal cold: a commit, or the end of a rollback. */
static stash_status invalidate(struct hdf5_journal *j)
{
    static const uint8_t zeros[HDF5_JOURNAL_HEADER_BYTES];
    stash_status st = sysio_pwrite_full(j->fd, zeros, sizeof zeros, 0, NULL);
    if (st == STASH_OK && j->durable && fdatasync(j->fd) != 0)
        st = -errno;
    return st;
}

stash_status hdf5_journal_is_hot(struct hdf5_journal *j, bool *hot)
{
    struct header h;
    *hot = false;
    return j->fd >= 0 ? read_header(j->fd, &h, hot) : STASH_OK;
}

/* ---- Rollback ----------------------------------------------------------------------------- */

/*
 * The record at *at, if valid for h: its bytes into page (HDF5_JOURNAL_PAGE_BYTES
 * plus the tail), *offset and *len set, *at moved past it. False at the end
 * of the valid records.
 */
static bool next_record(int fd, const struct header *h, uint64_t *at, uint8_t *record,
                        uint64_t *offset, uint64_t *len)
{
    size_t got = 0;
    if (sysio_pread_full(fd, record, RECORD_HEAD, *at, &got) != STASH_OK || got < RECORD_HEAD)
        return false;
    *offset = get_le(record, 8);
    *len = get_le(record + 8, 8);
    if (*len == 0 || *len > HDF5_JOURNAL_PAGE_BYTES || *offset > h->start_bytes ||
        *len > h->start_bytes - *offset)
        return false;
    size_t rest = (size_t)*len + RECORD_TAIL;
    if (sysio_pread_full(fd, record + RECORD_HEAD, rest, *at + RECORD_HEAD, &got) != STASH_OK ||
        got < rest)
        return false;
    uint64_t sum = XXH3_64bits_withSeed(record, RECORD_HEAD + (size_t)*len, h->salt);
    if (get_le(record + RECORD_HEAD + *len, 8) != sum)
        return false;
    *at += RECORD_HEAD + rest;
    return true;
}

/* Whether a rollback goes on to its next step (false: the tests' seam stops it there). */
static bool next_step(unsigned long *steps)
{
    return hdf5_journal_seams.stop_recovery_after == 0 ||
           ++*steps <= hdf5_journal_seams.stop_recovery_after;
}

/* Copies the records back, cuts the file to its start size and syncs it. */
static stash_status roll_back(int journal_fd, int file_fd, const struct header *h,
                              unsigned long *steps)
{
    uint8_t *record = malloc(RECORD_HEAD + HDF5_JOURNAL_PAGE_BYTES + RECORD_TAIL);
    if (!record)
        return -ENOMEM;
    stash_status st = STASH_OK;
    uint64_t at = HDF5_JOURNAL_HEADER_BYTES, offset, len;
    while (st == STASH_OK && next_record(journal_fd, h, &at, record, &offset, &len))
        st = next_step(steps)
                 ? sysio_pwrite_full(file_fd, record + RECORD_HEAD, (size_t)len, offset, NULL)
                 : -EINTR;
    free(record);
    if (st == STASH_OK)
        st = !next_step(steps) ? -EINTR
             : ftruncate(file_fd, (off_t)h->start_bytes) != 0 ? -errno
                                                               : STASH_OK;
    /* Always synced: the header must not go before the bytes it restored. */
    if (st == STASH_OK)
        st = !next_step(steps) ? -EINTR : fsync(file_fd) != 0 ? -errno : STASH_OK;
    return st;
}

stash_status hdf5_journal_recover(struct hdf5_journal *j, const char *path, bool *rolled_back)
{
    *rolled_back = false;
    if (!j->locked)
        return STASH_E_INVALID;
    struct header h;
    bool hot;
    stash_status st = read_header(j->fd, &h, &hot);
    if (st != STASH_OK || !hot)
        return st;
    int fd;
    struct stat about;
    st = sysio_open_regular_stat(AT_FDCWD, path, O_RDWR, &fd, &about);
    if (st == -ENOENT)
        return STASH_E_CORRUPT; /* a hot journal without its file: not ours to apply */
    if (st != STASH_OK)
        return st;
    if ((uint64_t)about.st_ino != h.file_id)
        st = STASH_E_CORRUPT; /* another file's journal: applying it would damage this one */
    unsigned long steps = 0;
    if (st == STASH_OK)
        st = roll_back(j->fd, fd, &h, &steps);
    stash_status closed = sysio_close(fd);
    if (st == STASH_OK)
        st = closed;
    if (st == STASH_OK && !next_step(&steps))
        st = -EINTR;
    if (st == STASH_OK) {
        bool durable = j->durable;
        j->durable = true; /* the rollback is on disk: so must its end be */
        st = invalidate(j);
        j->durable = durable;
    }
    *rolled_back = st == STASH_OK;
    j->active = false;
    return st;
}

/* ---- Transactions --------------------------------------------------------------------------- */

void hdf5_journal_attach(struct hdf5_journal *j, int file_fd)
{
    assert(j->file_fd < 0);
    j->file_fd = file_fd;
}

void hdf5_journal_detach(struct hdf5_journal *j)
{
    j->file_fd = -1;
}

/* Starts a transaction at the first change after a commit: the file as it is now. */
static stash_status begin(struct hdf5_journal *j)
{
    if (j->active)
        return STASH_OK;
    if (j->file_fd < 0 || !j->locked)
        return STASH_E_INVALID;
    struct stat about;
    if (fstat(j->file_fd, &about) != 0)
        return -errno;
    struct header h = {.start_bytes = (uint64_t)about.st_size, .file_id = (uint64_t)about.st_ino};
    stash_status st = sysio_seams.random_bytes(&h.salt, sizeof h.salt);
    if (st != STASH_OK)
        return st;
    uint64_t pages = (h.start_bytes + HDF5_JOURNAL_PAGE_BYTES - 1) / HDF5_JOURNAL_PAGE_BYTES;
    size_t bitmap = (size_t)((pages + 7) / 8);
    if (bitmap > j->saved_cap) {
        uint8_t *bigger = realloc(j->saved, bitmap);
        if (!bigger)
            return -ENOMEM;
        j->saved = bigger;
        j->saved_cap = bitmap;
    }
    if (bitmap)
        memset(j->saved, 0, bitmap);
    uint8_t header[HDF5_JOURNAL_HEADER_BYTES];
    encode_header(&h, header);
    st = sysio_pwrite_full(j->fd, header, sizeof header, 0, NULL);
    if (st != STASH_OK)
        return st;
    j->start_bytes = h.start_bytes;
    j->salt = h.salt;
    j->file_id = h.file_id;
    j->end = HDF5_JOURNAL_HEADER_BYTES;
    j->active = true;
    j->synced = false;
    return STASH_OK;
}

static bool page_saved(const struct hdf5_journal *j, uint64_t page)
{
    return j->saved[page / 8] >> (page % 8) & 1;
}

/* Saves pages [first, first + n), none saved yet, with one read of the file and one write. */
static stash_status save_run(struct hdf5_journal *j, uint64_t first, uint64_t n, uint8_t *buf)
{
    uint64_t from = first * HDF5_JOURNAL_PAGE_BYTES;
    uint64_t to = (first + n) * HDF5_JOURNAL_PAGE_BYTES;
    if (to > j->start_bytes)
        to = j->start_bytes;
    uint8_t *old = buf + n * (RECORD_HEAD + RECORD_TAIL) + (to - from);
    size_t got = 0;
    stash_status st = sysio_pread_full(j->file_fd, old, (size_t)(to - from), from, &got);
    if (st != STASH_OK)
        return st;
    if (got < to - from)
        return STASH_E_CORRUPT; /* shorter than at the start: a cut nobody saved */
    uint8_t *out = buf;
    for (uint64_t at = from; at < to; at += HDF5_JOURNAL_PAGE_BYTES) {
        size_t len = (size_t)(to - at < HDF5_JOURNAL_PAGE_BYTES ? to - at : HDF5_JOURNAL_PAGE_BYTES);
        put_le(out, at, 8);
        put_le(out + 8, len, 8);
        memcpy(out + RECORD_HEAD, old + (at - from), len);
        put_le(out + RECORD_HEAD + len, XXH3_64bits_withSeed(out, RECORD_HEAD + len, j->salt), 8);
        out += RECORD_HEAD + len + RECORD_TAIL;
    }
    size_t bytes = (size_t)(out - buf);
    st = sysio_pwrite_full(j->fd, buf, bytes, j->end, NULL);
    if (st != STASH_OK)
        return st;
    j->end += bytes;
    j->synced = false;
    for (uint64_t p = first; p < first + n; p++)
        j->saved[p / 8] |= (uint8_t)(1u << (p % 8));
    return STASH_OK;
}

stash_status hdf5_journal_save(struct hdf5_journal *j, uint64_t offset, uint64_t len)
{
    stash_status st = begin(j);
    if (st != STASH_OK || len == 0 || offset >= j->start_bytes)
        return st; /* past the start size: a rollback cuts it off */
    uint64_t end = len > j->start_bytes - offset ? j->start_bytes : offset + len;
    uint64_t page = offset / HDF5_JOURNAL_PAGE_BYTES;
    uint64_t last = (end - 1) / HDF5_JOURNAL_PAGE_BYTES;
    /* Records and the page copies they are made from: twice a run of pages. */
    uint8_t *buf = NULL;
    while (st == STASH_OK && page <= last) {
        if (page_saved(j, page)) {
            page++;
            continue;
        }
        uint64_t n = 1;
        while (page + n <= last && n < RUN_PAGES && !page_saved(j, page + n))
            n++;
        if (!buf && !(buf = malloc(RUN_PAGES * (2 * HDF5_JOURNAL_PAGE_BYTES + RECORD_HEAD +
                                                RECORD_TAIL))))
            st = -ENOMEM;
        if (st == STASH_OK)
            st = save_run(j, page, n, buf);
        page += n;
    }
    free(buf);
    /* Durable: the records (and the header) reach the disk before the bytes they save change. */
    if (st == STASH_OK && j->durable && !j->synced) {
        st = fdatasync(j->fd) == 0 ? STASH_OK : -errno;
        j->synced = st == STASH_OK;
    }
    return st;
}

stash_status hdf5_journal_before_cut(struct hdf5_journal *j, uint64_t new_bytes)
{
    stash_status st = begin(j);
    if (st != STASH_OK || new_bytes >= j->start_bytes)
        return st;
    return hdf5_journal_save(j, new_bytes, j->start_bytes - new_bytes);
}

stash_status hdf5_journal_commit(struct hdf5_journal *j)
{
    if (!j->active)
        return STASH_OK;
    stash_status st = invalidate(j);
    if (st == STASH_OK)
        j->active = false;
    return st;
}
