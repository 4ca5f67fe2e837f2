/*
 * The temp-file descriptor pool.
 *
 * Each temp storage is a slot: a file "t<id>" in the pool's private
 * directory, and a descriptor that is open (fd >= 0) or not. Open slots form
 * a list, most recently used first; when max_open are open and another is
 * needed, the least recently used slot that is not pinned is closed. A pinned
 * slot is in the middle of a system call and is never closed under it.
 *
 * Locking: pool->lock protects open_list, open_count, refs and every slot's
 * fd, pins and list links. A slot's buffer belongs to its stream and is
 * never touched here, so eviction never writes data: a closed slot keeps its
 * dirty bytes in its stream until that stream's next call reopens it.
 *
 * Lifetime: the pool counts one reference for its creator and one per slot;
 * the last release removes the directory. A registry of live pools lets the
 * library's destructor remove what remains at normal exit (only in the
 * process that created each pool, so a forked child's exit removes nothing).
 */
#include "storage/storage_pool.h"

#include "core/sysio.h"
#include "stream/stream_internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pool_slot {
    stash_storage_pool *pool;
    uint64_t id;
    int fd;
    unsigned pins;
    struct pool_slot *prev, *next;
};

struct stash_storage_pool {
    pthread_mutex_t lock;
    size_t max_open, open_count, refs;
    uint64_t next_id;
    pid_t creator;
    char *dir;
    struct pool_slot open_list; /* sentinel: next is the most recently used */
    stash_storage_pool *next_live;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static stash_storage_pool *live_pools;

static void registry_add(stash_storage_pool *pool)
{
    pthread_mutex_lock(&registry_lock);
    pool->next_live = live_pools;
    live_pools = pool;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(stash_storage_pool *pool)
{
    pthread_mutex_lock(&registry_lock);
    for (stash_storage_pool **p = &live_pools; *p != NULL; p = &(*p)->next_live) {
        if (*p == pool) {
            *p = pool->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Removes a pool directory and the temp files in it (it holds nothing else). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] == 't')
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

__attribute__((destructor)) static void remove_live_pools_at_exit(void)
{
    pthread_mutex_lock(&registry_lock);
    for (stash_storage_pool *pool = live_pools; pool != NULL; pool = pool->next_live)
        if (pool->creator == getpid())
            remove_dir(pool->dir);
    pthread_mutex_unlock(&registry_lock);
}

stash_status stash_storage_pool_create(size_t max_open, const char *parent_dir,
                                       stash_storage_pool **out)
{
    if (max_open == 0 || out == NULL)
        return STASH_E_INVALID;
    if (parent_dir == NULL)
        parent_dir = getenv("TMPDIR");
    if (parent_dir == NULL || parent_dir[0] == '\0')
        parent_dir = "/tmp";
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/stash-%ld-XXXXXX", parent_dir, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof dir - 32) /* room for "/t<id>" later */
        return -ENAMETOOLONG;
    stash_storage_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return -ENOMEM;
    if (mkdtemp(dir) == NULL) {
        stash_status status = -errno;
        free(pool);
        return status;
    }
    if ((pool->dir = strdup(dir)) == NULL) {
        rmdir(dir);
        free(pool);
        return -ENOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->max_open = max_open;
    pool->refs = 1;
    pool->creator = getpid();
    pool->open_list.next = pool->open_list.prev = &pool->open_list;
    registry_add(pool);
    *out = pool;
    return STASH_OK;
}

static void pool_unref(stash_storage_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    assert(pool->refs > 0);
    bool last = --pool->refs == 0;
    pthread_mutex_unlock(&pool->lock);
    if (!last)
        return;
    registry_remove(pool);
    remove_dir(pool->dir);
    pthread_mutex_destroy(&pool->lock);
    free(pool->dir);
    free(pool);
}

stash_status stash_storage_pool_close(stash_storage_pool **pool)
{
    if (pool == NULL || *pool == NULL)
        return STASH_OK;
    pool_unref(*pool);
    *pool = NULL;
    return STASH_OK;
}

size_t stash_storage_pool_open_count(stash_storage_pool *pool)
{
    if (pool == NULL)
        return 0;
    pthread_mutex_lock(&pool->lock);
    size_t count = pool->open_count;
    pthread_mutex_unlock(&pool->lock);
    return count;
}

/* ---- With pool->lock held ---------------------------------------------- */

static void list_remove(struct pool_slot *slot)
{
    assert(slot->prev->next == slot && slot->next->prev == slot); /* on the open list */
    slot->prev->next = slot->next;
    slot->next->prev = slot->prev;
}

static void list_push_front(stash_storage_pool *pool, struct pool_slot *slot)
{
    slot->next = pool->open_list.next;
    slot->prev = &pool->open_list;
    slot->next->prev = slot;
    pool->open_list.next = slot;
}

static void close_slot_fd(stash_storage_pool *pool, struct pool_slot *slot)
{
    assert(slot->fd >= 0 && slot->pins == 0 && pool->open_count > 0); /* never under a call */
    list_remove(slot);
    sysio_close(slot->fd);
    slot->fd = -1;
    pool->open_count--;
}

/* Closes the least recently used descriptor that is not pinned; false if
 * every open descriptor is mid-call. */
static bool evict_idle(stash_storage_pool *pool)
{
    struct pool_slot *victim = pool->open_list.prev;
    while (victim != &pool->open_list && victim->pins > 0)
        victim = victim->prev;
    if (victim == &pool->open_list)
        return false;
    close_slot_fd(pool, victim);
    return true;
}

/* Closes least recently used descriptors until one more may open. */
static stash_status make_room(stash_storage_pool *pool)
{
    while (pool->open_count >= pool->max_open)
        if (!evict_idle(pool))
            return STASH_E_BUSY; /* every open descriptor is mid-call */
    return STASH_OK;
}

static void slot_path(const struct pool_slot *slot, char *path, size_t size)
{
    snprintf(path, size, "%s/t%llu", slot->pool->dir, (unsigned long long)slot->id);
}

/*
 * The process (EMFILE) or the system (ENFILE) may run out of descriptors
 * before the pool reaches max_open: then the pool gives up its own idle ones,
 * least recently used first, as if max_open were lower. The retry drops
 * O_EXCL: Linux fails before it creates, but valgrind creates the file and
 * then refuses the descriptor, and the name is the slot's alone anyway.
 */
static stash_status open_slot_fd(struct pool_slot *slot, int flags)
{
    char path[PATH_MAX];
    assert(slot->fd < 0);
    stash_status status = make_room(slot->pool);
    if (status != STASH_OK)
        return status;
    slot_path(slot, path, sizeof path);
    int fd;
    while ((fd = open(path, flags | O_RDWR | O_CLOEXEC, 0600)) < 0) {
        int error = errno;
        if ((error != EMFILE && error != ENFILE) || !evict_idle(slot->pool))
            return -error;
        flags &= ~O_EXCL;
    }
    slot->fd = fd;
    list_push_front(slot->pool, slot);
    slot->pool->open_count++;
    assert(slot->pool->open_count <= slot->pool->max_open);
    return STASH_OK;
}

/* ---- Slots ------------------------------------------------------------- */

stash_status pool_slot_create(stash_storage_pool *pool, struct pool_slot **out)
{
    struct pool_slot *slot = calloc(1, sizeof *slot);
    if (slot == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&pool->lock);
    slot->pool = pool;
    slot->id = pool->next_id++;
    slot->fd = -1;
    stash_status status = open_slot_fd(slot, O_CREAT | O_EXCL);
    if (status == STASH_OK)
        pool->refs++;
    pthread_mutex_unlock(&pool->lock);
    if (status != STASH_OK) {
        free(slot);
        return status;
    }
    *out = slot;
    return STASH_OK;
}

stash_status pool_slot_acquire(struct pool_slot *slot, int *fd)
{
    stash_storage_pool *pool = slot->pool;
    stash_status status = STASH_OK;
    pthread_mutex_lock(&pool->lock);
    if (slot->fd < 0) {
        status = open_slot_fd(slot, 0);
    } else {
        list_remove(slot);
        list_push_front(pool, slot);
    }
    if (status == STASH_OK) {
        slot->pins++;
        *fd = slot->fd;
    }
    pthread_mutex_unlock(&pool->lock);
    return status;
}

void pool_slot_release(struct pool_slot *slot)
{
    pthread_mutex_lock(&slot->pool->lock);
    assert(slot->pins > 0 && slot->fd >= 0); /* a pinned descriptor stays open */
    slot->pins--;
    pthread_mutex_unlock(&slot->pool->lock);
}

stash_status pool_slot_destroy(struct pool_slot *slot)
{
    stash_storage_pool *pool = slot->pool;
    char path[PATH_MAX];
    stash_status status = STASH_OK;
    pthread_mutex_lock(&pool->lock);
    assert(slot->pins == 0); /* its stream is closing, so no call is under way */
    if (slot->fd >= 0)
        close_slot_fd(pool, slot);
    slot_path(slot, path, sizeof path);
    if (unlink(path) != 0)
        status = -errno;
    pthread_mutex_unlock(&pool->lock);
    free(slot);
    pool_unref(pool);
    return status;
}

static stash_status borrow_slot(void *slot, int *fd)
{
    return pool_slot_acquire(slot, fd);
}

static void give_back_slot(void *slot)
{
    pool_slot_release(slot);
}

static stash_status finish_slot(void *slot)
{
    return pool_slot_destroy(slot);
}

stash_status pool_slot_open_stream(struct pool_slot *slot, size_t buffer_bytes,
                                   stash_stream **out)
{
    const struct stream_fd_lender lender = {borrow_slot, give_back_slot, finish_slot, slot};
    stash_status status = stream_open_lent(&lender, buffer_bytes, out);
    if (status != STASH_OK)
        pool_slot_destroy(slot);
    return status;
}
