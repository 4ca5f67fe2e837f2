/*
 * stash/ring.h - a ring of samples x channels shared between processes.
 *
 * One writer streams frames (one sample of every channel) into a ring that
 * any number of reader processes attach to by name. Everything is indexed by
 * the absolute sample number, a 64-bit count that never wraps: sample k sits
 * in slot k mod capacity until sample k + capacity overwrites it.
 *
 * Where a ring lives. A name without a "/" ("eeg", "run-3.raw") is a POSIX
 * shared memory object, /dev/shm/NAME on Linux: 1 to 200 characters from
 * [A-Za-z0-9._-], not starting with ".". A "/" in front and nowhere else
 * ("/eeg", shm_open's convention) names the same object. A name with a "/"
 * anywhere else ("./eeg.ring", "/data/eeg.ring") is a file at that path,
 * so the ring outlives a reboot. stash_ring_name_problem() says which of
 * these rules a name breaks. Either way the object holds one header page
 * and then the data; the layout is fixed, versioned and little-endian, and
 * docs/ring.md gives it byte by byte so another language can attach. A new
 * ring appears atomically (it is built under a temporary name and linked
 * into place), with mode 0600 unless the configuration asks for another
 * (readers need read permission, the writer read and write: 0640 lets a
 * group read).
 *
 * A ring outlives its processes. Its name stays until stash_ring_remove
 * (or `stash ring rm`), even after every process using it has exited or
 * been killed: a 16 MiB ring in /dev/shm holds 16 MiB of memory until then.
 * A creator that wants the name gone with its handle creates the ring with
 * STASH_RING_REMOVE_ON_CLOSE; a process killed with SIGKILL cannot clean up
 * at all, and for those stash_ring_stat() tells a stale ring (no live
 * writer, no handle attached) from a used one, and stash_ring_remove_stale()
 * removes it only if it is stale (`stash ring ls`, `stash ring rm --stale`).
 *
 * Zero-copy windows. A reader gets any window of up to capacity samples,
 * wrapped or not, as one contiguous read-only pointer. When the data is a
 * whole number of pages, each process maps it twice, back to back, so slot
 * capacity + i is slot i (STASH_RING_MIRRORED). Otherwise, or where the
 * system refuses the double mapping at creation, the object holds the data
 * twice and the writer writes every sample to both copies
 * (STASH_RING_POCKET: twice the memory and write traffic, same reads).
 * stash_ring_granule_samples() gives the capacities that map mirrored.
 *
 * Overwrite detection, seqlock style. The writer announces how far it is
 * about to write before copying, and publishes the count of samples written
 * after (release ordering). A view is taken against both: after using the
 * bytes, stash_ring_validate() tells whether the writer may have overwritten
 * any of them meanwhile, in which case the bytes must be thrown away. No
 * reader ever blocks the writer, and a slow reader loses old samples, never
 * the writer's progress.
 *
 * Writers. One at a time, held by an open file description lock (F_OFD_SETLK)
 * on the object, so the claim dies with its process. A second writer gets
 * STASH_E_BUSY. A writer that died is detected (the lock is free) and the
 * next one takes its claim over; if it died in the middle of a put, the
 * samples of that put are never published, and nothing older than them can
 * be read any more (their slots may be torn).
 *
 * Who can hurt a ring. Only the writer writes the ring's object: a reader
 * opens it read-only and maps it read-only, so it needs only read
 * permission, and a reader (or a user who may only read) can neither
 * truncate the ring nor write to it. Readers register to be woken in a
 * separate 4 KiB System V shared memory segment that the writer makes,
 * readable and writable by exactly those who can read the ring: it cannot
 * be shrunk, so it can never raise SIGBUS, and it is freed with the last
 * process attached to it. The worst a reader can do by writing there is
 * cost the writer a system call per put, or make sleepers wake up to 50 ms
 * late. The size of the object is checked at attach (before anything is
 * read through a mapping, and again after mapping) and when a writer takes
 * the claim: a ring cut short is STASH_E_TRUNCATED, never a fault.
 * What remains: a process with write permission on the object can truncate
 * it deliberately (not through stash), and then the writer and any reader
 * touching the cut pages die of SIGBUS. With the default mode 0600 that is
 * the owner's uid and root, who may as well kill -9 the writer; a mode that
 * lets a group write lets that group do it too. So give write permission
 * only to those trusted to be the ring's writer.
 *
 * Ownership and lifetimes: stash_ring_create and stash_ring_attach give a
 * handle the caller closes with stash_ring_close. Pointers from
 * stash_ring_view and the strings in stash_ring_info stay valid until the
 * handle is closed (the bytes behind a view may change; see validate).
 * stash_ring_remove unlinks the name: handles already attached keep working,
 * and the memory is freed when the last one closes.
 *
 * Thread-safety: the reading calls (check, view, validate, copy, wait,
 * written, info) may be made from any number of threads on one handle at
 * once. A writer handle's put is used by one thread at a time. close must
 * not race any other call on the same handle.
 *
 * This host: the ring is little-endian, and so must the host be (x86-64 and
 * arm64 are); the 64-bit counters are lock-free atomics there.
 *
 * Errors: STASH_E_INVALID (NULL or bad arguments, a malformed name),
 * STASH_E_RANGE (a size that overflows or exceeds the limits below, a window
 * longer than the capacity or with first > end), STASH_E_DTYPE (a dtype the
 * ring cannot hold), STASH_E_SHAPE (put_array of the wrong shape or type),
 * STASH_E_NOT_WRITABLE (put on a reader), STASH_E_BUSY (another writer is
 * alive; a ring still being created; a ring in use, for remove_stale),
 * STASH_E_CORRUPT (not a ring, or a header that does not hold together),
 * STASH_E_VERSION (a ring of another layout version), STASH_E_TRUNCATED (an
 * object shorter than its header says), STASH_E_NOT_WRITTEN,
 * STASH_E_OVERWRITTEN, STASH_E_TIMEOUT, STASH_E_WRITER_GONE, STASH_E_CLOSED,
 * STASH_E_NOT_FOUND (no ring by that name, or for create no directory to
 * make it in: the one status for "no such thing", as for a store's keys;
 * the ring API never returns -ENOENT), and -errno from the system (-EEXIST:
 * a ring of that name exists; -ENOSPC: no room for it; -EACCES).
 */
#ifndef STASH_RING_H
#define STASH_RING_H

#include <stash/array.h>
#include <stash/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stash_ring stash_ring;

/** Limits checked at creation and at attach. */
#define STASH_RING_MAX_CHANNELS 65536u
#define STASH_RING_MAX_DATA_BYTES (UINT64_C(1) << 40) /* 1 TiB of samples */
#define STASH_RING_NAME_MAX 200u
/** The longest channel label or unit, in bytes, without its NUL. */
#define STASH_RING_LABEL_MAX 255u

/** stash_ring_config.flags */
enum {
    /** Build the pocket layout even where mirroring would work (tests, benchmarks). */
    STASH_RING_FORCE_POCKET = 1u << 0,
    /**
     * Create the ring without claiming the writer's role: the handle
     * returned is a reader, and the ring has had no writer yet (what
     * `stash ring create` does, so readers started next wait for one).
     */
    STASH_RING_NO_WRITER = 1u << 1,
    /**
     * Remove the ring's name when the handle create returns is closed, if
     * the name still refers to the object this call made (its device and
     * inode are compared just before the unlink): handles attached then
     * keep working, and the memory is freed when the last one closes. Only
     * the creating process's close removes: a child that inherited the
     * handle across fork and closes it does not. What a process that dies
     * without closing leaves is for stash_ring_remove_stale.
     */
    STASH_RING_REMOVE_ON_CLOSE = 1u << 2,
};

typedef struct stash_ring_config {
    uint32_t channels;         /* 1 .. STASH_RING_MAX_CHANNELS */
    uint64_t capacity_samples; /* samples kept, >= 1 */
    stash_dtype dtype;         /* any numeric dtype; stored little-endian */
    double rate_hz;            /* nominal sample rate for late joiners; 0 if irregular */
    /* channels strings each, or NULL for none ("" each); copied into the header. */
    const char *const *labels;
    const char *const *units;
    unsigned mode;  /* permission bits; 0 means 0600 */
    unsigned flags; /* STASH_RING_FORCE_POCKET, STASH_RING_NO_WRITER, STASH_RING_REMOVE_ON_CLOSE */
    /*
     * The number of the ring's first sample (usually 0): the written count
     * starts there and nothing before it is readable. A copy of another ring
     * (stash/relay.h) starts at its source's sample so both number alike.
     */
    uint64_t first_sample;
} stash_ring_config;

/** How a handle sees wrapped windows (both give zero-copy views). */
typedef enum stash_ring_mapping {
    STASH_RING_MIRRORED = 1, /* the data mapped twice back to back */
    STASH_RING_POCKET = 2,   /* the data held twice, written twice by the writer */
} stash_ring_mapping;

/** The availability codes of rdaclient's RingBuffer (its check_availablility), kept. */
typedef enum stash_ring_availability {
    STASH_RING_AVAILABLE = 0,
    STASH_RING_OVERWRITTEN = 2,
    STASH_RING_NOT_WRITTEN = 3,
    STASH_RING_INVALID_RANGE = 5,
} stash_ring_availability;

typedef struct stash_ring_info {
    uint32_t channels;
    stash_dtype dtype;
    uint64_t capacity_samples;
    size_t frame_bytes; /* channels x the element size: one sample of every channel */
    double rate_hz;
    stash_ring_mapping mapping;
    bool is_writer;            /* this handle */
    uint64_t written_samples;  /* at the time of the call */
    uint64_t readable_from;    /* the oldest sample that can still be read (<= written) */
    bool writer_attached;      /* a live writer holds the claim */
    int32_t writer_pid;        /* the last writer's process id (0: never had one) */
    uint32_t writer_sessions;  /* how many writers have claimed the ring */
    const char *const *labels; /* channels strings, owned by the handle */
    const char *const *units;
} stash_ring_info;

/**
 * Creates the ring name with cfg and returns a writer handle to it (a
 * reader handle with STASH_RING_NO_WRITER).
 * -EEXIST if the name is taken (remove it first); the ring is complete when
 * it appears, so no attacher sees it half-built. The data is allocated and
 * touched up front: -ENOSPC rather than a fault later when memory is short.
 */
STASH_API stash_status stash_ring_create(const char *name, const stash_ring_config *cfg,
                                         stash_ring **ring);

/** stash_ring_attach flags */
enum {
    /** Claim the writer's role (STASH_E_BUSY if a live writer holds it). */
    STASH_RING_WRITER = 1u << 0,
};

/**
 * Attaches to an existing ring, as a reader (flags 0: the data is mapped
 * read-only, so a stray write faults instead of corrupting) or as its
 * writer. Everything in the header is checked before it is used; the
 * geometry is copied, so later changes to the shared header cannot move a
 * handle's reads outside the mapping. A reader opens the object read-only
 * and needs only read permission; a writer needs read and write.
 * STASH_E_TRUNCATED if the object is shorter than its header says, checked
 * before the mapping is touched.
 */
STASH_API stash_status stash_ring_attach(const char *name, unsigned flags, stash_ring **ring);

/**
 * stash_ring_attach, waiting up to timeout_ns (negative: no limit; 0: one
 * try) for the ring to exist and be valid: for a reader started before the
 * ring's creator. It waits while the name is missing (STASH_E_NOT_FOUND),
 * and for a reader (flags 0) while the ring is still being built
 * (STASH_E_BUSY); any other failure is returned at once. The wait sleeps in
 * poll(2) on an inotify watch of the ring's directory, woken by whatever is
 * created or written there, and looks again at least once a second; where
 * inotify is refused (no watches left, a directory that does not exist
 * yet), it looks every 20 ms instead. A signal does not end the wait (the
 * caller's handler may end the process). STASH_E_TIMEOUT if the ring is not
 * there in time.
 */
STASH_API stash_status stash_ring_attach_wait(const char *name, unsigned flags,
                                              int64_t timeout_ns, stash_ring **ring);

/**
 * Detaches and frees the handle, and sets *ring to NULL; NULL is a no-op.
 * A writer's close marks the ring as having no writer, gives the writer's
 * claim up (also while a forked child still holds a copy of the handle)
 * and wakes every waiting reader (they get STASH_E_WRITER_GONE). The creator's handle of a
 * ring made with STASH_RING_REMOVE_ON_CLOSE removes the name; if that
 * unlink fails, the handle is freed all the same and its -errno returned.
 */
STASH_API stash_status stash_ring_close(stash_ring **ring);

/**
 * Does what stash_ring_close does to the ring (a writer's claim given up and
 * its readers woken, the name removed for STASH_RING_REMOVE_ON_CLOSE, the
 * descriptor and its locks released) but keeps the handle's memory mapped:
 * pointers from stash_ring_view stay readable (the bytes go on changing as
 * a later writer writes) until stash_ring_close or stash_ring_abandon frees
 * the handle, which is all that may be done with it after this call. For a
 * binding whose views of a window outlive the handle's close (Python's).
 * Errors as close's; STASH_E_CLOSED for NULL. Must not race another call.
 */
STASH_API stash_status stash_ring_detach(stash_ring *ring);

/**
 * Frees a handle inherited across fork(2) without touching what the parent
 * still uses, and sets *ring to NULL; NULL is a no-op. For the child only:
 * the header is not written (a writer's handle leaves the ring marked as
 * written by its live writer, the parent), no reader is woken, the name is
 * not removed, and no lock is released: the writer's claim and the handle
 * lock are open file description locks that the child's descriptor shares
 * with the parent's, so closing it leaves them the parent's. The child's
 * mappings, wake segment attachments and descriptor go, so the child no
 * longer keeps the ring's memory or its claim alive once the parent closes.
 * Pointers from stash_ring_view become invalid. Never returns an error.
 * Like close, it must not race another call on the handle in the child.
 */
STASH_API stash_status stash_ring_abandon(stash_ring **ring);

/**
 * Unlinks the ring's name (see Ownership), whoever uses it.
 * STASH_E_NOT_FOUND if there is none, STASH_E_CORRUPT (and nothing
 * removed) if the name is not a ring: a file without the ring's magic, or a
 * symbolic link.
 */
STASH_API stash_status stash_ring_remove(const char *name);

/**
 * Unlinks the ring's name only if it is stale: no live writer and no
 * handle attached (see stash_ring_status). The ring must have a valid
 * header (else its status: STASH_E_CORRUPT, STASH_E_VERSION, ...) and the
 * caller write permission on it. The check and the unlink cannot be raced
 * by stash: the call holds the writer's lock and the handles' lock (see
 * docs/ring.md) exclusively while it compares the name's device and inode
 * with the object it checked and unlinks it, and an attacher that opened
 * the object meanwhile waits for the lock, finds it unlinked and reports
 * STASH_E_NOT_FOUND. STASH_E_BUSY (nothing removed) if the ring is in use,
 * or if its name came to refer to another object. A process that maps the
 * ring without stash's locks (docs/ring.md) is not seen.
 */
STASH_API stash_status stash_ring_remove_stale(const char *name);

/** Why name is not a ring name (a sentence stating the rule it breaks), or NULL if it is one. */
STASH_API const char *stash_ring_name_problem(const char *name);

/** A ring's writer, as stash_ring_stat sees it. */
typedef enum stash_ring_writer {
    STASH_RING_WRITER_NONE_YET = 0, /* no writer has claimed the ring */
    STASH_RING_WRITER_ALIVE = 1,    /* a live process holds the writer's claim */
    STASH_RING_WRITER_CLOSED = 2,   /* the last writer closed its handle */
    STASH_RING_WRITER_DEAD = 3,     /* the last writer's process ended without closing */
} stash_ring_writer;

/** What stash_ring_stat tells about a ring without attaching to it. */
typedef struct stash_ring_status {
    uint32_t channels;
    stash_dtype dtype;
    uint64_t capacity_samples;
    size_t frame_bytes;
    double rate_hz;
    stash_ring_mapping mapping;
    uint64_t object_bytes;    /* the object's size: the memory (or disk) it holds */
    uint64_t created_unix_ns; /* when it was created (CLOCK_REALTIME, from its header) */
    uint64_t written_samples;
    stash_ring_writer writer;
    int32_t writer_pid; /* the last writer's process id (0: never had one) */
    /*
     * Reader handles attached now, in any process: every stash handle holds
     * a shared lock on the ring from attach to close, the kernel drops it
     * when its process dies, and /proc/locks lists them; the live writer's
     * own handle is not counted. If /proc/locks cannot be read, 1 stands
     * for "one or more".
     */
    uint32_t readers;
    bool stale; /* no live writer and no handle at all: what remove_stale removes */
} stash_ring_status;

/**
 * A snapshot of the ring name, read without attaching (no lock is taken,
 * nothing is mapped, nothing written): its header checked as attach checks
 * it, its writer and its readers. Only read permission is needed. Errors as
 * attach's; the counts may have changed by the time the call returns.
 */
STASH_API stash_status stash_ring_stat(const char *name, stash_ring_status *status);

/** A snapshot of the geometry, metadata and writer of the ring. */
STASH_API stash_status stash_ring_info_get(const stash_ring *ring, stash_ring_info *info);

/**
 * The capacities (in samples) that are multiples of the returned granule
 * map mirrored for this geometry: the page size / gcd(frame bytes, page
 * size). 64 channels of float32 give 16; 3 channels of float64, 512.
 */
STASH_API stash_status stash_ring_granule_samples(uint32_t channels, stash_dtype dtype,
                                                  uint64_t *granule);

/**
 * Writes n_samples frames (n_samples x frame_bytes, little-endian), then
 * publishes them with one release store and wakes blocked readers (one
 * system call, only while a reader may be asleep; none for a reader that
 * died in its sleep, once its lease of at most 50 ms has run out). More
 * than capacity samples keeps the last capacity of them and counts all n
 * (as rdaclient's RingBuffer does).
 */
STASH_API stash_status stash_ring_put(stash_ring *ring, const void *frames, uint64_t n_samples);

/**
 * stash_ring_put for an array: shape (n, channels) in C order, or (n,) for a
 * one-channel ring, of the ring's dtype in either byte order (a big-endian
 * array is swapped on the way in). STASH_E_SHAPE otherwise (rdaclient's
 * "writing incompatible data").
 */
STASH_API stash_status stash_ring_put_array(stash_ring *ring, const stash_array_desc *desc,
                                            const void *data);

/**
 * The writer moves the written count forward to sample without writing
 * data: samples [written, sample) are a gap that is never readable, and
 * check/view/copy of any window that starts before sample report
 * OVERWRITTEN (never zeros), as do windows still held by readers. Readers
 * waiting for samples in the gap are woken. STASH_E_RANGE if sample is
 * below the written count; STASH_E_NOT_WRITABLE on a reader. For a copy of
 * another ring that lost samples on the way (stash/relay.h).
 */
STASH_API stash_status stash_ring_skip_to(stash_ring *ring, uint64_t sample);

/** The count of samples written and published (acquire ordering). */
STASH_API uint64_t stash_ring_written(const stash_ring *ring);

/**
 * Where [first, end) stands now, in rdaclient's order: INVALID_RANGE if
 * first > end or the window is longer than the capacity; NOT_WRITTEN if
 * end > written; OVERWRITTEN if any of it is gone; else AVAILABLE. An empty
 * window (first == end) is available once it is reached (a deliberate
 * difference: rdaclient's RingBuffer calls check(0, 0) invalid).
 */
STASH_API stash_ring_availability stash_ring_check(const stash_ring *ring, uint64_t first,
                                                   uint64_t end);

/**
 * Points *frames at samples [first, end): (end - first) x frame_bytes
 * contiguous, read-only bytes, wrapped or not, with no copy. The status is
 * check's, as STASH_E_RANGE, STASH_E_NOT_WRITTEN or STASH_E_OVERWRITTEN.
 * The writer may overwrite the bytes while they are used: call
 * stash_ring_validate(ring, first) after using them and before trusting
 * what was computed from them.
 */
STASH_API stash_status stash_ring_view(const stash_ring *ring, uint64_t first, uint64_t end,
                                       const void **frames);

/**
 * STASH_OK if no sample at or after first has been overwritten since it was
 * viewed, STASH_E_OVERWRITTEN if the writer has reached, or started to
 * write, a sample that replaces it. Costs one load and a fence.
 */
STASH_API stash_status stash_ring_validate(const stash_ring *ring, uint64_t first);

/** view, copy into dst ((end - first) x frame_bytes), validate: in one call. */
STASH_API stash_status stash_ring_copy(const stash_ring *ring, uint64_t first, uint64_t end,
                                       void *dst);

/**
 * Waits until sample end - 1 is written (end <= written), for at most
 * timeout_ns (negative: no limit; 0: just check). First spins for up to
 * spin_ns, reading the shared count (the lowest latency, one core busy);
 * then blocks on a futex on the count, which the writer wakes, in sleeps
 * of at most 50 ms each (1 ms if this process cannot attach the ring's wake
 * segment, e.g. from another IPC namespace: then the writer cannot know it
 * sleeps). The processes of one ring must share CLOCK_MONOTONIC (one time
 * namespace): a sleeping reader's lease is an instant on it. STASH_OK,
 * STASH_E_TIMEOUT, or STASH_E_WRITER_GONE when the samples are not there
 * and the writer this handle has known (alive when it attached, or one
 * that claimed the ring since) has closed or died, with no other writer in
 * its place. A death is noticed within 50 ms. A handle that attached to a
 * ring without a writer waits for one to come.
 */
STASH_API stash_status stash_ring_wait(const stash_ring *ring, uint64_t end, int64_t timeout_ns,
                                       int64_t spin_ns);

/** A stash_ring_mapping's name: "mirrored" or "pocket". */
STASH_API const char *stash_ring_mapping_name(stash_ring_mapping mapping);

#ifdef __cplusplus
}
#endif
#endif /* STASH_RING_H */
