/*
 * hdf5: listing every key with its stored size.
 *
 * The file does not record where a key ends: a key "a/b" holding 1 and a key
 * "a" holding the dict {"b": 1} are the same objects. So the listing names
 * the deepest keys that hold the data: each dataset, each group with a
 * stash:type word (a list or tuple), each HashedHDF5 entry (a content key)
 * and each empty group, reached through plain groups. Every key listed can
 * be got, and together they cover every value in the file; soft and
 * external links are listed too, with 0 bytes, so that they can be seen,
 * though a get refuses them.
 *
 * The file is untrusted, as in the reader: only hard links are followed, a
 * group with more than one hard link is listed but not entered (it could be
 * its own ancestor), nesting is bounded by STASH_VALUE_MAX_DEPTH, and names
 * that are not one link name are skipped.
 */
#include "store/store_hdf5_value.h"
#include "store/store_internal.h"

#include <stash/hash.h>

#include <stdio.h>
#include <string.h>

struct walk {
    stash_store_list_fn fn;
    void *ctx;
    const char *skip_prefix; /* puts in progress */
    char key[STASH_STORE_KEY_MAX + 1]; /* of the object being visited */
    unsigned depth;                    /* of that object: 0 at the top */
    stash_status status;
};

static bool object_info(hid_t loc, const char *name, H5O_type_t *type, unsigned *links)
{
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return false;
#else
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return false;
#endif
    *type = info.type;
    *links = info.rc;
    return true;
}

/* The bytes the datasets under object name in loc hold in the file. */
static uint64_t stored_bytes(hid_t loc, const char *name, unsigned depth);

static herr_t add_member_bytes(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    struct {
        unsigned depth;
        uint64_t bytes;
    } *sum = ctx;
    if (info->type == H5L_TYPE_HARD && !strchr(name, '/'))
        sum->bytes += stored_bytes(g, name, sum->depth + 1);
    return 0;
}

static uint64_t stored_bytes(hid_t loc, const char *name, unsigned depth)
{
    H5O_type_t type;
    unsigned links;
    if (depth > STASH_VALUE_MAX_DEPTH || !object_info(loc, name, &type, &links))
        return 0;
    uint64_t bytes = 0;
    if (type == H5O_TYPE_DATASET) {
        hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
        bytes = ds >= 0 ? (uint64_t)H5Dget_storage_size(ds) : 0;
        if (ds >= 0)
            H5Dclose(ds);
    } else if (type == H5O_TYPE_GROUP && (links == 1 || depth == 0)) {
        struct {
            unsigned depth;
            uint64_t bytes;
        } sum = {depth, 0};
        hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
        if (g >= 0) {
            H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, add_member_bytes, &sum);
            H5Gclose(g);
        }
        bytes = sum.bytes;
    }
    return bytes;
}

/* Whether the group name in loc is where a value starts rather than a path to one. */
static bool group_is_value(hid_t loc, const char *name, bool top)
{
    hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
    if (g < 0)
        return true;
    H5G_info_t info;
    bool empty = H5Gget_info(g, &info) < 0 || info.nlinks == 0;
    htri_t typed = H5Aexists(g, H5V_TYPE_ATTRIBUTE);
    H5Gclose(g);
    return typed != 0 || empty || (top && stash_key_is_content(name));
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *ctx);

/* Lists name in loc, whose key is w->key: as one value, or the keys below it. */
static void list_object(struct walk *w, hid_t loc, const char *name)
{
    H5O_type_t type;
    unsigned links;
    if (!object_info(loc, name, &type, &links))
        return;
    if (type != H5O_TYPE_GROUP || links != 1 || w->depth >= STASH_VALUE_MAX_DEPTH ||
        group_is_value(loc, name, w->depth == 0)) {
        w->status = w->fn(w->ctx, w->key, stored_bytes(loc, name, 0));
        return;
    }
    hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
    if (g < 0)
        return;
    w->depth++;
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, w);
    w->depth--;
    H5Gclose(g);
}

/* One member of a group on the way: its key is the group's key, "/", its name. */
static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    struct walk *w = ctx;
    size_t len = strlen(w->key), n = strlen(name);
    bool top = len == 0;
    if (strchr(name, '/') || strcmp(name, ".") == 0 ||
        strncmp(name, w->skip_prefix, strlen(w->skip_prefix)) == 0)
        return 0;
    if (len + !top + n > STASH_STORE_KEY_MAX)
        return 0; /* no key can name it */
    if (!top)
        w->key[len] = '/';
    memcpy(w->key + len + !top, name, n + 1);
    if (info->type == H5L_TYPE_HARD)
        list_object(w, g, name);
    else /* a soft or external link: shown, never followed (a get refuses it) */
        w->status = w->fn(w->ctx, w->key, 0);
    w->key[len] = '\0';
    return w->status == STASH_OK ? 0 : 1;
}

stash_status h5v_list(hid_t file, const char *skip_prefix, stash_store_list_fn fn, void *ctx)
{
    struct walk w = {.fn = fn, .ctx = ctx, .skip_prefix = skip_prefix, .status = STASH_OK};
    if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &w) < 0 && w.status == STASH_OK)
        return STASH_E_CORRUPT;
    return w.status;
}
