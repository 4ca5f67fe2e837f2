/*
 * libFuzzer target: the NCO reader (stash_nco_open and what it hands out).
 *
 * The reader opens files by path, so every input is written to one temporary
 * file per process (rewritten with pwrite + ftruncate each run) and opened
 * from there. Each input is always opened with STASH_NCO_NO_INDEX (a walk of
 * the chain), mapped and with STASH_NCO_NO_MAP (read with pread); a hash of
 * the input then picks, deterministically, one of:
 *   - nothing more (29 in 32 inputs: walking is where the untrusted bytes
 *     go, and the index runs cost several file operations each);
 *   - the index stash would write (the walk's starts, valid checksum and the
 *     file's identity), which must be used and give what the walk gave;
 *   - a forged index with a valid checksum and the file's identity, listing
 *     every offset where "NCO" appears, so objects would be looked up at
 *     places no walk reaches (overlapping, nested, out of chain order): it
 *     must be used only if it lists exactly the chain;
 *   - a forged index that is damaged, stale or out of range in one of six
 *     ways, which must be ignored.
 * The sidecar is removed before and after each index run, so no run depends
 * on an earlier one.
 *
 * Invariants checked (abort() if violated):
 *   - info: file_bytes is the input's size, chain_end + tail_bytes ==
 *     file_bytes, and tail_status is STASH_OK exactly when the tail is empty
 *     or its first (up to 40) bytes are zeros; an open that succeeds found
 *     at least one object;
 *   - every object, whether walked or found through any index:
 *     start + 40 <= meta_start <= meta_end <= array_start <= array_end <=
 *     file_bytes; the first starts at 0, each starts where the previous
 *     array ends and the last ends at chain_end;
 *   - metadata bytes: the length is meta_end - meta_start and the bytes are
 *     the input's bytes there (which reads every one of them); every pointer
 *     from one open points into one mapping;
 *   - metadata tree: read or refused, never both; a refusal points at an
 *     opcode inside the pickle;
 *   - array: a valid description, its data (pointer + nbytes) inside
 *     [array_start, array_end) where the NPY header says it starts, and equal
 *     to the input's bytes there (read in full, summed, and swapped to native
 *     order in a copy);
 *   - index past the last object: STASH_E_NOT_FOUND from every accessor;
 *     missing arguments and unknown flags: STASH_E_INVALID, a NULL handle STASH_E_CLOSED;
 *   - a pread handle gives the walk's objects, STASH_E_UNSUPPORTED from the
 *     zero-copy calls, and copies equal to the input's bytes;
 *   - a failed open leaves *out alone and says why with a format error; the
 *     walk, a used index and a rejected one all give the same objects, the
 *     same results and the same info; no open writes the index.
 */
#define _POSIX_C_SOURCE 200809L

#include <stash/nco.h>
#include <stash/npy.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define check(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz_nco: %s:%d: invariant failed: %s\n", __FILE__, \
                    __LINE__, #cond);                                             \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* ---- The temporary file and its index sidecar ---------------------------- */

static char nco_path[4096], idx_path[4096 + 16];
static int nco_fd = -1;

static void remove_files(void)
{
    if (nco_fd >= 0)
        close(nco_fd);
    unlink(idx_path);
    unlink(nco_path);
}

static void setup(void)
{
    /* $TMPDIR, else memory if there is a tmpfs for it (several times faster). */
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    int n = snprintf(nco_path, sizeof nco_path, "%s/fuzz_nco.XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof nco_path)
        abort();
    nco_fd = mkstemp(nco_path);
    if (nco_fd < 0) {
        perror("fuzz_nco: mkstemp");
        abort();
    }
    snprintf(idx_path, sizeof idx_path, "%s.stashidx", nco_path);
    atexit(remove_files);
}

static void put_file(const uint8_t *data, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(nco_fd, data + done, size - done, (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            abort();
        done += (size_t)w;
    }
    if (ftruncate(nco_fd, (off_t)size) != 0)
        abort();
}

static void remove_index(void)
{
    if (unlink(idx_path) != 0 && errno != ENOENT)
        abort();
}

/* ---- What one open saw, to compare opens ----------------------------------- */

typedef struct summary {
    stash_status open_status;
    stash_nco_info info;
    uint64_t digest; /* over every object's offsets, statuses and bytes */
} summary;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return XXH3_64bits_withSeed(&v, sizeof v, h);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool is_format_error(stash_status s)
{
    return s == STASH_E_CORRUPT || s == STASH_E_VERSION || s == STASH_E_TRUNCATED ||
           s == STASH_E_RANGE;
}

/* Metadata: the bytes in the mapping, then the tree. Returns the mapping's base. */
static uintptr_t check_meta(const stash_nco *nco, size_t i, const stash_nco_object *o,
                            const uint8_t *data, uint64_t *digest)
{
    const void *pickle = NULL;
    size_t len = 0;
    check(stash_nco_meta_bytes(nco, i, &pickle, &len) == STASH_OK);
    check(pickle != NULL && len == o->meta_end - o->meta_start);
    check(memcmp(pickle, data + o->meta_start, len) == 0);
    *digest = mix(*digest, XXH3_64bits(pickle, len));

    stash_value *meta = NULL;
    stash_pickle_error err;
    memset(&err, 0xa5, sizeof err);
    stash_status st = stash_nco_meta(nco, i, &meta, &err);
    if (st == STASH_OK) {
        check(meta != NULL);
        stash_value_free(&meta);
    } else {
        check(meta == NULL);
        check(err.offset <= len);
        if (err.opcode == -1) /* the pickle ended before STOP */
            check(err.offset == len);
        else
            check(err.offset < len && data[o->meta_start + err.offset] == err.opcode);
    }
    *digest = mix(*digest, (uint64_t)(int64_t)st);
    return (uintptr_t)pickle - (uintptr_t)o->meta_start;
}

static uint64_t desc_digest(const stash_array_desc *d)
{
    uint64_t h = mix(mix(mix(mix(0, (uint64_t)d->dtype), (uint64_t)d->byte_order),
                         (uint64_t)d->order),
                     d->ndim);
    for (unsigned k = 0; k < d->ndim && k < STASH_ARRAY_MAX_DIMS; k++)
        h = mix(h, d->shape[k]);
    return h;
}

/* The array: where the NPY header says, inside the object, the input's bytes. */
static void check_array(const stash_nco *nco, size_t i, const stash_nco_object *o,
                        uintptr_t base, const uint8_t *data, uint64_t *digest)
{
    stash_array_desc desc;
    const void *ptr = NULL;
    stash_status st = stash_nco_array(nco, i, &desc, &ptr);
    stash_npy_header h;
    stash_status parsed = stash_npy_header_parse(data + o->array_start,
                                                 (size_t)(o->array_end - o->array_start), &h);
    *digest = mix(*digest, (uint64_t)(int64_t)st);
    if (parsed != STASH_OK) {
        check(st == parsed);
        return;
    }
    bool fits = o->array_end - o->array_start - h.data_offset >= h.data_bytes;
    check(st == (fits ? STASH_OK : STASH_E_TRUNCATED));
    if (st != STASH_OK)
        return;
    uint64_t nbytes = 0;
    check(stash_array_check(&desc) == STASH_OK);
    check(stash_array_nbytes(&desc, &nbytes) == STASH_OK && nbytes == h.data_bytes);
    check(desc.dtype == h.desc.dtype && desc.ndim == h.desc.ndim && desc.order == h.desc.order);
    uintptr_t p = (uintptr_t)ptr;
    check(p == base + o->array_start + h.data_offset);
    check(p >= base + o->array_start && p <= base + o->array_end);
    check(nbytes <= base + o->array_end - p);
    uint64_t at = o->array_start + h.data_offset;
    check(memcmp(ptr, data + at, (size_t)nbytes) == 0);
    uint64_t sum = 0;
    const uint8_t *bytes = ptr;
    for (uint64_t k = 0; k < nbytes; k++)
        sum = sum * 31 + bytes[k];
    *digest = mix(mix(*digest, sum), desc_digest(&desc));

    void *copy = malloc(nbytes ? (size_t)nbytes : 1);
    if (!copy)
        abort();
    memcpy(copy, ptr, (size_t)nbytes);
    stash_array_desc native = desc;
    check(stash_array_to_native(&native, copy) == STASH_OK);
    free(copy);
}

/* Everything an open hands out: the objects are the chain, however they were found. */
static void exercise(const stash_nco *nco, const uint8_t *data, size_t size, summary *out)
{
    stash_nco_info info;
    check(stash_nco_info_get(nco, &info) == STASH_OK);
    check(info.file_bytes == size);
    check(info.count > 0);
    check(info.index == STASH_NCO_INDEX_USED || info.index == STASH_NCO_INDEX_WALKED);
    check(info.chain_end <= info.file_bytes);
    check(info.chain_end + info.tail_bytes == info.file_bytes);
    size_t head = info.tail_bytes < STASH_NCO_HEADER_BYTES ? (size_t)info.tail_bytes
                                                           : STASH_NCO_HEADER_BYTES;
    check((info.tail_status == STASH_OK) == all_zero(data + info.chain_end, head));

    uint64_t digest = info.count, prev_end = 0;
    uintptr_t base = 0;
    bool have_base = false;
    for (size_t i = 0; i < info.count; i++) {
        stash_nco_object o;
        stash_status st = stash_nco_object_at(nco, i, &o);
        digest = mix(digest, (uint64_t)(int64_t)st);
        check(st == STASH_OK);
        check(o.start + STASH_NCO_HEADER_BYTES <= o.meta_start);
        check(o.meta_start <= o.meta_end && o.meta_end <= o.array_start);
        check(o.array_start <= o.array_end && o.array_end <= info.file_bytes);
        check(o.start == prev_end);
        check(memcmp(data + o.start, "NCO", 4) == 0); /* magic and version 0 */
        prev_end = o.array_end;
        digest = mix(mix(mix(mix(mix(digest, o.start), o.meta_start), o.meta_end),
                         o.array_start),
                     o.array_end);

        uintptr_t b = check_meta(nco, i, &o, data, &digest);
        check(!have_base || b == base);
        base = b;
        have_base = true;
        check_array(nco, i, &o, base, data, &digest);
    }
    check(info.chain_end == prev_end);

    /* One past the last object, and far past it. */
    size_t past[2] = {info.count, (size_t)-1};
    for (int k = 0; k < 2; k++) {
        stash_nco_object o;
        const void *p;
        size_t len;
        stash_array_desc desc;
        stash_value *meta = NULL;
        check(stash_nco_object_at(nco, past[k], &o) == STASH_E_NOT_FOUND);
        check(stash_nco_meta_bytes(nco, past[k], &p, &len) == STASH_E_NOT_FOUND);
        check(stash_nco_meta(nco, past[k], &meta, NULL) == STASH_E_NOT_FOUND && !meta);
        check(stash_nco_array(nco, past[k], &desc, &p) == STASH_E_NOT_FOUND);
    }
    out->info = info;
    out->digest = digest;
}

/* Refusals of bad arguments, on an open file. */
static void check_arguments(stash_nco *nco)
{
    stash_nco *none = NULL;
    stash_nco_object o;
    const void *p;
    size_t len;
    stash_array_desc desc;
    stash_nco_info info;
    check(stash_nco_open(nco_path, ~(unsigned)STASH_NCO_NO_INDEX, &none) == STASH_E_INVALID);
    check(stash_nco_open(NULL, 0, &none) == STASH_E_INVALID && none == NULL);
    check(stash_nco_open(nco_path, 0, NULL) == STASH_E_INVALID);
    check(stash_nco_info_get(nco, NULL) == STASH_E_INVALID);
    check(stash_nco_info_get(NULL, &info) == STASH_E_CLOSED);
    check(stash_nco_object_at(nco, 0, NULL) == STASH_E_INVALID);
    check(stash_nco_object_at(NULL, 0, &o) == STASH_E_CLOSED);
    check(stash_nco_meta_bytes(nco, 0, NULL, &len) == STASH_E_INVALID);
    check(stash_nco_meta_bytes(nco, 0, &p, NULL) == STASH_E_INVALID);
    check(stash_nco_meta(nco, 0, NULL, NULL) == STASH_E_INVALID);
    check(stash_nco_array(nco, 0, NULL, &p) == STASH_E_INVALID);
    check(stash_nco_array(nco, 0, &desc, NULL) == STASH_E_INVALID);
    stash_nco_close(NULL);
    stash_nco_close(&none);
}

/* Opens the file, checks what the open hands out, and closes it. */
static void open_and_check(const uint8_t *data, size_t size, unsigned flags, summary *out)
{
    static char sentinel;
    stash_nco *const untouched = (stash_nco *)(void *)&sentinel;
    stash_nco *nco = untouched;
    memset(out, 0, sizeof *out);
    out->open_status = stash_nco_open(nco_path, flags, &nco);
    if (out->open_status != STASH_OK) {
        check(nco == untouched);
        check(out->open_status == -ENOMEM || is_format_error(out->open_status));
        check(size > 0 || out->open_status == STASH_E_CORRUPT); /* empty: not an NCO file */
        return;
    }
    check(nco != NULL && nco != untouched);
    exercise(nco, data, size, out);
    check_arguments(nco);
    stash_nco_close(&nco);
    check(nco == NULL);
}

static bool same(const summary *a, const summary *b)
{
    if (a->open_status != b->open_status)
        return false;
    if (a->open_status != STASH_OK)
        return true;
    return a->info.count == b->info.count && a->info.file_bytes == b->info.file_bytes &&
           a->info.chain_end == b->info.chain_end && a->info.tail_bytes == b->info.tail_bytes &&
           a->info.tail_status == b->info.tail_status && a->digest == b->digest;
}

/* ---- Forged indexes (the layout of src/nco/nco_index.c) ------------------------ */

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Every offset where "NCO" starts: strictly increasing, inside the file. */
static size_t magic_offsets(const uint8_t *data, size_t size, uint64_t **out)
{
    size_t n = 0;
    uint64_t *list = malloc((size / 3 + 1) * sizeof *list);
    if (!list)
        abort();
    for (size_t i = 0; i + 3 <= size; i++)
        if (data[i] == 'N' && data[i + 1] == 'C' && data[i + 2] == 'O')
            list[n++] = i;
    *out = list;
    return n;
}

/* How a forged index is made: valid, or wrong in one way the reader must catch. */
enum forgery {
    FORGE_VALID,
    FORGE_BAD_CHECKSUM,
    FORGE_STALE,       /* another file size */
    FORGE_BAD_VERSION, /* checksum right */
    FORGE_BAD_COUNT,   /* checksum right */
    FORGE_PAST_END,    /* checksum right, one more start at the file's end */
    FORGE_SHORT,       /* cut off inside an entry or the header */
    FORGE_KINDS
};

static void write_index(const uint64_t *starts, size_t n, uint64_t size, enum forgery how)
{
    struct stat st;
    if (fstat(nco_fd, &st) != 0)
        abort();
    size_t entries = n + (how == FORGE_PAST_END);
    size_t bytes = 64 + entries * 8;
    unsigned char *buf = calloc(1, bytes);
    if (!buf)
        abort();
    memcpy(buf, "STASHIDX", 8);
    put_le(buf + 8, how == FORGE_BAD_VERSION ? 2 : 1, 4);
    put_le(buf + 16, (uint64_t)st.st_size + (how == FORGE_STALE), 8);
    put_le(buf + 24, (uint64_t)st.st_ino, 8);
    put_le(buf + 32, (uint64_t)st.st_mtim.tv_sec, 8);
    put_le(buf + 40, (uint64_t)st.st_mtim.tv_nsec, 8);
    put_le(buf + 48, entries + (how == FORGE_BAD_COUNT), 8);
    for (size_t i = 0; i < n; i++)
        put_le(buf + 64 + 8 * i, starts[i], 8);
    if (how == FORGE_PAST_END)
        put_le(buf + 64 + 8 * n, size, 8);
    uint64_t sum = XXH3_64bits_withSeed(buf + 64, entries * 8, XXH3_64bits(buf, 56));
    put_le(buf + 56, sum ^ (how == FORGE_BAD_CHECKSUM), 8);
    if (how == FORGE_SHORT)
        bytes -= 3;
    int fd = open(idx_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    size_t done = 0;
    while (done < bytes) {
        ssize_t w = write(fd, buf + done, bytes - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            abort();
        done += (size_t)w;
    }
    close(fd);
    free(buf);
}

/* ---- A pread handle ------------------------------------------------------------ */

/* Object o's array read through a pread handle: the status and bytes a mapping gives. */
static void check_array_copy(const stash_nco *nco, size_t i, const stash_nco_object *o,
                             const uint8_t *data)
{
    stash_array_desc desc;
    void *copy = NULL;
    stash_status st = stash_nco_array_read(nco, i, &desc, &copy);
    stash_npy_header h;
    stash_status want = stash_npy_header_parse(data + o->array_start,
                                               (size_t)(o->array_end - o->array_start), &h);
    if (want == STASH_OK && o->array_end - o->array_start - h.data_offset < h.data_bytes)
        want = STASH_E_TRUNCATED;
    check(st == want || (st == -ENOMEM && want == STASH_OK));
    if (st != STASH_OK) {
        check(copy == NULL);
        return;
    }
    check(desc.dtype == h.desc.dtype && desc.ndim == h.desc.ndim);
    check(memcmp(copy, data + o->array_start + h.data_offset, (size_t)h.data_bytes) == 0);
    free(copy);
    const void *view = NULL;
    check(stash_nco_array(nco, i, &desc, &view) == STASH_E_UNSUPPORTED && view == NULL);
}

/* Opened with STASH_NCO_NO_MAP, the file gives the walk's objects, as copies of the input. */
static void check_pread_handle(const uint8_t *data, const summary *walked)
{
    stash_nco *nco = NULL;
    stash_status st = stash_nco_open(nco_path, STASH_NCO_NO_MAP | STASH_NCO_NO_INDEX, &nco);
    check(st == walked->open_status || st == -ENOMEM || walked->open_status == -ENOMEM);
    if (st != STASH_OK)
        return;
    stash_nco_info info;
    check(stash_nco_info_get(nco, &info) == STASH_OK);
    check(info.count == walked->info.count && info.chain_end == walked->info.chain_end &&
          info.tail_status == walked->info.tail_status);
    for (size_t i = 0; i < info.count; i++) {
        stash_nco_object o;
        check(stash_nco_object_at(nco, i, &o) == STASH_OK);
        void *pickle = NULL;
        size_t len = 0;
        st = stash_nco_meta_bytes_read(nco, i, &pickle, &len);
        check(st == STASH_OK || st == -ENOMEM);
        if (st == STASH_OK)
            check(len == o.meta_end - o.meta_start &&
                  memcmp(pickle, data + o.meta_start, len) == 0);
        free(pickle);
        const void *view = NULL;
        check(stash_nco_meta_bytes(nco, i, &view, &len) == STASH_E_UNSUPPORTED && !view);
        check_array_copy(nco, i, &o, data);
    }
    stash_nco_close(&nco);
}

/* ---- The target ------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (nco_fd < 0)
        setup();
    put_file(data, size);

    summary walked, other;
    open_and_check(data, size, STASH_NCO_NO_INDEX, &walked);
    check(walked.open_status != STASH_OK || walked.info.index == STASH_NCO_INDEX_WALKED);
    check_pread_handle(data, &walked);

    uint64_t mode = XXH3_64bits(data, size) % 32;
    if (mode < 29)
        return 0;

    remove_index();
    uint64_t *starts;
    size_t n;
    enum forgery how = FORGE_VALID;
    if (mode == 29) { /* the index stash would write: the walk's starts */
        stash_nco *nco = NULL;
        n = 0;
        starts = malloc(sizeof *starts * (walked.info.count + 1));
        if (!starts)
            abort();
        if (walked.open_status == STASH_OK &&
            stash_nco_open(nco_path, STASH_NCO_NO_INDEX, &nco) == STASH_OK) {
            for (; n < walked.info.count; n++) {
                stash_nco_object o;
                check(stash_nco_object_at(nco, n, &o) == STASH_OK);
                starts[n] = o.start;
            }
            stash_nco_close(&nco);
        }
    } else {
        n = magic_offsets(data, size, &starts);
        if (mode == 31)
            how = (enum forgery)(1 + size % (FORGE_KINDS - 1));
    }
    write_index(starts, n, size, how);
    open_and_check(data, size, 0, &other);
    /* Used or not, an index changes nothing but speed (the digest holds every start). */
    check(same(&walked, &other));
    if (other.open_status == STASH_OK && other.info.index == STASH_NCO_INDEX_USED)
        check(how == FORGE_VALID && n == other.info.count);
    if (mode == 29 && walked.open_status == STASH_OK) /* the genuine index is used */
        check(other.info.index == STASH_NCO_INDEX_USED);
    free(starts);
    remove_index();
    return 0;
}
