/*
 * The ring's header page: planned from a configuration, written once at
 * creation, and checked field by field by every attacher, which trusts
 * nothing in it (another process, or a damaged file, may have written it).
 */
#include "ring/ring_layout.h"
#include "core/utf8.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint32_t round_up(uint64_t n, uint32_t granule)
{
    return (uint32_t)((n + granule - 1) / granule * granule);
}

/* Bytes of cfg's strings (labels or units) with their NULs; 0 if one is too long. */
static uint64_t strings_bytes(const char *const *strings, uint32_t channels)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < channels; i++) {
        size_t len = strings && strings[i] ? strlen(strings[i]) : 0;
        if (len > STASH_RING_LABEL_MAX || (len && !utf8_is_valid(strings[i], len)))
            return 0;
        total += len + 1;
    }
    return total;
}

/* The frame and data sizes for a geometry, overflow-checked. */
static stash_status size_data(uint32_t channels, stash_dtype dtype, uint64_t capacity,
                              bool pocket, uint32_t *frame_bytes, uint64_t *data_bytes)
{
    size_t item = stash_dtype_size(dtype);
    if (item == 0)
        return STASH_E_DTYPE;
    if (channels == 0 || channels > STASH_RING_MAX_CHANNELS || capacity == 0)
        return STASH_E_RANGE;
    uint64_t frame = (uint64_t)channels * item; /* at most 2^16 x 16: no overflow */
    uint64_t copies = pocket ? 2 : 1;
    if (capacity > STASH_RING_MAX_DATA_BYTES / frame / copies)
        return STASH_E_RANGE;
    *frame_bytes = (uint32_t)frame;
    *data_bytes = capacity * frame * copies;
    return STASH_OK;
}

stash_status ring_geometry_plan(const stash_ring_config *cfg, bool pocket,
                                struct ring_geometry *geo)
{
    if (cfg->dtype < 0 || cfg->dtype >= STASH_DTYPE_COUNT)
        return STASH_E_DTYPE;
    if (!isfinite(cfg->rate_hz) || cfg->rate_hz < 0)
        return STASH_E_INVALID;
    if (cfg->first_sample >= RING_COUNT_MAX)
        return STASH_E_RANGE;
    struct ring_geometry g = {.channels = cfg->channels, .dtype = cfg->dtype,
                              .capacity = cfg->capacity_samples, .rate_hz = cfg->rate_hz,
                              .pocket = pocket};
    stash_status st = size_data(g.channels, g.dtype, g.capacity, pocket, &g.frame_bytes,
                                &g.data_bytes);
    if (st != STASH_OK)
        return st;
    uint64_t labels = strings_bytes(cfg->labels, g.channels);
    uint64_t units = strings_bytes(cfg->units, g.channels);
    if (labels == 0 || units == 0)
        return STASH_E_INVALID; /* a string too long or not UTF-8 */
    if (RING_META_OFFSET + labels + units > RING_HEADER_MAX)
        return STASH_E_RANGE;
    g.meta_bytes = (uint32_t)(labels + units);
    /* Whole pages of this host, so the data can be mapped on its own (read-only for readers). */
    uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
    uint32_t granule = page > RING_HEADER_GRANULE ? page : RING_HEADER_GRANULE;
    g.header_bytes = round_up(RING_META_OFFSET + g.meta_bytes, granule);
    *geo = g;
    return STASH_OK;
}

static char *put_strings(char *at, const char *const *strings, uint32_t channels)
{
    for (uint32_t i = 0; i < channels; i++) {
        const char *s = strings && strings[i] ? strings[i] : "";
        size_t len = strlen(s) + 1;
        memcpy(at, s, len);
        at += len;
    }
    return at;
}

void ring_dtype_field(stash_dtype dtype, char field[8])
{
    stash_array_desc desc;
    stash_array_desc_init(&desc, dtype, 0, NULL);
    char descr[STASH_DESCR_MAX];
    stash_array_descr(&desc, descr);
    memset(field, 0, 8);
    memcpy(field, descr, strnlen(descr, 7));
}

void ring_header_fill(void *page, const struct ring_geometry *geo, const stash_ring_config *cfg)
{
    struct ring_header *h = page;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    memcpy(h->magic, RING_MAGIC, sizeof h->magic);
    h->version = RING_VERSION;
    h->header_bytes = geo->header_bytes;
    h->channels = geo->channels;
    h->frame_bytes = geo->frame_bytes;
    ring_dtype_field(geo->dtype, h->dtype);
    h->capacity_samples = geo->capacity;
    h->data_bytes = geo->data_bytes;
    h->flags = geo->pocket ? RING_FLAG_POCKET : 0;
    h->meta_bytes = geo->meta_bytes;
    h->rate_hz = geo->rate_hz;
    h->created_unix_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    /* The count starts at the first sample; nothing before it was ever written. */
    atomic_store_explicit(&h->written, cfg->first_sample, memory_order_relaxed);
    atomic_store_explicit(&h->announced, cfg->first_sample, memory_order_relaxed);
    atomic_store_explicit(&h->valid_from, cfg->first_sample, memory_order_relaxed);
    char *meta = (char *)page + RING_META_OFFSET;
    put_strings(put_strings(meta, cfg->labels, geo->channels), cfg->units, geo->channels);
}

/* ---- Checking ------------------------------------------------------------------------ */

stash_status ring_meta_split(const char *block, uint32_t meta_bytes, uint32_t channels,
                             const char **strings)
{
    const char *at = block, *end = block + meta_bytes;
    for (uint64_t i = 0; i < 2 * (uint64_t)channels; i++) {
        const char *nul = memchr(at, '\0', (size_t)(end - at));
        if (nul == NULL || nul - at > (ptrdiff_t)STASH_RING_LABEL_MAX ||
            !utf8_is_valid(at, (size_t)(nul - at)))
            return STASH_E_CORRUPT;
        strings[i] = at;
        at = nul + 1;
    }
    return at == end ? STASH_OK : STASH_E_CORRUPT;
}

static bool all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

stash_status ring_dtype_parse(const char field[8], stash_dtype *dtype)
{
    size_t len = strnlen(field, 8);
    if (len == 8 || !all_zero(field + len, 8 - len))
        return STASH_E_CORRUPT;
    stash_byte_order order;
    stash_status st = stash_array_parse_descr(field, len, dtype, &order);
    if (st == STASH_OK && order != STASH_LITTLE_ENDIAN && stash_dtype_size(*dtype) > 1)
        st = STASH_E_DTYPE;
    return st;
}

static stash_status check_fixed(const struct ring_header *h, uint64_t object_bytes,
                                struct ring_geometry *g)
{
    if (h->header_bytes < RING_HEADER_GRANULE || h->header_bytes > RING_HEADER_MAX ||
        h->header_bytes % RING_HEADER_GRANULE || (h->flags & ~RING_FLAGS_KNOWN) ||
        !isfinite(h->rate_hz) || h->rate_hz < 0)
        return STASH_E_CORRUPT;
    g->header_bytes = h->header_bytes;
    g->pocket = h->flags & RING_FLAG_POCKET;
    g->rate_hz = h->rate_hz;
    stash_status st = ring_dtype_parse(h->dtype, &g->dtype);
    if (st == STASH_OK)
        st = size_data(h->channels, g->dtype, h->capacity_samples, g->pocket, &g->frame_bytes,
                       &g->data_bytes);
    if (st == STASH_E_RANGE)
        st = STASH_E_CORRUPT; /* a header claiming sizes no ring can have */
    if (st != STASH_OK)
        return st;
    if (g->frame_bytes != h->frame_bytes || g->data_bytes != h->data_bytes ||
        h->meta_bytes > h->header_bytes - RING_META_OFFSET)
        return STASH_E_CORRUPT;
    if (object_bytes < (uint64_t)h->header_bytes + h->data_bytes)
        return STASH_E_TRUNCATED;
    g->channels = h->channels;
    g->capacity = h->capacity_samples;
    g->meta_bytes = h->meta_bytes;
    return STASH_OK;
}

/* The counters as they stand: the writer never lets them disagree like this. */
static stash_status check_counters(const struct ring_header *h)
{
    /*
     * In the order that keeps a live writer's counters consistent: a put
     * and a skip store announced before written (release), and a skip
     * stores announced before valid_from (release), so each load below sees
     * an announced at least as recent as the count before it.
     */
    uint64_t valid_from = atomic_load_explicit(&h->valid_from, memory_order_acquire);
    uint64_t written = atomic_load_explicit(&h->written, memory_order_acquire);
    uint64_t announced = atomic_load_explicit(&h->announced, memory_order_relaxed);
    uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_relaxed);
    /* valid_from against announced: a takeover moves valid_from first, then written. */
    if (announced < written || valid_from > announced || announced > RING_COUNT_MAX ||
        state > RING_WRITER_DETACHED)
        return STASH_E_CORRUPT;
    return STASH_OK;
}

stash_status ring_header_check(const void *page, size_t header_len, uint64_t object_bytes,
                               struct ring_geometry *geo)
{
    const struct ring_header *h = page;
    if (header_len < sizeof h->magic)
        return STASH_E_CORRUPT; /* not a ring: too short to say so */
    if (all_zero(h->magic, sizeof h->magic) && header_len >= sizeof *h)
        return STASH_E_BUSY;
    if (memcmp(h->magic, RING_MAGIC, sizeof h->magic) != 0)
        return STASH_E_CORRUPT;
    if (header_len < sizeof *h)
        return STASH_E_TRUNCATED;
    if (h->version != RING_VERSION)
        return STASH_E_VERSION;
    struct ring_geometry g;
    stash_status st = check_fixed(h, object_bytes, &g);
    if (st == STASH_OK && header_len < g.header_bytes)
        st = STASH_E_TRUNCATED;
    if (st == STASH_OK)
        st = check_counters(h);
    if (st == STASH_OK)
        *geo = g;
    return st;
}
