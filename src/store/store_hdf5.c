/*
 * The hdf5: backend: one HDF5 file in corelay's layouts (hdf5_value.h),
 * which h5py and corelay read.
 *
 * HDF5 is not a multi-writer store, so every operation opens the file,
 * does its work and closes it under a lock file beside it ("PATH.lock"):
 * writers hold it alone, readers share it. A reader therefore waits at most
 * for the write in progress, and no process keeps the file open between
 * operations, so none reads through a stale metadata cache.
 *
 * A put writes the whole value under a temporary name in the key's group,
 * then deletes the old value and moves the new one into place: the value
 * under a key is always whole. HDF5 writes new data at the end of the file
 * (freed space is not reused across opens), and no metadata that refers to
 * it reaches the disk before the file is closed, so a writer killed during
 * the data part of a put leaves the previous state. HDF5 has no journal of
 * its own, and a kill inside its final metadata flush would damage the
 * file: so every write goes through stash's file driver, which saves the
 * old bytes of what it overwrites in a rollback journal beside the file
 * (store_hdf5_journal.h). A put is committed once H5Fclose (or, on an
 * exclusive handle, H5Fflush) has returned success; a put that failed is
 * rolled back at once, and one that was killed by the next open, under the
 * lock and before HDF5 reads a byte of the file. A read-only handle cannot
 * roll back, and says so (STASH_E_NEEDS_RECOVERY) instead of reading.
 *
 * HDF5's error printing is replaced around every call into it by a function
 * that prints nothing, so the library never prints; failures come back as
 * statuses. When the failure is a system call's (HDF5 could not open, read,
 * write or extend the file), the status is that call's errno (-EMFILE,
 * -ENOSPC, -EISDIR...), which HDF5 records in its error stack, not a
 * generic -EIO or STASH_E_CORRUPT.
 */
#include "store/store_hdf5_driver.h"
#include "store/store_hdf5_journal.h"
#include "store/store_hdf5_value.h"
#include "store/store_internal.h"
#include "core/sysio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_PREFIX ".stash-put-"

struct hdf5_store {
    char *path;
    int lock_fd; /* -1: read-only with no lock file */
    stash_store_options options;
    hid_t held;  /* STASH_STORE_EXCLUSIVE: the file, open and locked until close */
    struct hdf5_journal journal; /* .fd -1: none (read-only, none found; or turned off) */
    bool journaled; /* writes go through the journal (all but the benchmark's baseline) */
};

struct hdf5_journal_seams hdf5_journal_seams = {.off = false, .stop_recovery_after = 0};

/* ---- Silencing HDF5 --------------------------------------------------------------------- */

struct session {
    H5E_auto2_t saved_fn;
    void *saved_data;
    hid_t file;
    bool locked;
};

/*
 * The errno of the first system call HDF5 saw fail since quiet(), or 0.
 * HDF5's file driver pushes an error whose description carries "errno = N"
 * when open, read, write or truncate fails; HDF5
 * clears its stack at the start of every API call, so the errno is taken
 * at once, by the function HDF5 calls (instead of printing) whenever one of
 * its API calls fails. Per thread, as HDF5's error stacks are.
 */
static _Thread_local int session_errno;

#define ERRNO_TAG "errno = "

static herr_t take_errno(unsigned n, const H5E_error2_t *error, void *found)
{
    (void)n;
    const char *at = error->desc ? strstr(error->desc, ERRNO_TAG) : NULL;
    long value = at ? strtol(at + strlen(ERRNO_TAG), NULL, 10) : 0;
    if (value <= 0 || value > INT_MAX)
        return 0;
    *(int *)found = (int)value;
    return 1; /* stop at the innermost: the system call itself */
}

static herr_t record_errno(hid_t stack, void *unused)
{
    (void)unused;
    if (session_errno == 0)
        H5Ewalk2(stack, H5E_WALK_UPWARD, take_errno, &session_errno);
    return 0;
}

/* st, or the system's reason when st is a generic HDF5 failure that a
 * failed system call caused. */
static stash_status system_cause(stash_status st)
{
    bool generic = st == -EIO || st == STASH_E_CORRUPT;
    return generic && session_errno != 0 ? -session_errno : st;
}

static void quiet(struct session *s)
{
    H5Eget_auto2(H5E_DEFAULT, &s->saved_fn, &s->saved_data);
    H5Eset_auto2(H5E_DEFAULT, record_errno, NULL);
    session_errno = 0;
}

static void loud(struct session *s)
{
    H5Eset_auto2(H5E_DEFAULT, s->saved_fn, s->saved_data);
}

/* ---- The journal: rolling back, committing -------------------------------------------------- */

/*
 * A writer's hold on the journal, for as long as it has the file open to
 * write: its lock, after rolling back what a killed writer left. The caller
 * holds the store's lock exclusively, so the only other holder of the
 * journal's lock can be a live writer in this process: STASH_E_BUSY.
 */
static stash_status take_journal(struct hdf5_store *h)
{
    if (!h->journaled)
        return STASH_OK;
    stash_status st = hdf5_journal_lock(&h->journal);
    if (st == -EWOULDBLOCK)
        return STASH_E_BUSY;
    bool rolled_back;
    if (st == STASH_OK)
        st = hdf5_journal_recover(&h->journal, h->path, &rolled_back);
    if (st != STASH_OK)
        hdf5_journal_unlock(&h->journal);
    return st;
}

/* Whether the journal of a writer that was killed waits to be rolled back (*hot). */
static stash_status journal_is_hot(struct hdf5_store *h, bool *hot)
{
    *hot = false;
    if (!h->journaled)
        return STASH_OK;
    if (h->journal.fd < 0) { /* read-only: a writer may have made one since the open */
        stash_status st = hdf5_journal_open(h->path, false, false, &h->journal);
        if (st != STASH_OK || h->journal.fd < 0)
            return st;
    }
    return hdf5_journal_is_hot(&h->journal, hot);
}

/*
 * After the writer's file was closed (or flushed, exclusive): commits the
 * transaction if st says the writing succeeded, else rolls it back, so a
 * put that failed leaves the file as it was. HDF5 must have let the file
 * go: while it has it, neither is safe, and the next open rolls back.
 */
static stash_status settle(struct hdf5_store *h, stash_status st)
{
    if (h->journal.file_fd >= 0)
        return st != STASH_OK ? st : -EIO;
    if (st == STASH_OK)
        st = hdf5_journal_commit(&h->journal);
    if (st != STASH_OK) {
        bool rolled_back;
        hdf5_journal_recover(&h->journal, h->path, &rolled_back);
    }
    return st;
}

/* ---- Sessions: lock, open, work, close --------------------------------------------------- */

/* The store's lock for a session: shared to read, exclusive to write. */
static stash_status lock_store(struct hdf5_store *h, bool write, struct session *s)
{
    if (h->lock_fd < 0)
        return STASH_OK;
    stash_status st = sysio_flock(h->lock_fd, write ? LOCK_EX : LOCK_SH);
    s->locked = st == STASH_OK;
    return st;
}

static void unlock_store(struct hdf5_store *h, struct session *s)
{
    if (s->locked)
        flock(h->lock_fd, LOCK_UN);
    s->locked = false;
}

/* Recovers under the store's exclusive lock, for a reader that found a hot journal. */
static stash_status recover_for_reader(struct hdf5_store *h)
{
    struct session s = {.locked = false};
    stash_status st = lock_store(h, true, &s);
    if (st == STASH_OK)
        st = take_journal(h);
    hdf5_journal_unlock(&h->journal);
    unlock_store(h, &s);
    return st;
}

/*
 * Locks the store for a session, and makes the file safe to open: a writer
 * takes the journal (rolling back what a killed writer left); a reader that
 * finds a killed writer's journal recovers it under the exclusive lock
 * first, or, on a read-only handle, which may not, says so.
 */
static stash_status lock_session(struct hdf5_store *h, bool write, struct session *s)
{
    for (int tries = 0;; tries++) {
        stash_status st = lock_store(h, write, s);
        bool hot = false;
        if (st == STASH_OK)
            st = write ? take_journal(h) : journal_is_hot(h, &hot);
        if (st != STASH_OK || !hot) {
            if (st != STASH_OK)
                unlock_store(h, s);
            return st;
        }
        unlock_store(h, s);
        if ((h->options.flags & STASH_STORE_READ_ONLY) || tries == 2)
            return STASH_E_NEEDS_RECOVERY;
        if ((st = recover_for_reader(h)) != STASH_OK)
            return st;
    }
}

/* Undoes lock_session. */
static void unlock_session(struct hdf5_store *h, bool write, struct session *s)
{
    if (write)
        hdf5_journal_unlock(&h->journal);
    unlock_store(h, s);
}

/* Opens the file: to write through the journal's driver, to read through HDF5's own. */
static hid_t open_file(struct hdf5_store *h, bool write)
{
    if (!write || !h->journaled)
        return H5Fopen(h->path, write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fapl = hdf5_driver_fapl(&h->journal);
    hid_t file = fapl >= 0 ? H5Fopen(h->path, H5F_ACC_RDWR, fapl) : H5I_INVALID_HID;
    if (fapl >= 0)
        H5Pclose(fapl);
    return file;
}

static stash_status begin(struct hdf5_store *h, bool write, struct session *s)
{
    *s = (struct session){.file = H5I_INVALID_HID};
    if (h->held >= 0) {
        quiet(s);
        s->file = h->held;
        return STASH_OK;
    }
    stash_status st = lock_session(h, write, s);
    if (st != STASH_OK)
        return st;
    quiet(s);
    s->file = open_file(h, write);
    if (s->file >= 0)
        return STASH_OK;
    loud(s);
    st = system_cause(access(h->path, F_OK) == 0 ? STASH_E_CORRUPT : -errno);
    if (write && h->journaled)
        settle(h, st); /* whatever opening wrote, rolled back */
    unlock_session(h, write, s);
    return st;
}

/*
 * Rolls the exclusive handle's file back beneath a closed file and opens it
 * again. If it cannot be opened, the handle goes on as a shared one (each
 * call opens the file), still holding the store's lock.
 */
static void reopen_held(struct hdf5_store *h)
{
    H5Fclose(h->held);
    h->held = H5I_INVALID_HID;
    settle(h, STASH_E_CORRUPT); /* any failure: the rollback, now that HDF5 has let go */
    h->held = open_file(h, true);
}

/*
 * The end of an exclusive handle's write: flushed, so a put that returned
 * survives a crash of this process, and committed; a write that failed is
 * rolled back under a closed file, which is then opened again (HDF5's view
 * of the file would be wrong after a rollback beneath it).
 */
static stash_status end_held_write(struct hdf5_store *h, stash_status st)
{
    if (H5Fflush(h->held, H5F_SCOPE_LOCAL) < 0 && st == STASH_OK)
        st = -EIO;
    st = system_cause(st);
    if (!h->journaled)
        return st;
    if (st == STASH_OK)
        st = hdf5_journal_commit(&h->journal);
    if (st != STASH_OK)
        reopen_held(h);
    return st;
}

static stash_status end(struct hdf5_store *h, bool write, struct session *s, stash_status st)
{
    if (h->held >= 0) {
        st = write ? end_held_write(h, st) : system_cause(st);
        loud(s);
        return st;
    }
    if (H5Fclose(s->file) < 0 && st == STASH_OK)
        st = -EIO;
    loud(s);
    st = system_cause(st);
    if (write && h->journaled)
        st = settle(h, st);
    unlock_session(h, write, s);
    return st;
}

/* ---- Opening ---------------------------------------------------------------------------- */

struct file_image {
    void *bytes;
    size_t len;
};

static stash_status write_image(int fd, void *ctx)
{
    const struct file_image *image = ctx;
    return sysio_pwrite_full(fd, image->bytes, image->len, 0, NULL);
}

/*
 * A new empty file, built in memory (HDF5's core driver, no backing store)
 * and published by sysio_publish: HDF5 never opens a name on disk, so no
 * temporary of ours can be met by a planted link. It has HDF5's earliest
 * file format (superblock version 0), as every file HDF5 writes by default:
 * HDF5 refuses a file whose superblock says "open for writing" only from
 * version 3 on, and a file rolled back to the state of an exclusive
 * handle's commit says so.
 */
static stash_status create_file(const char *path)
{
    struct session s;
    quiet(&s);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = H5I_INVALID_HID;
    if (fcpl >= 0 && fapl >= 0 && H5Pset_fapl_core(fapl, 64 * 1024, false) >= 0 &&
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    struct file_image image = {NULL, 0};
    ssize_t len = file >= 0 && H5Fflush(file, H5F_SCOPE_LOCAL) >= 0
                      ? H5Fget_file_image(file, NULL, 0)
                      : -1;
    if (len > 0 && (image.bytes = malloc((size_t)len)) != NULL &&
        H5Fget_file_image(file, image.bytes, (size_t)len) == len)
        image.len = (size_t)len;
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    loud(&s);
    stash_status st = image.len > 0 ? sysio_publish(path, write_image, &image, false)
                      : len > 0 && image.bytes == NULL ? -ENOMEM
                                                      : -EIO;
    free(image.bytes);
    return st;
}

static stash_status open_lock(struct hdf5_store *h, bool read_only)
{
    char lock[PATH_MAX];
    int n = snprintf(lock, sizeof lock, "%s.lock", h->path);
    if (n < 0 || (size_t)n >= sizeof lock)
        return -ENAMETOOLONG;
    /* The lock is the store's own: never a link, never a FIFO to hang on. */
    int flags = O_NOFOLLOW | (read_only ? O_RDONLY : O_RDWR | O_CREAT);
    stash_status st = sysio_open_regular(AT_FDCWD, lock, flags, &h->lock_fd);
    if (st != STASH_OK)
        h->lock_fd = -1;
    if (st == -ELOOP || st == STASH_E_NOT_FILE)
        return STASH_E_CORRUPT;
    return st == -ENOENT && read_only ? STASH_OK : st;
}

/*
 * The file is whole (a killed writer's journal rolled back: before HDF5 or
 * H5Fis_hdf5 reads a byte of it) and HDF5, or is created; under the lock,
 * so once.
 */
static stash_status ensure_file(struct hdf5_store *h, bool read_only)
{
    struct session s = {.locked = false};
    stash_status st = lock_store(h, true, &s);
    if (st != STASH_OK)
        return st;
    bool hot = false;
    if (read_only)
        st = journal_is_hot(h, &hot);
    else if ((st = take_journal(h)) == STASH_OK)
        hdf5_journal_unlock(&h->journal);
    if (st == STASH_OK && hot)
        st = STASH_E_NEEDS_RECOVERY;
    int fd;
    if (st == STASH_OK && (st = sysio_open_input(h->path, &fd)) == STASH_OK) /* never a FIFO */
        sysio_close(fd);
    else if (st == -ENOENT && !read_only)
        st = system_cause(create_file(h->path));
    if (st == STASH_OK) {
        quiet(&s);
        htri_t is = H5Fis_hdf5(h->path);
        loud(&s);
        st = is > 0 ? STASH_OK : system_cause(STASH_E_CORRUPT);
    }
    unlock_store(h, &s);
    return st;
}

/* STASH_STORE_EXCLUSIVE: the file stays open, and the store's lock (a writer's journal too)
 * held, until close. */
static stash_status hold_file(struct hdf5_store *h, bool read_only)
{
    struct session s = {.locked = false};
    stash_status st = lock_session(h, !read_only, &s);
    if (st != STASH_OK)
        return st;
    quiet(&s);
    h->held = open_file(h, !read_only);
    loud(&s);
    st = h->held >= 0 ? STASH_OK : system_cause(STASH_E_CORRUPT);
    if (st != STASH_OK && !read_only && h->journaled)
        settle(h, st);
    return st; /* on failure, hdf5_close lets go of the locks */
}

static stash_status hdf5_close(void *impl)
{
    struct hdf5_store *h = impl;
    if (!h)
        return STASH_OK;
    stash_status st = STASH_OK;
    if (h->held >= 0) {
        struct session s;
        quiet(&s);
        st = H5Fclose(h->held) < 0 ? -EIO : STASH_OK;
        loud(&s);
        st = system_cause(st);
        if (!(h->options.flags & STASH_STORE_READ_ONLY) && h->journaled)
            st = settle(h, st);
    }
    stash_status journal = hdf5_journal_close(&h->journal);
    stash_status closed = h->lock_fd >= 0 ? sysio_close(h->lock_fd) : STASH_OK;
    free(h->path);
    free(h);
    return st != STASH_OK ? st : closed != STASH_OK ? closed : journal;
}

/* A new handle, its lock file and journal open (created if it may write). */
static stash_status new_handle(const char *path, const stash_store_options *options,
                               struct hdf5_store **out)
{
    bool read_only = options->flags & STASH_STORE_READ_ONLY;
    struct stat about;
    if (stat(path, &about) == 0 && S_ISDIR(about.st_mode))
        return -EISDIR; /* said before a lock file is made beside it */
    struct hdf5_store *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return -ENOMEM;
    }
    h->options = *options;
    h->lock_fd = -1;
    h->held = H5I_INVALID_HID;
    h->journal = (struct hdf5_journal){.fd = -1, .file_fd = -1};
    h->journaled = !hdf5_journal_seams.off;
    stash_status st = open_lock(h, read_only);
    if (st == STASH_OK && h->journaled)
        st = hdf5_journal_open(path, !read_only, options->flags & STASH_STORE_DURABLE,
                               &h->journal);
    if (st != STASH_OK) {
        hdf5_close(h);
        return st;
    }
    *out = h;
    return STASH_OK;
}

stash_status store_hdf5_open(const char *path, const stash_store_options *options, void **impl)
{
    if (!*path || options->max_bytes)
        return STASH_E_INVALID; /* HDF5 gives no space back: a size limit cannot hold */
    struct hdf5_store *h;
    stash_status st = new_handle(path, options, &h);
    if (st != STASH_OK)
        return st;
    bool read_only = options->flags & STASH_STORE_READ_ONLY;
    st = ensure_file(h, read_only);
    if (st == STASH_OK && (options->flags & STASH_STORE_EXCLUSIVE))
        st = hold_file(h, read_only);
    if (st != STASH_OK) {
        hdf5_close(h);
        return st;
    }
    *impl = h;
    return STASH_OK;
}

stash_status store_hdf5_recover(const char *path, bool *rolled_back)
{
    *rolled_back = false;
    struct stat about;
    if (!*path)
        return STASH_E_INVALID;
    if (stat(path, &about) != 0)
        return -errno; /* nothing to recover, and nothing to create */
    char journal[PATH_MAX];
    stash_status st = hdf5_journal_name(path, journal, sizeof journal);
    if (st != STASH_OK)
        return st;
    /* No journal: no writer of stash's ever had the file; nothing to undo, nothing made. */
    if (lstat(journal, &about) != 0)
        return errno == ENOENT ? STASH_OK : -errno;
    struct hdf5_store *h;
    st = new_handle(path, &(stash_store_options){0}, &h);
    if (st != STASH_OK)
        return st;
    struct session s = {.locked = false};
    st = lock_store(h, true, &s);
    if (st == STASH_OK)
        st = hdf5_journal_lock(&h->journal);
    if (st == -EWOULDBLOCK)
        st = STASH_E_BUSY;
    if (st == STASH_OK)
        st = hdf5_journal_recover(&h->journal, path, rolled_back);
    hdf5_journal_unlock(&h->journal);
    unlock_store(h, &s);
    stash_status closed = hdf5_close(h);
    return st != STASH_OK ? st : closed;
}

/* ---- Paths inside the file ---------------------------------------------------------------- */

/*
 * Whether loc has a link called name: STASH_OK, STASH_E_NOT_FOUND, or
 * STASH_E_CORRUPT when HDF5 cannot tell (a damaged group, such as a kill
 * inside HDF5's metadata flush can leave): damage must never read as an
 * absent key, and nothing may be created in a group HDF5 cannot read.
 */
static stash_status link_exists(hid_t loc, const char *name)
{
    htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
    return exists > 0 ? STASH_OK : exists == 0 ? STASH_E_NOT_FOUND : STASH_E_CORRUPT;
}

/* True if name in loc is a hard link (H5Lget_info does not follow the last link). */
static bool hard_link(hid_t loc, const char *name)
{
    H5L_info_t link;
    return H5Lget_info(loc, name, &link, H5P_DEFAULT) >= 0 && link.type == H5L_TYPE_HARD;
}

/* The link path names in file: STASH_OK if hard, STASH_E_NOT_FOUND if missing. */
static stash_status hard_step(hid_t file, const char *path)
{
    stash_status st = link_exists(file, path);
    if (st != STASH_OK)
        return st;
    return hard_link(file, path) ? STASH_OK : STASH_E_UNSUPPORTED;
}

/*
 * STASH_OK if key names an object, STASH_E_NOT_FOUND if not (H5Lexists
 * needs every parent to exist). Every link on the way, the key's own
 * included, must be hard: a soft or external link would lead elsewhere in
 * the file or into another file, which a get would read and a put or delete
 * change. Those are STASH_E_UNSUPPORTED, as links inside values are.
 */
static stash_status find(hid_t file, const char *key)
{
    char buf[STASH_STORE_KEY_MAX + 1];
    snprintf(buf, sizeof buf, "%s", key);
    stash_status st = STASH_OK;
    for (char *slash = buf; st == STASH_OK && (slash = strchr(slash, '/')); *slash++ = '/') {
        *slash = '\0';
        st = hard_step(file, buf);
    }
    return st == STASH_OK ? hard_step(file, buf) : st;
}

/* Opens the group that holds key's value, making missing groups on the way. */
static stash_status open_parent(hid_t file, const char *key, hid_t *parent, const char **leaf)
{
    char buf[STASH_STORE_KEY_MAX + 1];
    snprintf(buf, sizeof buf, "%s", key);
    char *slash = strrchr(buf, '/');
    *leaf = slash ? key + (slash - buf) + 1 : key;
    hid_t g = H5Gopen2(file, "/", H5P_DEFAULT);
    for (char *part = buf; slash && g >= 0 && part <= slash;) {
        char *end = strchr(part, '/');
        *end = '\0';
        hid_t next;
        stash_status exists = link_exists(g, part);
        if (exists == STASH_E_CORRUPT) {
            H5Gclose(g);
            return exists;
        }
        if (exists == STASH_OK) {
            next = hard_link(g, part) ? H5Gopen2(g, part, H5P_DEFAULT) : H5I_INVALID_HID;
            if (next < 0) {
                H5Gclose(g);
                return STASH_E_UNSUPPORTED; /* a value or a link is where a group would go */
            }
        } else {
            hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
            H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
            next = H5Gcreate2(g, part, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            H5Pclose(gcpl);
        }
        H5Gclose(g);
        g = next;
        part = end + 1;
    }
    if (g < 0)
        return -EIO;
    *parent = g;
    return STASH_OK;
}

/* ---- Writing ---------------------------------------------------------------------------- */

/* A JSON tree of content keys: sequences as lists, anything else as its key (HashedHDF5). */
static stash_status hash_tree(const stash_value *v, stash_value **out)
{
    stash_value_kind kind = stash_value_kind_of(v);
    if (kind == STASH_VALUE_LIST || kind == STASH_VALUE_TUPLE) {
        stash_status st = stash_value_new_list(out);
        for (size_t i = 0; i < stash_value_length(v) && st == STASH_OK; i++) {
            stash_value *item = NULL;
            st = hash_tree(stash_value_item(v, i), &item);
            if (st == STASH_OK && (st = stash_value_append(*out, item)) != STASH_OK)
                stash_value_free(&item);
        }
        if (st != STASH_OK)
            stash_value_free(out);
        return st;
    }
    stash_key key;
    stash_status st = stash_hash_value(v, &key);
    return st == STASH_OK ? stash_value_new_string(key.text, strlen(key.text), out) : st;
}

static stash_status write_json(hid_t group, const char *name, const stash_value *v)
{
    char *text = NULL;
    stash_value *s = NULL;
    stash_status st = stash_value_to_json(v, 0, &text, NULL);
    if (st == STASH_OK)
        st = stash_value_new_string(text, strlen(text), &s);
    if (st == STASH_OK)
        st = h5v_write(group, name, s, 0);
    stash_value_free(&s);
    free(text);
    return st;
}

static stash_status write_hash_tree(hid_t group, const char *name, const stash_value *v)
{
    stash_value *tree = NULL;
    stash_status st = hash_tree(v, &tree);
    if (st == STASH_OK)
        st = write_json(group, name, tree);
    stash_value_free(&tree);
    return st;
}

struct put_job {
    const char *key;
    const stash_value *value, *inputs, *meta;
    bool memo;
};

/* HashedHDF5: a group holding "data" (tuples as "000", "001", ...) and, for a memo, the rest. */
static stash_status write_hashed(hid_t parent, const char *temp, const struct put_job *job)
{
    hid_t g = H5Gcreate2(parent, temp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -EIO;
    stash_status st = h5v_write(g, "data", job->value, 3);
    if (st == STASH_OK && job->memo) {
        stash_value *none = NULL;
        st = job->meta ? write_json(g, "meta", job->meta) : stash_value_new_null(&none);
        if (st == STASH_OK && none)
            st = write_json(g, "meta", none);
        stash_value_free(&none);
        if (st == STASH_OK)
            st = write_hash_tree(g, "input", job->inputs);
        if (st == STASH_OK)
            st = write_hash_tree(g, "output", job->value);
    }
    H5Gclose(g);
    return st;
}

static stash_status put_in_file(hid_t file, const struct put_job *job)
{
    hid_t parent;
    const char *leaf;
    stash_status st = open_parent(file, job->key, &parent, &leaf);
    if (st != STASH_OK)
        return st;
    char temp[64];
    snprintf(temp, sizeof temp, TEMP_PREFIX "%ld", (long)getpid());
    stash_status leftover = link_exists(parent, temp), old_value = link_exists(parent, leaf);
    if (leftover == STASH_E_CORRUPT || old_value == STASH_E_CORRUPT)
        st = STASH_E_CORRUPT; /* HDF5 cannot read this group: create nothing in it */
    if (st == STASH_OK && leftover == STASH_OK)
        H5Ldelete(parent, temp, H5P_DEFAULT); /* left by a put that failed */
    if (st == STASH_OK)
        st = stash_key_is_content(job->key) ? write_hashed(parent, temp, job)
                                            : h5v_write(parent, temp, job->value, 0);
    if (st == STASH_OK && old_value == STASH_OK && H5Ldelete(parent, leaf, H5P_DEFAULT) < 0)
        st = -EIO;
    if (st == STASH_OK && H5Lmove(parent, temp, parent, leaf, H5P_DEFAULT, H5P_DEFAULT) < 0)
        st = -EIO;
    if (st != STASH_OK && link_exists(parent, temp) == STASH_OK)
        H5Ldelete(parent, temp, H5P_DEFAULT);
    H5Gclose(parent);
    return st;
}

static stash_status put_job(struct hdf5_store *h, const struct put_job *job)
{
    if (h->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    stash_status st = h5v_check(job->value);
    if (st != STASH_OK)
        return st;
    struct session s;
    st = begin(h, true, &s);
    if (st != STASH_OK)
        return st;
    return end(h, true, &s, put_in_file(s.file, job));
}

static stash_status hdf5_put(void *impl, const char *key, const stash_value *value)
{
    struct put_job job = {key, value, NULL, NULL, false};
    return put_job(impl, &job);
}

static stash_status hdf5_put_memo(void *impl, const char *key, const stash_value *value,
                                  const stash_value *inputs, const stash_value *meta)
{
    struct put_job job = {key, value, inputs, meta, true};
    return put_job(impl, &job);
}

/* ---- Reading ---------------------------------------------------------------------------- */

static stash_status hdf5_get(void *impl, const char *key, stash_value **out)
{
    struct session s;
    stash_status st = begin(impl, false, &s);
    if (st != STASH_OK)
        return st;
    st = find(s.file, key);
    if (st == STASH_OK && stash_key_is_content(key)) {
        char data[STASH_KEY_CHARS + 8];
        snprintf(data, sizeof data, "%s/data", key);
        st = h5v_read(s.file, data, true, out);
    } else if (st == STASH_OK) {
        st = h5v_read(s.file, key, false, out);
    }
    return end(impl, false, &s, st);
}

static stash_status hdf5_has(void *impl, const char *key)
{
    struct session s;
    stash_status st = begin(impl, false, &s);
    return st == STASH_OK ? end(impl, false, &s, find(s.file, key)) : st;
}

static stash_status hdf5_remove(void *impl, const char *key)
{
    struct hdf5_store *h = impl;
    if (h->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    struct session s;
    stash_status st = begin(h, true, &s);
    if (st != STASH_OK)
        return st;
    st = find(s.file, key);
    if (st == STASH_OK && H5Ldelete(s.file, key, H5P_DEFAULT) < 0)
        st = -EIO;
    return end(h, true, &s, st);
}

static stash_status hdf5_list(void *impl, stash_store_list_fn fn, void *ctx)
{
    struct session s;
    stash_status st = begin(impl, false, &s);
    if (st != STASH_OK)
        return st;
    return end(impl, false, &s, h5v_list(s.file, TEMP_PREFIX, fn, ctx));
}

static stash_status hdf5_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    (void)impl, (void)max_bytes, (void)stats;
    return STASH_E_UNSUPPORTED;
}

const struct store_ops store_hdf5_ops = {
    .name = "hdf5",
    .put = hdf5_put,
    .put_memo = hdf5_put_memo,
    .get = hdf5_get,
    .has = hdf5_has,
    .remove = hdf5_remove,
    .list = hdf5_list,
    .gc = hdf5_gc,
    .close = hdf5_close,
};
