/*
 * The shared ring's header page, byte for byte (docs/ring.md is the
 * specification; the static asserts below keep the two equal).
 *
 * The first 128 bytes are written once, before the ring's name appears, and
 * never change. The hot counters that the writer moves on every put share
 * one cache line (a reader needs both per view); the writer's identity sits
 * on a line of its own. Only the writer writes the ring's object: readers
 * map it read-only, and register to be woken in the wake segment below.
 * Counters are C11 atomics, lock-free and address-free on every host stash
 * supports, so two processes mapping the same page agree on them.
 */
#ifndef STASH_RING_LAYOUT_H
#define STASH_RING_LAYOUT_H

#include <stash/ring.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the shared ring's header is little-endian; this host is not"
#endif

#define RING_MAGIC "STASHRNG"
#define RING_VERSION 2u
#define RING_META_OFFSET 512u
/* The header is whole multiples of 4 KiB: whole pages of the host that created the ring. */
#define RING_HEADER_GRANULE 4096u
#define RING_HEADER_MAX (16u << 20)
/* Sample counts stay below 2^63, so sums of two never wrap. */
#define RING_COUNT_MAX (UINT64_C(1) << 63)

/* ring_header.flags */
#define RING_FLAG_POCKET 1u
#define RING_FLAGS_KNOWN RING_FLAG_POCKET

/* ring_header.writer_state */
enum { RING_WRITER_NEVER = 0, RING_WRITER_ATTACHED = 1, RING_WRITER_DETACHED = 2 };

struct ring_header {
    /* Line 0 and 1: the geometry, fixed at creation. */
    char magic[8];             /*   0 "STASHRNG" */
    uint32_t version;          /*   8 RING_VERSION */
    uint32_t header_bytes;     /*  12 where the data starts: whole 4 KiB pages */
    uint32_t channels;         /*  16 */
    uint32_t frame_bytes;      /*  20 channels x element size */
    char dtype[8];             /*  24 NPY descr, NUL-padded: "<f4", "|u1" */
    uint64_t capacity_samples; /*  32 */
    uint64_t data_bytes;       /*  40 capacity x frame, twice that in a pocket ring */
    uint32_t flags;            /*  48 RING_FLAG_POCKET */
    uint32_t meta_bytes;       /*  52 labels then units, NUL-terminated, at 512 */
    double rate_hz;            /*  56 */
    uint64_t created_unix_ns;  /*  64 */
    uint8_t reserved1[56];     /*  72 zero */

    /* Line 2: the writer's progress, moved by every put. */
    _Atomic uint64_t written;    /* 128 samples published (futex on its low 32 bits) */
    _Atomic uint64_t announced;  /* 136 samples the writer has started to write */
    _Atomic uint64_t valid_from; /* 144 nothing before it can be read (a torn put) */
    uint8_t reserved2[40];       /* 152 */

    /* Line 4: who writes. */
    _Atomic uint32_t writer_state;    /* 192 RING_WRITER_* */
    _Atomic int32_t writer_pid;       /* 196 */
    _Atomic uint32_t writer_sessions; /* 200 claims so far */
    uint32_t reserved3;               /* 204 */
    _Atomic uint64_t writer_claimed_unix_ns; /* 208 */
    _Atomic int32_t wake_shmid;              /* 216 the writer's wake segment (SysV shm id) */
    uint32_t reserved4;                      /* 220 */
    _Atomic uint64_t wake_cookie;            /* 224 its cookie; 0: no segment */
    uint8_t reserved5[280];                  /* 232 */
    /* 512: the metadata block (meta_bytes), then zeros to header_bytes. */
};

/*
 * The wake segment: the only memory readers write. A System V shared memory
 * segment, because it has a fixed size that nobody can shrink (a file can be
 * truncated under its mappings, which is a SIGBUS), and it is removed as soon
 * as it is made (IPC_RMID), so the kernel frees it when the last process
 * using it detaches or dies and it never outlives its users. The writer makes
 * it (or adopts the one its readers already hold) when it claims the ring,
 * gives read and write permission on it to whoever may read the ring, and
 * publishes its id and a random cookie in the header; an attacher checks the
 * cookie before trusting the segment.
 *
 * A reader about to sleep counts itself in waiters and raises lease_ns to
 * the CLOCK_MONOTONIC instant its sleep will end at the latest. The writer
 * wakes sleepers only while both say someone may sleep, so a reader killed
 * in its sleep (which never lowers waiters) costs nothing once its lease has
 * run out.
 */
#define RING_WAKE_MAGIC "STASHWAK"
#define RING_WAKE_BYTES 4096u

struct ring_wake {
    char magic[8];             /*  0 "STASHWAK" */
    uint64_t cookie;           /*  8 the header's wake_cookie */
    uint8_t reserved0[48];     /* 16 */
    _Atomic uint32_t waiters;  /* 64 readers asleep or about to sleep */
    uint32_t reserved1;        /* 68 */
    _Atomic uint64_t lease_ns; /* 72 no reader sleeps past it (CLOCK_MONOTONIC) */
    uint8_t reserved2[48];     /* 80 */
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "the ring's counters must be lock-free to be shared between processes");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
               "atomic counters must have their plain size");
_Static_assert(offsetof(struct ring_header, version) == 8, "layout");
_Static_assert(offsetof(struct ring_header, header_bytes) == 12, "layout");
_Static_assert(offsetof(struct ring_header, channels) == 16, "layout");
_Static_assert(offsetof(struct ring_header, frame_bytes) == 20, "layout");
_Static_assert(offsetof(struct ring_header, dtype) == 24, "layout");
_Static_assert(offsetof(struct ring_header, capacity_samples) == 32, "layout");
_Static_assert(offsetof(struct ring_header, data_bytes) == 40, "layout");
_Static_assert(offsetof(struct ring_header, flags) == 48, "layout");
_Static_assert(offsetof(struct ring_header, meta_bytes) == 52, "layout");
_Static_assert(offsetof(struct ring_header, rate_hz) == 56, "layout");
_Static_assert(offsetof(struct ring_header, created_unix_ns) == 64, "layout");
_Static_assert(offsetof(struct ring_header, written) == 128, "layout");
_Static_assert(offsetof(struct ring_header, announced) == 136, "layout");
_Static_assert(offsetof(struct ring_header, valid_from) == 144, "layout");
_Static_assert(offsetof(struct ring_header, writer_state) == 192, "layout");
_Static_assert(offsetof(struct ring_header, writer_pid) == 196, "layout");
_Static_assert(offsetof(struct ring_header, writer_sessions) == 200, "layout");
_Static_assert(offsetof(struct ring_header, writer_claimed_unix_ns) == 208, "layout");
_Static_assert(offsetof(struct ring_header, wake_shmid) == 216, "layout");
_Static_assert(offsetof(struct ring_header, wake_cookie) == 224, "layout");
_Static_assert(sizeof(struct ring_header) == RING_META_OFFSET, "layout");
_Static_assert(offsetof(struct ring_wake, cookie) == 8, "layout");
_Static_assert(offsetof(struct ring_wake, waiters) == 64, "layout");
_Static_assert(offsetof(struct ring_wake, lease_ns) == 72, "layout");
_Static_assert(sizeof(struct ring_wake) == 128 && sizeof(struct ring_wake) <= RING_WAKE_BYTES,
               "layout");

/* What a handle keeps of a checked header: never re-read from shared memory. */
struct ring_geometry {
    uint32_t channels;
    uint32_t frame_bytes;
    stash_dtype dtype;
    uint64_t capacity;
    uint64_t data_bytes;
    uint32_t header_bytes;
    uint32_t meta_bytes;
    double rate_hz;
    bool pocket;
};

/*
 * Checks the header page (hdr, header_len readable bytes, from an object of
 * object_bytes) and fills geo. Pure: no system calls, so it is fuzzed.
 * STASH_E_CORRUPT if it is not a ring, STASH_E_TRUNCATED if a ring's
 * header or data is cut short, STASH_E_BUSY if the magic is still zero (a
 * ring being built by a tool that does not publish atomically).
 */
stash_status ring_header_check(const void *hdr, size_t header_len, uint64_t object_bytes,
                               struct ring_geometry *geo);

/*
 * Splits the metadata block into 2 x channels strings (labels, then units),
 * checked: each NUL-terminated, valid UTF-8, at most STASH_RING_LABEL_MAX
 * bytes, and nothing after the last. strings gets pointers into block.
 */
stash_status ring_meta_split(const char *block, uint32_t meta_bytes, uint32_t channels,
                             const char **strings);

/* The NUL-padded NPY descr field of the header for dtype ("<f4", "|u1"). */
void ring_dtype_field(stash_dtype dtype, char field[8]);

/*
 * The dtype of such a field, checked: NUL-padded, a descr stash knows,
 * little-endian or byte-sized (STASH_E_DTYPE for big-endian; else
 * STASH_E_CORRUPT or the parser's status).
 */
stash_status ring_dtype_parse(const char field[8], stash_dtype *dtype);

/* Geometry for cfg, checked (sizes, overflow, limits, labels); pocket as asked. */
stash_status ring_geometry_plan(const stash_ring_config *cfg, bool pocket,
                                struct ring_geometry *geo);

/* Writes the header page for geo and cfg's strings into page (geo->header_bytes, zeroed). */
void ring_header_fill(void *page, const struct ring_geometry *geo, const stash_ring_config *cfg);

#endif
