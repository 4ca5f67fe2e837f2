/*
 * NCO headers and the chain of objects: the checks every offset passes
 * before anything reads through it (docs/nco.md, "What a reader checks").
 */
#include "nco/nco_internal.h"

#include <stash/bytes.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char magic[3] = {'N', 'C', 'O'};

void nco_header_encode(const stash_nco_object *o, unsigned char out[STASH_NCO_HEADER_BYTES])
{
    memset(out, 0, STASH_NCO_HEADER_BYTES);
    memcpy(out, magic, sizeof magic);
    out[3] = STASH_NCO_VERSION;
    stash_bytes_store_u64le(out + 8, o->meta_start);
    stash_bytes_store_u64le(out + 16, o->meta_end);
    stash_bytes_store_u64le(out + 24, o->array_start);
    stash_bytes_store_u64le(out + 32, o->array_end);
}

bool nco_header_is_blank(const unsigned char *hdr, size_t avail)
{
    size_t n = avail < STASH_NCO_HEADER_BYTES ? avail : STASH_NCO_HEADER_BYTES;
    for (size_t i = 0; i < n; i++)
        if (hdr[i])
            return false;
    return true;
}

stash_status nco_header_decode(const unsigned char *hdr, size_t avail, uint64_t start,
                               uint64_t file_bytes, stash_nco_object *out)
{
    if (avail < sizeof magic + 1)
        return STASH_E_TRUNCATED;
    if (memcmp(hdr, magic, sizeof magic) != 0)
        return STASH_E_CORRUPT;
    if (hdr[3] != STASH_NCO_VERSION)
        return STASH_E_VERSION;
    if (avail < STASH_NCO_HEADER_BYTES)
        return STASH_E_TRUNCATED;
    stash_nco_object o = {start, stash_bytes_load_u64le(hdr + 8), stash_bytes_load_u64le(hdr + 16),
                          stash_bytes_load_u64le(hdr + 24), stash_bytes_load_u64le(hdr + 32)};
    /* In order: header < metadata <= array, each range forward. */
    if (o.meta_start < start + STASH_NCO_HEADER_BYTES || o.meta_end < o.meta_start ||
        o.array_start < o.meta_end || o.array_end < o.array_start)
        return STASH_E_RANGE;
    if (o.array_end > file_bytes)
        return STASH_E_TRUNCATED;
    *out = o;
    return STASH_OK;
}

stash_status nco_describe_tail(const stash_nco *nco, uint64_t end, stash_nco_info *info,
                               bool *object_after)
{
    uint64_t file_bytes = nco_file_bytes(nco);
    info->chain_end = end;
    info->tail_bytes = file_bytes - end;
    info->tail_status = STASH_OK;
    *object_after = false;
    if (info->tail_bytes == 0)
        return STASH_OK;
    unsigned char head[NCO_HEAD_BYTES];
    size_t avail;
    stash_status status = nco_head_at(nco, end, head, &avail);
    stash_nco_object o;
    if (status == STASH_OK && !nco_header_is_blank(head, avail)) {
        info->tail_status = nco_header_decode(head, avail, end, file_bytes, &o);
        *object_after = info->tail_status == STASH_OK;
    }
    return status;
}

stash_status nco_walk(const stash_nco *nco, uint64_t **starts, size_t *count,
                      stash_nco_info *info)
{
    uint64_t file_bytes = nco_file_bytes(nco), *list = NULL, at = 0;
    size_t n = 0, cap = 0;
    unsigned char head[NCO_HEAD_BYTES];
    size_t avail = 0;
    stash_status why = STASH_OK;
    while (at < file_bytes) {
        stash_nco_object o;
        why = nco_head_at(nco, at, head, &avail);
        if (why != STASH_OK) { /* the file shrank under a pread handle */
            free(list);
            return why;
        }
        why = nco_header_decode(head, avail, at, file_bytes, &o);
        if (why != STASH_OK)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                free(list);
                return -ENOMEM;
            }
            list = grown;
        }
        list[n++] = at;
        at = o.array_end; /* > at: the chain only moves forward */
    }
    /* nengo's reader fails on a bad first object, and so does this one; a
     * blank first header is a first append that never committed. */
    if (n == 0 && file_bytes > 0 && !nco_header_is_blank(head, avail)) {
        free(list);
        return why;
    }
    bool object_after;
    stash_status status = nco_describe_tail(nco, at, info, &object_after);
    if (status != STASH_OK) {
        free(list);
        return status;
    }
    *starts = list;
    *count = n;
    return STASH_OK;
}
