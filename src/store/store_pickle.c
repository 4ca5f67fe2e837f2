/*
 * The pickle: backend: one file in corelay's PickleStorage format, records
 * {"data": value, "key": key} pickled one after another (docs/store.md,
 * "pickle: files"). The last record of a key is its value.
 *
 * Writers take a lock file beside the file ("PATH.lock") alone, append one
 * whole record with one pwrite and, before that, cut a record a killed
 * writer left torn at the end. Readers take no lock: a record being
 * appended, or torn, ends in the middle of a pickle, which the reader
 * reports as STASH_E_TRUNCATED, so it is left out. delete and gc write the
 * records they keep into a new file and rename it over the old one
 * (store_pickle_rewrite.c).
 *
 * Each handle keeps an index of the records it has read (store_pickle.h),
 * so a get after the first reads only the records appended since, then
 * its own record.
 */
#include "store/store_pickle.h"
#include "core/sysio.h"
#include "value/pickle_internal.h"
#include "value/value_internal.h"
#include "core/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* What corelay's pickle.dump writes: Python's default protocol since 3.8. */
#define RECORD_PROTOCOL 4

/* ---- The index ------------------------------------------------------------------- */

void pickle_index_reset(struct pickle_index *ix)
{
    stash_value_free(&ix->keys);
    free(ix->records);
    *ix = (struct pickle_index){0};
}

/* The key of a record, which must be a dict with a str "key" and a "data". */
static stash_status record_key(const stash_value *record, const char **key)
{
    const stash_value *k = stash_value_dict_get(record, "key");
    size_t len;
    if (stash_value_kind_of(record) != STASH_VALUE_DICT || !k ||
        !stash_value_dict_get(record, "data") || stash_value_get_string(k, key, &len) != STASH_OK)
        return STASH_E_CORRUPT;
    return strlen(*key) == len ? STASH_OK : STASH_E_CORRUPT; /* no NUL inside */
}

static int64_t record_number(const stash_value *n)
{
    int64_t i = -1;
    stash_value_get_int(n, &i);
    return i;
}

static stash_status add_record(struct pickle_index *ix, const char *key, uint64_t offset,
                               uint64_t end)
{
    if (ix->count == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        struct pickle_record *r = realloc(ix->records, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        ix->records = r;
        ix->cap = cap;
    }
    const stash_value *last = stash_value_dict_get(ix->keys, key);
    size_t slot = last ? ix->records[record_number(last)].slot : stash_value_length(ix->keys);
    stash_value *number = NULL;
    stash_status st = stash_value_new_int((int64_t)ix->count, &number);
    if (st == STASH_OK)
        st = stash_value_dict_set(ix->keys, key, number);
    if (st != STASH_OK) {
        stash_value_free(&number);
        return st;
    }
    ix->records[ix->count++] = (struct pickle_record){offset, end, slot};
    return STASH_OK;
}

/* Keys shorter than this are copied into the caller's buffer, not allocated. */
#define SMALL_KEY 256

/*
 * The key and length of the record at buf[0..len): skimmed (pickle_skim.c),
 * or, where the skim cannot tell the key, read in full. *key is small or
 * allocated (free it if it is not small).
 */
static stash_status scan_record(const char *buf, size_t len, size_t *used, char **key,
                                char small[SMALL_KEY])
{
    const char *literal;
    size_t n;
    stash_status st = pickle_skim_record(buf, len, used, &literal, &n);
    if (st != STASH_OK)
        return st;
    if (literal && utf8_is_valid(literal, n) && !memchr(literal, '\0', n)) {
        *key = n < SMALL_KEY ? small : malloc(n + 1);
        if (!*key)
            return -ENOMEM;
        memcpy(*key, literal, n);
        (*key)[n] = '\0';
        return STASH_OK;
    }
    stash_value *record = NULL;
    const char *found;
    st = stash_pickle_read(buf, *used, NULL, &record, NULL);
    if (st == STASH_OK)
        st = record_key(record, &found);
    if (st == STASH_OK && !(*key = strdup(found)))
        st = -ENOMEM;
    stash_value_free(&record);
    return st;
}

/* Indexes the whole records in buf[0..len), which starts at ix->end. */
static stash_status index_records(struct pickle_index *ix, const char *buf, size_t len,
                                  bool *torn)
{
    stash_status st = STASH_OK;
    size_t pos = 0;
    while (pos < len && st == STASH_OK) {
        size_t used = 0;
        char *key = NULL, small[SMALL_KEY];
        st = scan_record(buf + pos, len - pos, &used, &key, small);
        if (st == STASH_E_TRUNCATED) {
            *torn = true; /* the end of the file cuts this record: it is not there yet */
            return STASH_OK;
        }
        if (st == STASH_OK)
            st = add_record(ix, key, ix->end, ix->end + used);
        if (key != small)
            free(key);
        if (st == STASH_OK) {
            pos += used;
            ix->end += used;
        }
    }
    return st;
}

stash_status pickle_index_update_to(struct pickle_index *ix, int fd, const struct stat *about,
                                    bool *torn)
{
    bool ignored;
    torn = torn ? torn : &ignored;
    *torn = false;
    uint64_t size = (uint64_t)about->st_size;
    if (!ix->valid || about->st_dev != ix->dev || about->st_ino != ix->ino || size < ix->end) {
        pickle_index_reset(ix);
        stash_status st = stash_value_new_dict(&ix->keys);
        if (st != STASH_OK)
            return st;
        *ix = (struct pickle_index){.valid = true, .dev = about->st_dev, .ino = about->st_ino,
                                    .keys = ix->keys};
    }
    if (size == ix->end)
        return STASH_OK;
    if (size - ix->end > SIZE_MAX / 2)
        return STASH_E_LIMIT;
    size_t len = (size_t)(size - ix->end), got;
    char *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    stash_status st = sysio_pread_full(fd, buf, len, ix->end, &got);
    if (st == STASH_OK)
        st = index_records(ix, buf, got, torn);
    free(buf);
    return st;
}

stash_status pickle_index_update(struct pickle_index *ix, int fd, bool *torn)
{
    struct stat about;
    if (fstat(fd, &about) != 0)
        return -errno;
    return pickle_index_update_to(ix, fd, &about, torn);
}

/* ---- Files and the lock ---------------------------------------------------------- */

stash_status pickle_lock(struct pickle_store *p)
{
    if (p->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    return sysio_flock(p->lock_fd, LOCK_EX);
}

void pickle_unlock(struct pickle_store *p)
{
    flock(p->lock_fd, LOCK_UN);
}

stash_status pickle_open_file(const struct pickle_store *p, bool write, int *fd)
{
    return sysio_open_regular(AT_FDCWD, p->path, write ? O_RDWR : O_RDONLY, fd);
}

static stash_status open_lock(struct pickle_store *p, bool read_only)
{
    char lock[PATH_MAX];
    int n = snprintf(lock, sizeof lock, "%s.lock", p->path);
    if (n < 0 || (size_t)n >= sizeof lock)
        return -ENAMETOOLONG;
    /* The lock is the store's own: never a link, never a FIFO to hang on. */
    int flags = O_NOFOLLOW | (read_only ? O_RDONLY : O_RDWR | O_CREAT);
    stash_status st = sysio_open_regular(AT_FDCWD, lock, flags, &p->lock_fd);
    if (st != STASH_OK)
        p->lock_fd = -1;
    if (st == -ELOOP || st == STASH_E_NOT_FILE)
        return STASH_E_CORRUPT;
    return st == -ENOENT && read_only ? STASH_OK : st;
}

/* The file exists, or is created empty (an empty file is a store with no records). */
static stash_status ensure_file(struct pickle_store *p, bool read_only)
{
    stash_status st = read_only ? STASH_OK : sysio_flock(p->lock_fd, LOCK_EX);
    if (st != STASH_OK)
        return st;
    int fd;
    st = sysio_open_regular(AT_FDCWD, p->path, read_only ? O_RDONLY : O_RDWR | O_CREAT, &fd);
    if (st == STASH_OK)
        st = sysio_close(fd);
    if (!read_only)
        pickle_unlock(p);
    return st;
}

/*
 * The file for reading, and the index brought up to it: one stat of the path
 * tells whether the descriptor kept from the last read still names the file
 * (delete and gc put a new one in its place) and how long it is now.
 */
static stash_status reader(struct pickle_store *p, int *fd)
{
    struct stat about;
    if (stat(p->path, &about) != 0)
        return -errno;
    if (p->read_fd < 0 || about.st_dev != p->read_dev || about.st_ino != p->read_ino) {
        int fresh;
        stash_status st = pickle_open_file(p, false, &fresh);
        if (st != STASH_OK)
            return st;
        if (fstat(fresh, &about) != 0) {
            st = -errno;
            sysio_close(fresh);
            return st;
        }
        if (p->read_fd >= 0)
            sysio_close(p->read_fd);
        p->read_fd = fresh;
        p->read_dev = about.st_dev;
        p->read_ino = about.st_ino;
    }
    *fd = p->read_fd;
    return pickle_index_update_to(&p->index, p->read_fd, &about, NULL);
}

static stash_status pickle_close(void *impl)
{
    struct pickle_store *p = impl;
    if (!p)
        return STASH_OK;
    stash_status st = p->lock_fd >= 0 ? sysio_close(p->lock_fd) : STASH_OK;
    stash_status read_closed = p->read_fd >= 0 ? sysio_close(p->read_fd) : STASH_OK;
    st = st == STASH_OK ? read_closed : st;
    pickle_index_reset(&p->index);
    free(p->record_buf);
    free(p->path);
    free(p);
    return st;
}

stash_status store_pickle_open(const char *path, const stash_store_options *options, void **impl)
{
    bool read_only = options->flags & STASH_STORE_READ_ONLY;
    if (!*path || options->max_bytes)
        return STASH_E_INVALID; /* a size limit is kept by gc, not by puts */
    struct stat about;
    if (stat(path, &about) == 0 && S_ISDIR(about.st_mode))
        return -EISDIR; /* said before a lock file is made beside it */
    struct pickle_store *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return -ENOMEM;
    }
    p->options = *options;
    p->lock_fd = -1;
    p->read_fd = -1;
    stash_status st = open_lock(p, read_only);
    if (st == STASH_OK)
        st = ensure_file(p, read_only);
    if (st != STASH_OK) {
        pickle_close(p);
        return st;
    }
    *impl = p;
    return STASH_OK;
}

/* ---- Putting ----------------------------------------------------------------------- */

/* The record {"data": value, "key": key}, in a growable memory stream. */
static stash_status encode_record(const char *key, const stash_value *value, stash_stream **s)
{
    static const char *const names[] = {"data", "key"};
    stash_value *k = NULL;
    stash_status st = stash_value_new_string(key, strlen(key), &k);
    if (st == STASH_OK)
        st = stash_stream_open_growable(256, s);
    if (st == STASH_OK) {
        const stash_value *const values[] = {value, k};
        st = pickle_write_dict(*s, RECORD_PROTOCOL, 2, names, values);
    }
    stash_value_free(&k);
    if (st != STASH_OK)
        stash_stream_close(s);
    return st;
}

/*
 * Under the lock: cuts a torn record (its writer is dead, since writers hold
 * the lock), then appends the record with one pwrite. A failed write is cut
 * back, so no part of it stays.
 */
static stash_status append(struct pickle_store *p, int fd, const char *key, const void *bytes,
                           size_t len)
{
    bool torn;
    stash_status st = pickle_index_update(&p->index, fd, &torn);
    if (st == STASH_OK && torn && ftruncate(fd, (off_t)p->index.end) != 0)
        st = -errno;
    if (st != STASH_OK)
        return st;
    uint64_t at = p->index.end;
    st = sysio_pwrite_full(fd, bytes, len, at, NULL);
    if (st == STASH_OK && (p->options.flags & STASH_STORE_DURABLE) && fsync(fd) != 0)
        st = -errno;
    if (st != STASH_OK) {
        if (ftruncate(fd, (off_t)at) != 0)
            pickle_index_reset(&p->index); /* the next writer cuts it */
        return st;
    }
    st = add_record(&p->index, key, at, at + len);
    if (st == STASH_OK)
        p->index.end = at + len;
    else
        pickle_index_reset(&p->index); /* read again next time */
    return STASH_OK; /* the record is in the file whatever the index says */
}

static stash_status pickle_put(void *impl, const char *key, const stash_value *value)
{
    struct pickle_store *p = impl;
    if (p->options.flags & STASH_STORE_READ_ONLY)
        return STASH_E_NOT_WRITABLE;
    stash_stream *s = NULL;
    const void *bytes;
    size_t len;
    stash_status st = encode_record(key, value, &s);
    if (st == STASH_OK)
        st = stash_stream_memory_contents(s, &bytes, &len);
    if (st == STASH_OK)
        st = pickle_lock(p);
    if (st == STASH_OK) {
        int fd;
        st = pickle_open_file(p, true, &fd);
        if (st == STASH_OK) {
            st = append(p, fd, key, bytes, len);
            stash_status closed = sysio_close(fd);
            st = st == STASH_OK ? closed : st;
        }
        pickle_unlock(p);
    }
    stash_stream_close(&s);
    return st;
}

/* ---- Reading ----------------------------------------------------------------------- */

/* The number of key's last record in the index. */
static stash_status find(const struct pickle_store *p, const char *key, size_t *number)
{
    const stash_value *n = stash_value_dict_get(p->index.keys, key);
    if (!n)
        return STASH_E_NOT_FOUND;
    *number = (size_t)record_number(n);
    return STASH_OK;
}

/* Record r's "data", which must be key's (else the file changed under the index). */
static stash_status read_record(struct pickle_store *p, int fd, const struct pickle_record *r,
                                const char *key, stash_value **out)
{
    size_t len = (size_t)(r->end - r->offset), got;
    if (len > p->record_cap) {
        char *grown = realloc(p->record_buf, len);
        if (!grown)
            return -ENOMEM;
        p->record_buf = grown;
        p->record_cap = len;
    }
    stash_value *record = NULL;
    const char *found;
    stash_status st = sysio_pread_full(fd, p->record_buf, len, r->offset, &got);
    if (st == STASH_OK)
        st = got == len ? stash_pickle_read(p->record_buf, len, NULL, &record, NULL)
                        : STASH_E_TRUNCATED;
    if (st == STASH_OK)
        st = record_key(record, &found);
    if (st == STASH_OK && strcmp(found, key) != 0)
        st = STASH_E_CORRUPT;
    stash_value *data = NULL;
    if (st == STASH_OK) {
        data = (stash_value *)stash_value_dict_get(record, "data");
        value_retain(data); /* outlives the record, as store_entry.c's values do */
    }
    stash_value_free(&record);
    /* Out of the record and held by no one else, the tree is the caller's to change. */
    if (st == STASH_OK)
        st = value_unshare(&data);
    if (st == STASH_OK && data->refs == 1)
        data->frozen = false;
    if (st == STASH_OK)
        *out = data;
    else
        stash_value_free(&data);
    return st;
}

static stash_status get_once(struct pickle_store *p, const char *key, stash_value **out)
{
    int fd = -1;
    size_t number;
    stash_status st = reader(p, &fd);
    if (st == STASH_OK)
        st = find(p, key, &number);
    if (st == STASH_OK)
        st = read_record(p, fd, &p->index.records[number], key, out);
    return st;
}

static stash_status pickle_get(void *impl, const char *key, stash_value **out)
{
    struct pickle_store *p = impl;
    stash_status st = get_once(p, key, out);
    if (st == STASH_E_CORRUPT || st == STASH_E_TRUNCATED) {
        /* A file rewritten in place (corelay's "w" mode) can keep its inode
         * and grow past the index: read it afresh once before believing it. */
        pickle_index_reset(&p->index);
        st = get_once(p, key, out);
    }
    return st;
}

static stash_status pickle_has(void *impl, const char *key)
{
    struct pickle_store *p = impl;
    int fd;
    size_t number;
    stash_status st = reader(p, &fd);
    return st == STASH_OK ? find(p, key, &number) : st;
}

/* Each key stash can name, with the size of its last record, in first-put order. */
static stash_status pickle_list(void *impl, stash_store_list_fn fn, void *ctx)
{
    struct pickle_store *p = impl;
    int fd;
    stash_status st = reader(p, &fd);
    const stash_value *keys = p->index.keys;
    for (size_t i = 0; i < stash_value_length(keys) && st == STASH_OK; i++) {
        const char *key;
        stash_value_dict_key(keys, i, &key, NULL);
        const struct pickle_record *r = &p->index.records[record_number(stash_value_item(keys, i))];
        if (store_key_check(key) == STASH_OK)
            st = fn(ctx, key, r->end - r->offset);
    }
    return st;
}

const struct store_ops store_pickle_ops = {
    .name = "pickle",
    .put = pickle_put,
    .put_memo = NULL,
    .get = pickle_get,
    .has = pickle_has,
    .remove = pickle_remove,
    .list = pickle_list,
    .gc = pickle_gc,
    .close = pickle_close,
};
