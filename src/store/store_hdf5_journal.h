/*
 * The hdf5: rollback journal, "PATH.journal" beside the HDF5 file PATH: the
 * old bytes of every page of the file that a transaction overwrites, saved
 * before the overwrite, so that a writer killed at any instant leaves a
 * file that rolls back to the state of its last commit (SQLite's rollback
 * journal, under HDF5). docs/store.md, "hdf5: journal", gives the layout
 * byte by byte.
 *
 * A transaction begins at the first write or truncate after the last
 * commit, and records the file's size then (its start size). Before the
 * first overwrite of a page below the start size, the page's old bytes are
 * appended as a record; bytes past the start size need none (a rollback
 * cuts them off), and a truncate below the start size saves the pages it
 * cuts. The header, written once before the first record, makes the
 * journal hot; committing invalidates it with one write. Only the store
 * commits, after HDF5 said the file is flushed or closed: never the file
 * driver's own flush or close, which HDF5 also calls after a failure.
 *
 * The writer holds an exclusive flock on the journal while the file is
 * open for writing; a rollback is made only by whoever can take that lock
 * (and holds the store's lock), so a live transaction is never rolled
 * back. The journal is kept after a commit (an invalidated header), so
 * that a put costs no create or unlink.
 *
 * One handle, one thread at a time (the store's). Failures are statuses.
 */
#ifndef STASH_STORE_HDF5_JOURNAL_H
#define STASH_STORE_HDF5_JOURNAL_H

#include <stash/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The unit of saving: a page's old bytes are saved at most once per transaction. */
#define HDF5_JOURNAL_PAGE_BYTES 4096u
#define HDF5_JOURNAL_HEADER_BYTES 64u

struct hdf5_journal {
    int fd;          /* PATH.journal, or -1 (a read-only handle that found none) */
    int file_fd;     /* the HDF5 file while the driver has it open for writing, or -1 */
    bool locked;     /* this handle holds the journal's exclusive flock */
    bool durable;    /* fdatasync the journal before overwriting, fsync the file before commit */
    bool active;     /* a transaction is open (something was written since the last commit) */
    bool synced;     /* durable: every record so far has reached the disk */
    uint64_t start_bytes, salt, file_id;
    uint64_t end;    /* where the next record goes */
    uint8_t *saved;  /* a bit per page below start_bytes: saved in this transaction */
    size_t saved_cap; /* bytes of saved */
};

/* The journal's name for the HDF5 file path, into out (cap bytes): -ENAMETOOLONG if too long. */
stash_status hdf5_journal_name(const char *path, char *out, size_t cap);

/*
 * Opens the journal of the HDF5 file path: created if writable (mode 0666
 * less the umask), never through a symlink and never a FIFO, device or
 * socket (STASH_E_CORRUPT for those: the journal is stash's own file). A
 * read-only handle whose journal does not exist gets j->fd == -1.
 */
stash_status hdf5_journal_open(const char *path, bool writable, bool durable,
                               struct hdf5_journal *j);

/* Closes it (and so releases its lock); frees what it holds. */
stash_status hdf5_journal_close(struct hdf5_journal *j);

/* The exclusive flock, without waiting: -EWOULDBLOCK while another handle holds it. */
stash_status hdf5_journal_lock(struct hdf5_journal *j);
void hdf5_journal_unlock(struct hdf5_journal *j);

/* Whether the journal holds a transaction to roll back (a valid header). */
stash_status hdf5_journal_is_hot(struct hdf5_journal *j, bool *hot);

/*
 * Rolls a hot journal back into the HDF5 file path: copies every valid
 * record's bytes back, cuts the file to the start size, fsyncs it and
 * invalidates the header. Idempotent: killed at any point and run again,
 * it gives the same file. Needs the journal's lock (and the caller the
 * store's, exclusive). A cold journal is left as it is (*rolled_back
 * false). A hot journal that names another file (it was copied or moved
 * beside this one) is refused with STASH_E_CORRUPT, and both files are
 * left untouched.
 */
stash_status hdf5_journal_recover(struct hdf5_journal *j, const char *path, bool *rolled_back);

/* The driver's hooks: the file is open for writing on file_fd (attach), or no longer (detach). */
void hdf5_journal_attach(struct hdf5_journal *j, int file_fd);
void hdf5_journal_detach(struct hdf5_journal *j);

/* Before bytes [offset, offset + len) of the file are overwritten: saves the pages not yet saved. */
stash_status hdf5_journal_save(struct hdf5_journal *j, uint64_t offset, uint64_t len);

/* Before the file is cut to new_bytes: saves the pages the cut loses. */
stash_status hdf5_journal_before_cut(struct hdf5_journal *j, uint64_t new_bytes);

/* Ends the transaction, if one is open, by invalidating the header: one write. */
stash_status hdf5_journal_commit(struct hdf5_journal *j);

/*
 * Seams. off: hdf5: handles opened afterwards write through HDF5's own sec2
 * driver with no journal (and so are not crash-safe), for the benchmark to
 * measure what the journal costs. stop_recovery_after: a rollback stops
 * with -EINTR before its step number stop_recovery_after + 1 (each record
 * copied back, the cut, the sync and the invalidation are steps), as if
 * killed there, for the tests (0: never).
 */
struct hdf5_journal_seams {
    bool off;
    unsigned long stop_recovery_after;
};
extern struct hdf5_journal_seams hdf5_journal_seams;

#endif
