/*
 * pickle: delete and gc. Both hold the writers' lock, read every record,
 * and write the records they keep, byte for byte as they were, into a file
 * published over the old one (sysio_publish_output: aside, then rename),
 * so a reader sees the old file or the new one and never a part. The bytes
 * are copied, not pickled again, so records corelay wrote stay as it wrote
 * them.
 */
#include "store/store_pickle.h"
#include "core/sysio.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct rewrite {
    struct pickle_store *p;
    int fd;          /* the file as it is, open under the lock */
    bool torn;       /* a torn record at its end */
    uint64_t size;   /* its size */
    bool *keep;      /* per record */
    bool locked;
};

/* Copies each kept record from the old file into the new one. */
static stash_status write_kept(int out, void *ctx)
{
    const struct rewrite *rw = ctx;
    const struct pickle_index *ix = &rw->p->index;
    uint64_t at = 0;
    stash_status st = STASH_OK;
    for (size_t i = 0; i < ix->count && st == STASH_OK; i++) {
        if (!rw->keep[i])
            continue;
        size_t len = (size_t)(ix->records[i].end - ix->records[i].offset), got;
        char *buf = malloc(len ? len : 1);
        if (!buf)
            return -ENOMEM;
        st = sysio_pread_full(rw->fd, buf, len, ix->records[i].offset, &got);
        if (st == STASH_OK && got != len)
            st = STASH_E_TRUNCATED;
        if (st == STASH_OK)
            st = sysio_pwrite_full(out, buf, len, at, NULL);
        at += len;
        free(buf);
    }
    return st;
}

/* Under the lock: the file open and indexed from its start, nothing kept yet. */
static stash_status begin(struct pickle_store *p, struct rewrite *rw)
{
    *rw = (struct rewrite){.p = p, .fd = -1};
    stash_status st = pickle_lock(p);
    if (st != STASH_OK)
        return st;
    rw->locked = true;
    st = pickle_open_file(p, true, &rw->fd);
    struct stat about;
    if (st == STASH_OK && fstat(rw->fd, &about) != 0)
        st = -errno;
    if (st == STASH_OK) {
        rw->size = (uint64_t)about.st_size;
        pickle_index_reset(&p->index);
        st = pickle_index_update(&p->index, rw->fd, &rw->torn);
    }
    if (st == STASH_OK && !(rw->keep = calloc(p->index.count + 1, sizeof *rw->keep)))
        st = -ENOMEM;
    return st;
}

/* Publishes the kept records if publish, then lets go of everything. */
static stash_status end(struct rewrite *rw, stash_status st, bool publish)
{
    struct pickle_store *p = rw->p;
    if (st == STASH_OK && publish)
        st = sysio_publish_output(p->path, write_kept, rw,
                                  p->options.flags & STASH_STORE_DURABLE);
    pickle_index_reset(&p->index); /* a new file: read it afresh */
    stash_status closed = rw->fd >= 0 ? sysio_close(rw->fd) : STASH_OK;
    if (rw->locked)
        pickle_unlock(p);
    free(rw->keep);
    return st == STASH_OK ? closed : st;
}

/* The record number of the last record under the key in slot. */
static size_t last_of(const struct pickle_index *ix, size_t slot)
{
    int64_t n = -1;
    stash_value_get_int(stash_value_item(ix->keys, slot), &n);
    return (size_t)n;
}

stash_status pickle_remove(void *impl, const char *key)
{
    struct pickle_store *p = impl;
    if (p->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    struct rewrite rw;
    stash_status st = begin(p, &rw);
    const stash_value *n = st == STASH_OK ? stash_value_dict_get(p->index.keys, key) : NULL;
    if (st == STASH_OK && !n)
        st = STASH_E_NOT_FOUND;
    if (st == STASH_OK) {
        int64_t number = -1;
        stash_value_get_int(n, &number);
        size_t gone = p->index.records[number].slot;
        for (size_t i = 0; i < p->index.count; i++)
            rw.keep[i] = p->index.records[i].slot != gone;
    }
    return end(&rw, st, true);
}

/*
 * Keeps the last record of each key; with max_bytes, also drops the keys
 * put longest ago until the kept records fit. A torn record at the end goes
 * too. Nothing is written when nothing would change.
 */
stash_status pickle_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    struct pickle_store *p = impl;
    if (p->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    struct rewrite rw;
    stash_status st = begin(p, &rw);
    if (st != STASH_OK)
        return end(&rw, st, false);
    const struct pickle_index *ix = &p->index;
    uint64_t kept = 0;
    size_t keys = stash_value_length(ix->keys), dropped = 0;
    for (size_t slot = 0; slot < keys; slot++) {
        size_t i = last_of(ix, slot);
        rw.keep[i] = true;
        kept += ix->records[i].end - ix->records[i].offset;
    }
    *stats = (stash_store_gc_stats){.entries = keys, .bytes = rw.size,
                                    .swept_temps = rw.torn ? 1 : 0};
    for (size_t i = 0; i < ix->count && max_bytes && kept > max_bytes; i++) {
        if (!rw.keep[i])
            continue;
        rw.keep[i] = false;
        kept -= ix->records[i].end - ix->records[i].offset;
        stats->evicted_entries++;
    }
    for (size_t i = 0; i < ix->count; i++)
        dropped += !rw.keep[i];
    stats->evicted_bytes = rw.size - kept;
    return end(&rw, STASH_OK, dropped > 0 || rw.torn || kept != rw.size);
}
