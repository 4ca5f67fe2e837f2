/*
 * libFuzzer target: reading values out of an HDF5 file (h5v_read), the path
 * every get from an hdf5: store takes through untrusted bytes.
 *
 * The input is not the file's bytes. libhdf5 (1.10.8 here) does not survive
 * corrupt metadata. Fed raw file images (STASH_FUZZ_HDF5_IMAGE=1, below) for
 * 60 s it leaked object header images in H5Fopen, H5Oopen and H5Lget_info,
 * crashed freeing link messages in H5Literate (symbol-table, compact and
 * dense groups alike) and reading in H5F__accum_read, asked for impossible
 * allocations in H5C_protect, and hung in H5Dread of one variable-length
 * string (looping in H5HG_read): all inside its own decoders, before stash
 * sees anything, where no check of stash's can run first. So each
 * input is a short program that builds a file through HDF5's own API, in
 * memory: groups and datasets of every type class, shape, layout and filter,
 * stash:type attributes of any form and word, hard links that make loops,
 * DAGs and aliases, soft and external links, named types. What a hostile
 * writer can forge where HDF5 keeps it unchecksummed is forged into the
 * image afterwards: member names holding '/' or equal to "." in a
 * symbol-table group's heap. The image is then opened read-only, as a store
 * opens its file, and every top-level name is read as a get reads a key: the
 * name, then NAME/data with numbered groups as tuples (a HashedHDF5 entry).
 *
 * The program, byte by byte (input that runs out reads as zeros):
 *   flags          bit 0: the root group tracks creation order;
 *                  bit 1: the latest format (v2 object headers, checksummed)
 *   then up to MAX_OPS operations, an opcode (mod 8) and its operands:
 *   0 group NAME G     a group in the current one, entered; G bit 0: track
 *                      creation order; bit 1: fill it with members "0", "1",
 *                      ... (G >> 2) % 16 + 1 of them, bit 6: in reverse
 *   1 up               back to the parent group
 *   2 dataset NAME TYPE SPACE LAYOUT [DATA]
 *   3 word FORM WORD   a stash:type attribute on the last object made
 *   4 hard NAME N      a hard link to the N-th object made (0 is the root)
 *   5 soft NAME T      a soft link, to an object made or to a string
 *   6 external NAME FILE PATH
 *   7 type NAME TYPE   a named (committed) datatype
 * NAME and strings: a length byte (mod 32) and that many bytes. TYPE, SPACE
 * and LAYOUT: see make_type, make_space and make_dataset.
 *
 * Invariants checked (abort() if violated): a read either fails or returns a
 * tree; a returned tree can be hashed and compared with itself, and every
 * array in it lies within the bytes allocated for it (its bytes are summed,
 * so a short buffer would fault under ASan); no read follows an external link
 * (their class is replaced by one whose traversal aborts); no HDF5 identifier
 * opened by a read is left open; the file closes, no identifier at all
 * outlives the input, and everything is freed without leaks.
 *
 * STASH_FUZZ_HDF5_IMAGE=1 in the environment reads each input as a raw file
 * image instead: for replaying an image and for checking whether a newer
 * libhdf5 survives raw fuzzing. Not run by scripts/fuzz or CI.
 * STASH_FUZZ_HDF5_SAVE=PATH writes each built image to PATH, so an input
 * that fails can become a real file (stash store get hdf5:PATH KEY).
 */
#include "store/store_hdf5_value.h"
#include "fuzz_touch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 48
#define MAX_STACK 16
#define MAX_OBJECTS 64
#define MAX_PATH 512
#define MAX_FORGED 8
#define NAME_BYTES 40 /* a name of up to 31 bytes, or the placeholder filling its heap slot */
#define MAX_TOP_NAMES 64
#define TOP_NAME_BYTES 256
#define MAX_WRITTEN_BYTES (64 * 1024)
#define MAX_WRITTEN_ITEMS 64 /* variable-length elements */
#define MAX_EARLY_BYTES (1024 * 1024)

/* ---- Reading: what the store's get does, and the invariants ----------------------------- */

struct names {
    char text[MAX_TOP_NAMES][TOP_NAME_BYTES];
    bool hard[MAX_TOP_NAMES];
    size_t len;
};

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)g;
    struct names *n = ctx;
    if (n->len == MAX_TOP_NAMES)
        return 1;
    /* The store checks a key one component at a time; a name with '/' is not one. */
    if (strchr(name, '/') || strlen(name) + sizeof "/data" > TOP_NAME_BYTES)
        return 0;
    strcpy(n->text[n->len], name);
    n->hard[n->len++] = info->type == H5L_TYPE_HARD;
    return 0;
}

static void read_and_check(hid_t file, const char *name, bool tuple_if_numbered)
{
    stash_value *v = NULL;
    stash_status st = h5v_read(file, name, tuple_if_numbered, &v);
    if (H5Fget_obj_count(file, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE |
                                   H5F_OBJ_ATTR | H5F_OBJ_LOCAL) != 0)
        abort(); /* the reader closed every HDF5 object it opened */
    fuzz_check_value(st, &v);
}

static bool reading; /* in read_image: no external link may be followed */

static void read_image(const void *image, size_t size)
{
    if (size == 0)
        return; /* the core driver would read the named file from disk */
    reading = true;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl, (void *)image, size) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)
        abort();
    hid_t file = H5Fopen("fuzz-read.h5", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (file >= 0) {
        static struct names names;
        names.len = 0;
        H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, &names);
        for (size_t i = 0; i < names.len; i++) {
            read_and_check(file, names.text[i], false);
            if (names.hard[i]) {
                strcat(names.text[i], "/data");
                read_and_check(file, names.text[i], true);
            }
        }
        H5Fclose(file);
    }
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        abort();
    reading = false;
}

/* ---- Building: the program's interpreter ------------------------------------------------ */

struct forged {
    char placeholder[NAME_BYTES], name[NAME_BYTES];
    char group[MAX_PATH];
};

struct builder {
    const uint8_t *p;
    size_t left;
    bool latest;
    hid_t file;
    hid_t stack[MAX_STACK]; /* stack[0] is the root group */
    bool tracked[MAX_STACK];
    char stack_path[MAX_STACK][MAX_PATH];
    int depth;
    char objects[MAX_OBJECTS][MAX_PATH];
    size_t nobjects;
    char last[MAX_PATH]; /* where a word goes */
    struct forged forged[MAX_FORGED];
    size_t nforged;
};

static unsigned byte(struct builder *b)
{
    if (!b->left)
        return 0;
    b->left--;
    return *b->p++;
}

/* A length byte (mod 32) and that many bytes, NULs made '_'. */
static void string(struct builder *b, char out[32])
{
    size_t len = byte(b) % 32, i = 0;
    for (; i < len && b->left; i++) {
        unsigned c = byte(b);
        out[i] = c ? (char)c : '_';
    }
    out[i] = '\0';
}

/*
 * A name for a new link in the current group into out. HDF5's API refuses
 * names holding '/' and ".", which a forged file can hold: in a symbol-table
 * group (not tracking creation order, not the latest format) the link is
 * made under a unique placeholder, swapped in the image later. The group's
 * heap keeps names NUL-padded to 8 bytes, so the placeholder fills the slot
 * the name will take and the name needs no other change. Elsewhere names
 * are checksummed, so such characters become '_'. False if there is no name.
 */
static bool link_name(struct builder *b, char out[NAME_BYTES])
{
    string(b, out);
    size_t len = strlen(out);
    if (len == 0)
        return false;
    if (!strchr(out, '/') && strcmp(out, ".") != 0)
        return true;
    if (b->latest || b->tracked[b->depth] || b->nforged == MAX_FORGED) {
        for (char *c = out; *c; c++)
            if (*c == '/' || *c == '.')
                *c = '_';
        return true;
    }
    struct forged *f = &b->forged[b->nforged];
    size_t slot = ((len + 1 + 7) & ~(size_t)7) - 1;
    memset(f->name, 0, sizeof f->name);
    strcpy(f->name, out);
    memset(f->placeholder, 0x7f, slot);
    f->placeholder[1] = (char)(0x80 + b->nforged);
    f->placeholder[slot] = '\0';
    strcpy(f->group, b->stack_path[b->depth]);
    b->nforged++;
    strcpy(out, f->placeholder);
    return true;
}

/* Records the object just made as path/name, the target of hard links and words. */
static void made(struct builder *b, const char *name)
{
    const char *parent = b->stack_path[b->depth];
    int n = snprintf(b->last, MAX_PATH, "%s/%s", strcmp(parent, "/") ? parent : "", name);
    if (n < 0 || n >= MAX_PATH) {
        strcpy(b->last, "/");
        return;
    }
    if (b->nobjects < MAX_OBJECTS)
        strcpy(b->objects[b->nobjects++], b->last);
}

enum data_kind { DATA_FIXED, DATA_VLEN_STRING, DATA_VLEN_SEQ, DATA_NONE };

static hid_t integer_type(unsigned v)
{
    hid_t bases[] = {H5T_STD_I8LE, H5T_STD_I16LE, H5T_STD_I32LE, H5T_STD_I64LE,
                     H5T_STD_U8LE, H5T_STD_U16LE, H5T_STD_U32LE, H5T_STD_U64LE};
    hid_t t = H5Tcopy(bases[v % 8]);
    if (v & 8)
        H5Tset_order(t, H5T_ORDER_BE);
    if (v & 16)
        H5Tset_precision(t, 8 * H5Tget_size(t) - 1); /* a padded integer */
    if ((v & 48) == 48)
        H5Tset_offset(t, 1);
    return t;
}

static hid_t float_type(unsigned v)
{
    hid_t t;
    switch ((v & 7) % 6) {
    case 0: t = H5Tcopy(H5T_IEEE_F32LE); break;
    case 1: t = H5Tcopy(H5T_IEEE_F64LE); break;
    case 2: /* IEEE half, as stash writes it */
        t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, 15);
        break;
    case 3: /* not IEEE: a wider exponent */
        t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 31, 20, 11, 0, 20);
        break;
    case 4: t = H5Tcopy(H5T_NATIVE_LDOUBLE); break;
    default: t = H5Tcopy(H5T_IEEE_F64BE); break;
    }
    if (v & 8)
        H5Tset_order(t, H5T_ORDER_BE);
    return t;
}

/* h5py's bool (FALSE = 0, TRUE = 1 over int8) and near misses. */
static hid_t enum_type(struct builder *b, unsigned v)
{
    hid_t t = H5Tenum_create((v & 8) ? H5T_NATIVE_INT16 : H5T_NATIVE_INT8);
    int16_t no = (v & 2) ? 1 : 0, yes = (v & 2) ? 0 : 1, maybe = 2;
    int8_t no8 = (int8_t)no, yes8 = (int8_t)yes, maybe8 = 2;
    bool wide = v & 8;
    char name[32] = "FALSE";
    if (v & 16)
        string(b, name);
    H5Tenum_insert(t, name[0] ? name : "F", wide ? (void *)&no : (void *)&no8);
    H5Tenum_insert(t, "TRUE", wide ? (void *)&yes : (void *)&yes8);
    if (v & 4)
        H5Tenum_insert(t, "MAYBE", wide ? (void *)&maybe : (void *)&maybe8);
    return t;
}

/* h5py's complex ({r, i} of one float type, packed) and near misses. */
static hid_t complex_type(unsigned v)
{
    size_t part = (v & 1) ? 8 : 4;
    hid_t r = H5Tcopy((v & 1) ? H5T_IEEE_F64LE : H5T_IEEE_F32LE);
    hid_t i = H5Tcopy((v & 16) ? H5T_IEEE_F64LE : (v & 1) ? H5T_IEEE_F64LE : H5T_IEEE_F32LE);
    if (v & 2) {
        H5Tset_order(r, H5T_ORDER_BE);
        H5Tset_order(i, H5T_ORDER_BE);
    }
    size_t isize = H5Tget_size(i), size = part + isize + ((v & 4) ? 8 : 0);
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    H5Tinsert(t, (v & 8) ? "i" : "r", 0, r);
    H5Tinsert(t, (v & 8) ? "r" : "i", (v & 32) ? size - isize : part, i);
    H5Tclose(r);
    H5Tclose(i);
    return t;
}

static hid_t string_type(unsigned v, unsigned size, bool variable)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, variable ? H5T_VARIABLE : 1 + size % 40);
    H5Tset_cset(t, (v & 1) ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    H5Tset_strpad(t, (v >> 1) % 3 == 0 ? H5T_STR_NULLTERM
                     : (v >> 1) % 3 == 1 ? H5T_STR_NULLPAD : H5T_STR_SPACEPAD);
    return t;
}

/* TYPE: a class byte (mod 10), a variant byte, and for some classes more. */
static hid_t make_type(struct builder *b, enum data_kind *kind)
{
    unsigned c = byte(b), v = byte(b);
    *kind = DATA_FIXED;
    switch (c % 10) {
    case 0: return integer_type(v);
    case 1: return float_type(v);
    case 2: return enum_type(b, v);
    case 3: return complex_type(v);
    case 4: {
        hid_t t = H5Tcreate(H5T_COMPOUND, 16);
        H5Tinsert(t, "a", 0, H5T_STD_I32LE);
        H5Tinsert(t, "b", 8, H5T_IEEE_F64LE);
        return t;
    }
    case 5: return string_type(v, byte(b), false);
    case 6: *kind = DATA_VLEN_STRING; return string_type(v, 0, true);
    case 7: *kind = DATA_VLEN_SEQ; return H5Tvlen_create(H5T_STD_I32LE);
    case 8: {
        hsize_t dims[1] = {1 + v % 3};
        return H5Tarray_create2(H5T_STD_I32LE, 1, dims);
    }
    default:
        if (v % 3 == 0) {
            hid_t t = H5Tcreate(H5T_OPAQUE, 1 + v % 8);
            H5Tset_tag(t, "fuzz");
            return t;
        }
        if (v % 3 == 1)
            return H5Tcopy(H5T_STD_B16LE);
        *kind = DATA_NONE;
        return H5Tcopy(H5T_STD_REF_OBJ);
    }
}

/* One dimension: below 0xf0 mod 64, else 2**24 .. 2**54 (never written). */
static hsize_t dimension(unsigned d)
{
    return d < 0xf0 ? d % 64 : (hsize_t)1 << (24 + (d - 0xf0) * 2);
}

/*
 * SPACE: a class byte: mod 8, 0 or 1 scalar, 2 null, else simple, its rank
 * (mod 5; from 0xf0 up, 28 to 35, past what HDF5 or stash take) and the
 * dimensions, one byte each. *count is the number of elements (saturating).
 */
static hid_t make_space(struct builder *b, hsize_t *count)
{
    unsigned c = byte(b);
    if (c % 8 < 2) {
        *count = 1;
        return H5Screate(H5S_SCALAR);
    }
    if (c % 8 == 2) {
        *count = 0;
        return H5Screate(H5S_NULL);
    }
    unsigned r = byte(b);
    int rank = r < 0xf0 ? (int)(r % 5) : 28 + (int)(r % 8);
    hsize_t dims[40];
    *count = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = dimension(byte(b));
        *count = dims[i] && *count > UINT64_MAX / dims[i] ? UINT64_MAX : *count * dims[i];
    }
    return H5Screate_simple(rank, dims, NULL);
}

/* Input bytes, repeated, as n bytes of element data. */
static void fill(struct builder *b, unsigned char *data, size_t n)
{
    unsigned char pattern[64];
    size_t len = byte(b) % sizeof pattern, i;
    for (i = 0; i < len && b->left; i++)
        pattern[i] = (unsigned char)byte(b);
    len = i;
    for (size_t k = 0; k < n; k++)
        data[k] = len ? pattern[k % len] : 0;
}

/*
 * DATA: for fixed-size elements a pattern (a length byte mod 64, then that
 * many bytes) repeated over the dataset's bytes, if it holds at most 64 KiB;
 * for variable-length strings a string per element, for sequences a length
 * byte (mod 5) per element, if there are at most 64.
 */
static void write_data(struct builder *b, hid_t ds, hid_t type, enum data_kind kind, hsize_t count)
{
    size_t size = H5Tget_size(type);
    if (kind == DATA_FIXED && size && count <= MAX_WRITTEN_BYTES / size) {
        static unsigned char data[MAX_WRITTEN_BYTES];
        fill(b, data, (size_t)count * size);
        H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    } else if (kind == DATA_VLEN_STRING && count <= MAX_WRITTEN_ITEMS) {
        static char text[MAX_WRITTEN_ITEMS][32];
        char *items[MAX_WRITTEN_ITEMS];
        for (hsize_t i = 0; i < count; i++) {
            string(b, text[i]);
            items[i] = text[i];
        }
        H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, items);
    } else if (kind == DATA_VLEN_SEQ && count <= MAX_WRITTEN_ITEMS) {
        static int32_t numbers[4] = {1, -2, 3, -4};
        hvl_t items[MAX_WRITTEN_ITEMS];
        for (hsize_t i = 0; i < count; i++)
            items[i] = (hvl_t){byte(b) % 5, numbers};
        H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, items);
    }
}

/*
 * LAYOUT: bits 0-1 contiguous, compact, chunked (twice: a byte per
 * dimension follows, the chunk's size - 1, mod 16); with chunks, bit 2 deflate, 3 shuffle, 4
 * fletcher32; bit 5 write data (then DATA); 6 allocate early (small only);
 * 7 never write fill values.
 */
static void make_dataset(struct builder *b)
{
    char name[NAME_BYTES];
    enum data_kind kind;
    hsize_t count;
    bool named = link_name(b, name);
    hid_t type = make_type(b, &kind), space = make_space(b, &count);
    unsigned layout = byte(b);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    size_t size = type >= 0 ? H5Tget_size(type) : 0;
    bool small = size && count <= MAX_EARLY_BYTES / size;
    if ((layout & 3) == 1)
        H5Pset_layout(dcpl, H5D_COMPACT);
    if ((layout & 3) >= 2 && space >= 0 && H5Sget_simple_extent_type(space) == H5S_SIMPLE) {
        int rank = H5Sget_simple_extent_ndims(space);
        hsize_t dims[40], chunk[40], unlimited[40];
        H5Sget_simple_extent_dims(space, dims, NULL);
        for (int i = 0; i < rank && i < 40; i++) {
            chunk[i] = 1 + byte(b) % 16;
            unlimited[i] = H5S_UNLIMITED;
        }
        H5Sset_extent_simple(space, rank, dims, unlimited);
        H5Pset_chunk(dcpl, rank, chunk);
        if (layout & 4)
            H5Pset_deflate(dcpl, 1);
        if (layout & 8)
            H5Pset_shuffle(dcpl);
        if (layout & 16)
            H5Pset_fletcher32(dcpl);
    }
    if ((layout & 64) && small)
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (layout & 128)
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t ds = named && type >= 0 && space >= 0
                   ? H5Dcreate2(b->stack[b->depth], name, type, space, H5P_DEFAULT, dcpl,
                                H5P_DEFAULT)
                   : H5I_INVALID_HID;
    if (ds >= 0) {
        made(b, name);
        if (layout & 32)
            write_data(b, ds, type, kind, count);
        H5Dclose(ds);
    }
    H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
}

static void make_group(struct builder *b)
{
    char name[NAME_BYTES];
    bool named = link_name(b, name);
    unsigned g = byte(b);
    if (!named || b->depth + 1 == MAX_STACK)
        return;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (g & 1)
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t group = H5Gcreate2(b->stack[b->depth], name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (group < 0)
        return;
    made(b, name);
    b->depth++;
    b->stack[b->depth] = group;
    b->tracked[b->depth] = g & 1;
    strcpy(b->stack_path[b->depth], b->last);
    if (g & 2) {
        unsigned n = (g >> 2) % 16 + 1;
        hid_t space = H5Screate(H5S_SCALAR);
        for (unsigned i = 0; i < n; i++) {
            char member[8];
            unsigned k = (g & 64) ? n - 1 - i : i;
            snprintf(member, sizeof member, "%u", k);
            hid_t ds = H5Dcreate2(group, member, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT);
            int64_t value = k;
            if (ds >= 0) {
                H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
                H5Dclose(ds);
            }
        }
        H5Sclose(space);
    }
}

/*
 * FORM (mod 6): fixed string scalar (a size byte follows), variable string
 * scalar, fixed string array, variable string array, int64 scalar, fixed
 * string with no elements. WORD: a byte below 0xc0 picks a known word
 * (mod 8), else a string follows.
 */
static void make_word(struct builder *b)
{
    static const char *words[] = {"tuple", "list", "bytes", "null", "array", "dict", "", "frob"};
    unsigned form = byte(b) % 6, w = byte(b), cset = byte(b);
    char word[32];
    if (w < 0xc0)
        strcpy(word, words[w % 8]);
    else
        string(b, word);
    unsigned extra = form == 0 ? byte(b) % 4 : 0;
    hsize_t n = form == 2 || form == 3 ? 1 + cset % 3 : 1;
    hid_t obj = H5Oopen(b->file, b->last, H5P_DEFAULT);
    hid_t type = form == 4   ? H5Tcopy(H5T_STD_I64LE)
                 : form == 1 || form == 3 ? string_type(cset, 0, true)
                                          : string_type(cset, 0, false);
    size_t size = strlen(word) + extra > 0 ? strlen(word) + extra : 1;
    if (form != 1 && form != 3 && form != 4)
        H5Tset_size(type, size);
    hid_t space = form == 5 ? H5Screate(H5S_NULL)
                  : form == 2 || form == 3 ? H5Screate_simple(1, &n, NULL)
                                           : H5Screate(H5S_SCALAR);
    hid_t a = obj >= 0 ? H5Acreate2(obj, H5V_TYPE_ATTRIBUTE, type, space, H5P_DEFAULT, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    if (a >= 0 && form != 5) {
        char fixed[3 * 40];
        char *items[3] = {word, word, word};
        int64_t number = 3;
        for (size_t i = 0; i < 3; i++)
            strncpy(fixed + i * size, word, size);
        H5Awrite(a, type, form == 4 ? (void *)&number
                          : form == 1 || form == 3 ? (void *)items : (void *)fixed);
    }
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    if (obj >= 0)
        H5Oclose(obj);
}

static void make_link(struct builder *b, unsigned op)
{
    char name[NAME_BYTES], file[32], path[32];
    bool named = link_name(b, name);
    hid_t here = b->stack[b->depth];
    if (op == 4) {
        unsigned n = byte(b);
        if (named)
            H5Lcreate_hard(b->file, b->objects[n % b->nobjects], here, name, H5P_DEFAULT,
                           H5P_DEFAULT);
    } else if (op == 5) {
        unsigned t = byte(b);
        if (!(t & 1))
            string(b, path);
        if (named)
            H5Lcreate_soft((t & 1) ? b->objects[(t >> 1) % b->nobjects] : path, here, name,
                           H5P_DEFAULT, H5P_DEFAULT);
    } else {
        string(b, file);
        string(b, path);
        if (named)
            H5Lcreate_external(file[0] ? file : "f", path[0] ? path : "/", here, name,
                               H5P_DEFAULT, H5P_DEFAULT);
    }
}

static void make_named_type(struct builder *b)
{
    char name[NAME_BYTES];
    enum data_kind kind;
    bool named = link_name(b, name);
    hid_t type = make_type(b, &kind);
    if (named && type >= 0 &&
        H5Tcommit2(b->stack[b->depth], name, type, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0)
        made(b, name);
    if (type >= 0)
        H5Tclose(type);
}

static void run_program(struct builder *b)
{
    for (int op = 0; op < MAX_OPS && b->left; op++) {
        unsigned code = byte(b) % 8;
        switch (code) {
        case 0: make_group(b); break;
        case 1:
            if (b->depth > 0)
                H5Gclose(b->stack[b->depth--]);
            strcpy(b->last, b->stack_path[b->depth]);
            break;
        case 2: make_dataset(b); break;
        case 3: make_word(b); break;
        case 7: make_named_type(b); break;
        default: make_link(b, code); break;
        }
    }
    while (b->depth > 0)
        H5Gclose(b->stack[b->depth--]);
}

/*
 * Which forged names can be swapped in: those whose group is still a symbol
 * table (an external link turns one into link messages, checksummed or not,
 * which hold each name's length).
 */
static void check_forged(struct builder *b)
{
    for (size_t i = 0; i < b->nforged; i++) {
        H5G_info_t info;
        if (H5Gget_info_by_name(b->file, b->forged[i].group, &info, H5P_DEFAULT) < 0 ||
            info.storage_type != H5G_STORAGE_TYPE_SYMBOL_TABLE)
            b->forged[i].placeholder[0] = '\0';
    }
}

/* Swaps each forged name (NUL-padded) in for its placeholder, where that is found once. */
static void forge(struct builder *b, unsigned char *image, size_t size)
{
    for (size_t i = 0; i < b->nforged; i++) {
        const struct forged *f = &b->forged[i];
        size_t n = strlen(f->placeholder) + 1;
        if (n == 1)
            continue;
        unsigned char *at = memmem(image, size, f->placeholder, n);
        if (at && !memmem(at + 1, size - (size_t)(at + 1 - image), f->placeholder, n))
            memcpy(at, f->name, n);
    }
}

/* The program's file as an image in malloc'd memory, or NULL. */
static unsigned char *build(struct builder *b, size_t *size)
{
    unsigned flags = byte(b);
    b->latest = flags & 2;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fcpl < 0 || fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)
        abort();
    if (flags & 1)
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    if (b->latest)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    b->file = H5Fcreate("fuzz-build.h5", H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (b->file < 0)
        abort();
    b->stack[0] = H5Gopen2(b->file, "/", H5P_DEFAULT);
    b->tracked[0] = flags & 1;
    strcpy(b->stack_path[0], "/");
    strcpy(b->objects[0], "/");
    strcpy(b->last, "/");
    b->nobjects = 1;
    run_program(b);
    check_forged(b);
    H5Gclose(b->stack[0]);
    unsigned char *image = NULL;
    ssize_t n = H5Fflush(b->file, H5F_SCOPE_GLOBAL) >= 0 ? H5Fget_file_image(b->file, NULL, 0) : -1;
    if (n > 0 && (image = malloc((size_t)n)) &&
        H5Fget_file_image(b->file, image, (size_t)n) != n) {
        free(image);
        image = NULL;
    }
    H5Fclose(b->file);
    *size = n > 0 ? (size_t)n : 0;
    if (image)
        forge(b, image, *size);
    return image;
}

/* ---- Set-up and the entry point ---------------------------------------------------------- */

static bool raw_images;
static const char *save_path;

/*
 * Replaces the external link class: following one during a read is a bug in
 * the reader. While building, HDF5 follows one when a new object takes the
 * name of an existing link; that fails, and so does the creation.
 */
static hid_t external_traversed(const char *name, hid_t group, const void *data, size_t size,
                                hid_t lapl, hid_t dxpl)
{
    (void)name, (void)group, (void)data, (void)size, (void)lapl, (void)dxpl;
    if (!reading)
        return H5I_INVALID_HID;
    fprintf(stderr, "fuzz_hdf5_value: an external link was followed\n");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const H5L_class_t trap = {
        .version = H5L_LINK_CLASS_T_VERS,
        .id = H5L_TYPE_EXTERNAL,
        .comment = "external links that abort when followed",
        .trav_func = external_traversed,
    };
    const char *mode = getenv("STASH_FUZZ_HDF5_IMAGE");
    raw_images = mode && strcmp(mode, "1") == 0;
    save_path = getenv("STASH_FUZZ_HDF5_SAVE");
    if (H5open() < 0 || H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0 || H5Lregister(&trap) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (raw_images) {
        read_image(data, size);
        return 0;
    }
    static struct builder b;
    memset(&b, 0, sizeof b);
    b.p = data;
    b.left = size;
    size_t image_bytes;
    unsigned char *image = build(&b, &image_bytes);
    if (!image)
        abort();
    FILE *save = save_path ? fopen(save_path, "wb") : NULL;
    if (save) {
        fwrite(image, 1, image_bytes, save);
        fclose(save);
    }
    read_image(image, image_bytes);
    free(image);
    return 0;
}
