/*
 * The wake segment: where readers say that they sleep, so that the writer
 * makes the FUTEX_WAKE system call only when someone may be asleep. Its
 * layout, and why it is System V shared memory, are in ring_layout.h; the
 * argument that no wake-up is lost is in docs/ring.md.
 *
 * The writer attaches it when it claims the ring: the segment the header
 * names if it is still there (readers attached to it keep it alive, so a
 * new writer joins them), else a new one. A reader attaches it on its first
 * sleep, and again only if a later writer had to make another; it keeps
 * every attachment until the handle closes, so a thread never loses the
 * segment it registered in to another thread's re-attach.
 */
#include "ring/ring_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

/* Segment id if it is the wake segment with cookie; NULL if not (gone, another's, refused). */
static struct ring_wake *attach_segment(int id, uint64_t cookie)
{
    struct shmid_ds ds;
    if (id < 0 || cookie == 0 || shmctl(id, IPC_STAT, &ds) != 0 ||
        ds.shm_segsz < RING_WAKE_BYTES)
        return NULL;
    struct ring_wake *w = shmat(id, NULL, 0);
    if (w == (void *)-1)
        return NULL;
    if (memcmp(w->magic, RING_WAKE_MAGIC, sizeof w->magic) != 0 || w->cookie != cookie) {
        shmdt(w); /* an id reused by another segment since ours went */
        return NULL;
    }
    return w;
}

/* Read and write on the segment for each class (owner, group, others) that can read the ring. */
static void share_like_the_ring(int id, int fd)
{
    struct stat st;
    struct shmid_ds ds;
    if (fstat(fd, &st) != 0 || shmctl(id, IPC_STAT, &ds) != 0)
        return; /* it stays 0600: its creator's alone */
    unsigned mode = 0;
    for (int shift = 0; shift <= 6; shift += 3)
        if (st.st_mode & ((unsigned)S_IROTH << shift))
            mode |= 06u << shift;
    ds.shm_perm.uid = st.st_uid;
    ds.shm_perm.gid = st.st_gid;
    ds.shm_perm.mode = mode;
    shmctl(id, IPC_SET, &ds);
}

/* Not a secret (readers see it in the header): it tells our segment from a reused id. */
static uint64_t new_cookie(void)
{
    uint64_t cookie = 0;
    if (getrandom(&cookie, sizeof cookie, GRND_NONBLOCK) != (ssize_t)sizeof cookie)
        cookie = ring_now_ns() ^ (uint64_t)getpid() << 40;
    return cookie ? cookie : 1;
}

static struct ring_wake *create_segment(int ring_fd, int *id_out, uint64_t *cookie_out)
{
    int id = shmget(IPC_PRIVATE, RING_WAKE_BYTES, IPC_CREAT | 0600);
    if (id < 0)
        return NULL;
    struct ring_wake *w = shmat(id, NULL, 0);
    shmctl(id, IPC_RMID, NULL); /* freed when the last process using it detaches or dies */
    if (w == (void *)-1)
        return NULL;
    uint64_t cookie = new_cookie();
    memcpy(w->magic, RING_WAKE_MAGIC, sizeof w->magic);
    w->cookie = cookie;
    share_like_the_ring(id, ring_fd);
    *id_out = id;
    *cookie_out = cookie;
    return w;
}

/* Makes w (cookie) the handle's newest attachment; called with wake_lock held, or by the writer. */
static struct ring_wake_link *push(struct stash_ring *r, struct ring_wake *w, uint64_t cookie)
{
    struct ring_wake_link *link = malloc(sizeof *link);
    if (link == NULL) {
        shmdt(w);
        return NULL;
    }
    *link = (struct ring_wake_link){.segment = w, .cookie = cookie,
                                    .older = atomic_load_explicit(&r->wake, memory_order_relaxed)};
    atomic_store_explicit(&r->wake, link, memory_order_release);
    return link;
}

void ring_wake_claim(struct stash_ring *r)
{
    struct ring_header *h = r->map.header;
    int id = atomic_load_explicit(&h->wake_shmid, memory_order_relaxed);
    uint64_t cookie = atomic_load_explicit(&h->wake_cookie, memory_order_acquire);
    struct ring_wake *w = attach_segment(id, cookie);
    if (w == NULL)
        w = create_segment(r->fd, &id, &cookie);
    struct ring_wake_link *link = w ? push(r, w, cookie) : NULL;
    r->writer_wake = link ? w : NULL;
    atomic_store_explicit(&h->wake_shmid, link ? id : -1, memory_order_relaxed);
    /* Release: an attacher that reads this cookie finds the segment filled in. */
    atomic_store_explicit(&h->wake_cookie, link ? cookie : 0, memory_order_release);
}

struct ring_wake *ring_wake_segment(const struct stash_ring *ring)
{
    struct stash_ring *r = (struct stash_ring *)ring; /* attachments: the handle's own state */
    const struct ring_header *h = r->map.header;
    uint64_t cookie = atomic_load_explicit(&h->wake_cookie, memory_order_acquire);
    struct ring_wake_link *link = atomic_load_explicit(&r->wake, memory_order_acquire);
    if (link && link->cookie == cookie)
        return link->segment;
    if (cookie == 0 || cookie == atomic_load_explicit(&r->wake_refused, memory_order_relaxed))
        return NULL;
    pthread_mutex_lock(&r->wake_lock);
    link = atomic_load_explicit(&r->wake, memory_order_relaxed);
    if (link == NULL || link->cookie != cookie) {
        struct ring_wake *w =
            attach_segment(atomic_load_explicit(&h->wake_shmid, memory_order_relaxed), cookie);
        link = w ? push(r, w, cookie) : NULL;
        if (link == NULL) /* no permission, another IPC namespace: do not ask again */
            atomic_store_explicit(&r->wake_refused, cookie, memory_order_relaxed);
    }
    pthread_mutex_unlock(&r->wake_lock);
    return link ? link->segment : NULL;
}

void ring_wake_register(struct ring_wake *w, uint64_t until_ns)
{
    atomic_fetch_add_explicit(&w->waiters, 1, memory_order_seq_cst);
    /*
     * Raise the lease to until_ns with a read-modify-write that always
     * writes, even a lease already later: a sequentially consistent
     * modification is what the writer's fence is ordered against.
     */
    uint64_t lease = atomic_load_explicit(&w->lease_ns, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&w->lease_ns, &lease,
                                                  lease > until_ns ? lease : until_ns,
                                                  memory_order_seq_cst, memory_order_relaxed))
        continue;
}

void ring_wake_unregister(struct ring_wake *w)
{
    atomic_fetch_sub_explicit(&w->waiters, 1, memory_order_relaxed);
}

void ring_wake_detach_all(struct stash_ring *r)
{
    struct ring_wake_link *link = atomic_load_explicit(&r->wake, memory_order_relaxed);
    while (link) {
        struct ring_wake_link *older = link->older;
        shmdt(link->segment);
        free(link);
        link = older;
    }
    atomic_store_explicit(&r->wake, NULL, memory_order_relaxed);
    r->writer_wake = NULL;
}
