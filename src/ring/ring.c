/*
 * The shared ring's lifecycle: create, attach, close, remove, and what a
 * handle tells about its ring. Puts and views are in ring_io.c, waiting in
 * ring_wait.c; the header is specified in docs/ring.md.
 */
#include "ring/ring_internal.h"
#include "core/sysio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void free_handle(struct stash_ring *r)
{
    ring_wake_detach_all(r);
    pthread_mutex_destroy(&r->wake_lock);
    ring_unmap(&r->map);
    if (r->fd >= 0)
        close(r->fd); /* releases the writer's lock, if held */
    free(r->remove_path);
    free(r->meta);
    free(r->strings);
    free(r);
}

#ifndef NDEBUG
/* What ring_geometry_plan and ring_header_check promise of every geometry they give. */
static bool geometry_holds(const struct ring_geometry *g)
{
    uint64_t copies = g->pocket ? 2 : 1;
    return g->channels > 0 && g->capacity > 0 &&
           g->frame_bytes == g->channels * stash_dtype_size(g->dtype) &&
           g->data_bytes == g->capacity * g->frame_bytes * copies &&
           g->header_bytes >= RING_META_OFFSET &&
           g->meta_bytes <= g->header_bytes - RING_META_OFFSET;
}
#endif

static struct stash_ring *new_handle(int fd, const struct ring_geometry *geo)
{
    assert(geometry_holds(geo));
    struct stash_ring *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    if (pthread_mutex_init(&r->wake_lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    r->fd = fd;
    r->geo = *geo;
    return r;
}

/* A private copy of the labels and units, checked, from a header page. */
static stash_status copy_meta(struct stash_ring *r, const void *page)
{
    uint32_t channels = r->geo.channels, bytes = r->geo.meta_bytes;
    r->meta = malloc(bytes ? bytes : 1);
    r->strings = calloc(2 * (size_t)channels, sizeof *r->strings);
    if (r->meta == NULL || r->strings == NULL)
        return -ENOMEM;
    memcpy(r->meta, (const char *)page + RING_META_OFFSET, bytes);
    return ring_meta_split(r->meta, bytes, channels, r->strings);
}

static uint64_t unix_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/*
 * Makes r the ring's writer. If the last writer died in the middle of a put
 * (announced ahead of written), the slots it was writing may be torn: the
 * count moves past them and nothing before it can be read any more. The
 * object's size is checked once the claim is held: a ring cut short since
 * it was mapped is refused rather than written into (a SIGBUS).
 */
static stash_status claim_writer(struct stash_ring *r)
{
    stash_status st = ring_writer_lock(r->fd);
    if (st == STASH_OK)
        st = ring_object_fits(r->fd, &r->geo);
    if (st != STASH_OK)
        return st;
    struct ring_header *h = r->map.header;
    uint64_t written = atomic_load_explicit(&h->written, memory_order_acquire);
    uint64_t announced = atomic_load_explicit(&h->announced, memory_order_relaxed);
    if (announced != written) {
        atomic_store_explicit(&h->valid_from, announced, memory_order_relaxed);
        atomic_store_explicit(&h->written, announced, memory_order_release);
    }
    r->next = announced;
    r->writer = true;
    r->claimer = getpid();
    ring_wake_claim(r);
    atomic_store_explicit(&h->writer_pid, (int32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&h->writer_claimed_unix_ns, unix_ns(), memory_order_relaxed);
    /* The state, then the sessions: a reader awaiting a writer reads them the other way round. */
    atomic_store_explicit(&h->writer_state, RING_WRITER_ATTACHED, memory_order_seq_cst);
    atomic_fetch_add_explicit(&h->writer_sessions, 1, memory_order_seq_cst);
    ring_wake_claimed(r);
    return STASH_OK;
}

/* What stash_ring_wait needs to tell a writer that left from one yet to come. */
static void note_writer(struct stash_ring *r)
{
    const struct ring_header *h = r->map.header;
    r->sessions_at_attach = atomic_load_explicit(&h->writer_sessions, memory_order_relaxed);
    r->writer_at_attach =
        atomic_load_explicit(&h->writer_state, memory_order_acquire) == RING_WRITER_ATTACHED &&
        ring_writer_alive(r);
}

/* A handle built on an aside file failed: the handle closed the descriptor;
 * the file's temporary name (if it had one) goes too. */
static void drop_built(struct stash_ring *r, struct sysio_aside *a)
{
    free_handle(r);
    a->fd = -1;
    sysio_aside_discard(a);
}

/* Builds, maps and claims a new ring's object aside; its name is linked by the caller. */
static stash_status build(const char *path, const stash_ring_config *cfg, bool pocket,
                          struct stash_ring **out, struct sysio_aside *a)
{
    struct ring_geometry geo;
    stash_status st = ring_geometry_plan(cfg, pocket, &geo);
    if (st == STASH_OK && !pocket && !ring_mirror_fits(&geo))
        st = ring_geometry_plan(cfg, true, &geo);
    if (st == STASH_OK)
        st = ring_object_build(path, &geo, cfg, cfg->mode ? cfg->mode : 0600, a);
    if (st != STASH_OK)
        return st;
    struct stash_ring *r = new_handle(a->fd, &geo);
    if (r == NULL) {
        sysio_aside_discard(a);
        return -ENOMEM;
    }
    bool writer = !(cfg->flags & STASH_RING_NO_WRITER);
    st = ring_map(a->fd, &geo, writer, &r->map);
    if (st != STASH_OK && !geo.pocket) {
        drop_built(r, a);
        return build(path, cfg, true, out, a); /* this system refused the mirror */
    }
    if (st == STASH_OK)
        st = copy_meta(r, r->map.header);
    if (st == STASH_OK && writer)
        st = claim_writer(r);
    if (st != STASH_OK) {
        drop_built(r, a);
        return st;
    }
    *out = r;
    return STASH_OK;
}

/* Remembers what remove-on-close must remove: the path, and the object linked to it. */
static stash_status note_removal(struct stash_ring *r, const char *path)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return -errno;
    r->remove_path = strdup(path);
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    r->creator = getpid();
    return r->remove_path ? STASH_OK : -ENOMEM;
}

stash_status stash_ring_create(const char *name, const stash_ring_config *cfg, stash_ring **ring)
{
    char path[RING_PATH_MAX];
    unsigned known = STASH_RING_FORCE_POCKET | STASH_RING_NO_WRITER | STASH_RING_REMOVE_ON_CLOSE;
    if (cfg == NULL || ring == NULL || (cfg->flags & ~known))
        return STASH_E_INVALID;
    stash_status st = ring_path(name, path);
    if (st != STASH_OK)
        return st;
    struct stash_ring *r;
    struct sysio_aside aside;
    st = build(path, cfg, cfg->flags & STASH_RING_FORCE_POCKET, &r, &aside);
    if (st != STASH_OK)
        return st;
    /* Linked, never replacing: -EEXIST if the name is taken. */
    st = sysio_aside_link(&aside, path, &r->fd);
    if (st != STASH_OK) {
        drop_built(r, &aside);
        return st == -ENOENT ? STASH_E_NOT_FOUND : st;
    }
    if (!r->writer) /* a reader's handle holds no writable descriptor */
        st = ring_object_reopen_read_only(&r->fd);
    if (st == STASH_OK && (cfg->flags & STASH_RING_REMOVE_ON_CLOSE))
        st = note_removal(r, path);
    if (st != STASH_OK) {
        free_handle(r);
        stash_ring_remove(name);
        return st;
    }
    *ring = r;
    return STASH_OK;
}

/* Reads and checks the header of the object open on fd (bytes long). */
static stash_status read_header(int fd, uint64_t bytes, struct ring_geometry *geo, void **page)
{
    struct ring_header first;
    size_t got = 0;
    stash_status st = sysio_pread_full(fd, &first, sizeof first, 0, &got);
    if (st != STASH_OK)
        return st;
    size_t want = got == sizeof first ? first.header_bytes : got;
    if (want < got || want > RING_HEADER_MAX || want > bytes)
        want = got; /* ring_header_check names what is wrong */
    void *buf = malloc(want ? want : 1);
    if (buf == NULL)
        return -ENOMEM;
    st = sysio_pread_full(fd, buf, want, 0, &got);
    if (st == STASH_OK)
        st = ring_header_check(buf, got, bytes, geo);
    if (st != STASH_OK) {
        free(buf);
        return st;
    }
    *page = buf;
    return STASH_OK;
}

stash_status stash_ring_attach(const char *name, unsigned flags, stash_ring **ring)
{
    char path[RING_PATH_MAX];
    if (ring == NULL || (flags & ~(unsigned)STASH_RING_WRITER))
        return STASH_E_INVALID;
    stash_status st = ring_path(name, path);
    int fd = -1;
    uint64_t bytes = 0;
    if (st == STASH_OK)
        st = ring_object_attach(path, flags & STASH_RING_WRITER, &fd, &bytes);
    if (st != STASH_OK)
        return st;
    struct ring_geometry geo;
    void *page = NULL;
    st = read_header(fd, bytes, &geo, &page);
    struct stash_ring *r = st == STASH_OK ? new_handle(fd, &geo) : NULL;
    if (r == NULL) {
        free(page);
        close(fd);
        return st == STASH_OK ? -ENOMEM : st;
    }
    st = copy_meta(r, page);
    free(page);
    bool writer = flags & STASH_RING_WRITER;
    if (st == STASH_OK)
        st = ring_map(fd, &geo, writer, &r->map);
    if (st == STASH_OK && writer)
        st = claim_writer(r);
    if (st == STASH_OK)
        note_writer(r);
    if (st != STASH_OK) {
        free_handle(r);
        return st;
    }
    *ring = r;
    return STASH_OK;
}

/* Unlinks path if it still names the object (dev, ino): a ring made there since stays. */
static stash_status unlink_if_same(const char *path, dev_t dev, ino_t ino)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? STASH_OK : -errno; /* removed already */
    if (st.st_dev != dev || st.st_ino != ino)
        return STASH_OK;
    return unlink(path) == 0 || errno == ENOENT ? STASH_OK : -errno;
}

stash_status stash_ring_detach(stash_ring *r)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    stash_status st = STASH_OK;
    /* First: no one attaches to a ring whose creator has left. */
    if (r->remove_path && r->creator == getpid())
        st = unlink_if_same(r->remove_path, r->dev, r->ino);
    free(r->remove_path);
    r->remove_path = NULL;
    if (r->writer) {
        atomic_store_explicit(&r->map.header->writer_state, RING_WRITER_DETACHED,
                              memory_order_release);
        ring_wake_all(r);
        if (r->claimer == getpid()) /* a forked child's handle shares the parent's claim */
            ring_writer_unlock(r->fd);
        r->writer = false;
    }
    if (r->fd >= 0)
        close(r->fd); /* releases the writer's lock, if held, and the handle's */
    r->fd = -1;
    return st;
}

stash_status stash_ring_close(stash_ring **ring)
{
    if (ring == NULL || *ring == NULL)
        return STASH_OK;
    stash_status st = stash_ring_detach(*ring);
    free_handle(*ring);
    *ring = NULL;
    return st;
}

stash_status stash_ring_abandon(stash_ring **ring)
{
    if (ring == NULL || *ring == NULL)
        return STASH_OK;
    free_handle(*ring); /* unmaps, detaches, closes: nothing shared is written */
    *ring = NULL;
    return STASH_OK;
}

/* STASH_OK if path is a regular file that starts with the ring's magic (no link followed). */
static stash_status is_ring(const char *path)
{
    int fd;
    uint64_t bytes;
    stash_status status = ring_object_open(path, false, &fd, &bytes);
    if (status == -ELOOP || status == -EISDIR)
        return STASH_E_CORRUPT; /* a link or a directory is no ring */
    if (status != STASH_OK)
        return status;
    char magic[sizeof RING_MAGIC - 1];
    size_t got = 0;
    status = sysio_pread_full(fd, magic, sizeof magic, 0, &got);
    if (status == STASH_OK && (got != sizeof magic || memcmp(magic, RING_MAGIC, got) != 0))
        status = STASH_E_CORRUPT;
    close(fd);
    return status;
}

stash_status stash_ring_remove(const char *name)
{
    char path[RING_PATH_MAX];
    stash_status st = ring_path(name, path);
    if (st == STASH_OK)
        st = is_ring(path); /* a mistyped path must not delete someone's file */
    if (st == STASH_OK && unlink(path) != 0)
        st = errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    return st;
}

/* A ring opened by name without attaching: its descriptor and a copy of its checked header. */
struct named_ring {
    char path[RING_PATH_MAX];
    int fd;
    uint64_t bytes;
    struct ring_header header;
    struct ring_geometry geo;
};

/* Opens name's object (read-only, or read-write to lock it) and checks its header. */
static stash_status open_named(const char *name, bool writable, struct named_ring *n)
{
    stash_status st = ring_path(name, n->path);
    if (st == STASH_OK)
        st = ring_object_open(n->path, writable, &n->fd, &n->bytes);
    if (st == -ELOOP || st == -EISDIR)
        return STASH_E_CORRUPT;
    if (st != STASH_OK)
        return st;
    void *page = NULL;
    st = read_header(n->fd, n->bytes, &n->geo, &page);
    if (st == STASH_OK)
        memcpy(&n->header, page, sizeof n->header);
    free(page);
    if (st != STASH_OK)
        close(n->fd);
    return st;
}

static stash_ring_writer writer_of(const struct ring_header *h, int fd)
{
    if (ring_lock_held(fd, RING_LOCK_WRITER))
        return STASH_RING_WRITER_ALIVE;
    uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_relaxed);
    return state == RING_WRITER_NEVER      ? STASH_RING_WRITER_NONE_YET
           : state == RING_WRITER_DETACHED ? STASH_RING_WRITER_CLOSED
                                           : STASH_RING_WRITER_DEAD;
}

stash_status stash_ring_stat(const char *name, stash_ring_status *status)
{
    if (status == NULL)
        return STASH_E_INVALID;
    struct named_ring n;
    stash_status st = open_named(name, false, &n);
    if (st != STASH_OK)
        return st;
    struct ring_header *h = &n.header; /* not const: C11 atomic loads take a non-const pointer */
    const struct ring_geometry *geo = &n.geo;
    stash_ring_writer writer = writer_of(h, n.fd);
    uint32_t handles = ring_handles_count(n.fd);
    uint32_t writers = writer == STASH_RING_WRITER_ALIVE;
    *status = (stash_ring_status){
        .channels = geo->channels,
        .dtype = geo->dtype,
        .capacity_samples = geo->capacity,
        .frame_bytes = geo->frame_bytes,
        .rate_hz = geo->rate_hz,
        .mapping = geo->pocket ? STASH_RING_POCKET : STASH_RING_MIRRORED,
        .object_bytes = n.bytes,
        .created_unix_ns = h->created_unix_ns,
        .written_samples = atomic_load_explicit(&h->written, memory_order_relaxed),
        .writer = writer,
        .writer_pid = atomic_load_explicit(&h->writer_pid, memory_order_relaxed),
        .readers = handles > writers ? handles - writers : 0,
        .stale = !writers && handles == 0,
    };
    close(n.fd);
    return STASH_OK;
}

stash_status stash_ring_remove_stale(const char *name)
{
    struct named_ring n;
    stash_status st = open_named(name, true, &n);
    if (st != STASH_OK)
        return st;
    st = ring_lock_unused(n.fd); /* no writer, no handle; none can come while it is held */
    struct stat object, named;
    if (st == STASH_OK && fstat(n.fd, &object) != 0)
        st = -errno;
    if (st == STASH_OK && lstat(n.path, &named) != 0)
        st = errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    if (st == STASH_OK && (named.st_dev != object.st_dev || named.st_ino != object.st_ino))
        st = STASH_E_BUSY; /* the name is another ring's now */
    if (st == STASH_OK && unlink(n.path) != 0)
        st = errno == ENOENT ? STASH_E_NOT_FOUND : -errno;
    close(n.fd); /* releases the locks: a waiting attacher finds the object unlinked */
    return st;
}

stash_status stash_ring_info_get(const stash_ring *r, stash_ring_info *info)
{
    if (r == NULL)
        return STASH_E_CLOSED;
    if (info == NULL)
        return STASH_E_INVALID;
    const struct ring_header *h = r->map.header;
    uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_acquire);
    uint64_t written = stash_ring_written(r), oldest = ring_oldest(r);
    *info = (stash_ring_info){
        .channels = r->geo.channels,
        .dtype = r->geo.dtype,
        .capacity_samples = r->geo.capacity,
        .frame_bytes = r->geo.frame_bytes,
        .rate_hz = r->geo.rate_hz,
        .mapping = r->geo.pocket ? STASH_RING_POCKET : STASH_RING_MIRRORED,
        .is_writer = r->writer,
        .written_samples = written,
        .readable_from = oldest < written ? oldest : written,
        .writer_attached = state == RING_WRITER_ATTACHED && ring_writer_alive(r),
        .writer_pid = atomic_load_explicit(&h->writer_pid, memory_order_relaxed),
        .writer_sessions = atomic_load_explicit(&h->writer_sessions, memory_order_relaxed),
        .labels = r->strings,
        .units = r->strings + r->geo.channels,
    };
    return STASH_OK;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

stash_status stash_ring_granule_samples(uint32_t channels, stash_dtype dtype, uint64_t *granule)
{
    size_t item = stash_dtype_size(dtype);
    if (granule == NULL || channels == 0 || channels > STASH_RING_MAX_CHANNELS)
        return STASH_E_INVALID;
    if (item == 0)
        return STASH_E_DTYPE;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), frame = (uint64_t)channels * item;
    *granule = page / gcd(frame, page);
    return STASH_OK;
}

const char *stash_ring_mapping_name(stash_ring_mapping mapping)
{
    return mapping == STASH_RING_MIRRORED ? "mirrored"
           : mapping == STASH_RING_POCKET ? "pocket"
                                          : "unknown";
}
