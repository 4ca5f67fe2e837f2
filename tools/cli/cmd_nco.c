/*
 * stash nco pack | unpack | ls: nengo cache object files from the shell.
 *
 * Every file here is read with read/pread (stash_npy_load, STASH_NCO_NO_MAP),
 * never mapped: the command only copies or prints what it reads, and a file
 * truncated meanwhile by another program (a `cp` over it) then gives an
 * error message instead of killing the command with SIGBUS.
 */
#include "commands.h"
#include "json_out.h"
#include "describe.h"
#include "input.h"
#include "options.h"
#include "save.h"

#include <stash/nco.h>
#include <stash/npy.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pack_job {
    const stash_value *meta;
    const stash_array_desc *desc;
    const void *data;
};

static stash_status write_pack(int fd, void *ctx)
{
    const struct pack_job *job = ctx;
    stash_stream *s;
    stash_nco_object o;
    stash_status status = stash_stream_open_fd(fd, "w", &s);
    if (status != STASH_OK)
        return status;
    status = stash_nco_write(s, job->meta, job->desc, job->data, &o);
    stash_status closed = stash_stream_close(&s);
    return status != STASH_OK ? status : closed;
}

/* Appending drops whatever follows the last committed object: say so first. */
static void say_tail_dropped(const char *path)
{
    stash_nco *nco = NULL;
    stash_nco_info info;
    if (stash_nco_open(path, STASH_NCO_NO_MAP, &nco) != STASH_OK)
        return; /* missing (the append creates it) or not NCO (the append says so) */
    stash_nco_info_get(nco, &info);
    if (info.tail_bytes)
        fprintf(stderr,
                "stash nco pack: %s: note: dropping the %llu bytes after the last object, "
                "which are not a committed object (%s)\n",
                path, (unsigned long long)info.tail_bytes,
                info.tail_status == STASH_OK ? "an unfinished append"
                                             : stash_strerror(info.tail_status));
    stash_nco_close(&nco);
}

/* A file through the library (which keeps its index), or "-" as bytes on stdout. */
static stash_status pack_to(const char *out, const struct pack_job *job, bool append)
{
    if (strcmp(out, "-") == 0)
        return save_output(out, write_pack, (void *)job);
    if (append)
        say_tail_dropped(out);
    return append ? stash_nco_append(out, job->meta, job->desc, job->data, 0)
                  : stash_nco_pack(out, job->meta, job->desc, job->data, 0);
}

/* Whether v is or holds an array value (a {"$array": ...} in JSON). */
static bool holds_array(const stash_value *v)
{
    if (stash_value_kind_of(v) == STASH_VALUE_ARRAY)
        return true;
    for (size_t i = 0; i < stash_value_length(v); i++)
        if (holds_array(stash_value_item(v, i)))
            return true;
    return false;
}

/* The --meta argument as a value nengo's metadata can be: no arrays in it. */
static stash_status pack_meta(const char *meta_arg, stash_value **meta)
{
    if (!meta_arg)
        return STASH_OK;
    stash_status status = json_argument("stash nco pack: --meta", meta_arg, meta);
    if (status == STASH_OK && holds_array(*meta)) {
        fputs("stash nco pack: --meta: metadata holds no arrays (it is pickled as plain "
              "Python values, as nengo's is): put the array in IN.npy, or write it as a list\n",
              stderr);
        stash_value_free(meta);
        status = STASH_E_UNSUPPORTED;
    }
    return status;
}

static int pack(const char *out, const char *in, const char *meta_arg, bool append)
{
    stash_value *meta = NULL;
    if (pack_meta(meta_arg, &meta) != STASH_OK)
        return 1;
    stash_array_desc desc;
    void *data = NULL;
    struct input input;
    stash_status status = input_open(in, &input);
    if (status != STASH_OK) {
        input_complain("stash nco pack", in, status, INPUT_STDIN_MAX_BYTES);
    } else {
        status = stash_npy_load(input.use, &desc, &data);
        if (status != STASH_OK)
            npy_complain("stash nco pack", &input, status);
        input_close(&input);
    }
    if (status != STASH_OK) {
        stash_value_free(&meta);
        return 1;
    }
    struct pack_job job = {meta, &desc, data};
    status = pack_to(out, &job, append);
    free(data);
    stash_value_free(&meta);
    if (status != STASH_OK) {
        fprintf(stderr, "stash nco pack: %s: %s\n", out, stash_strerror(status));
        return 1;
    }
    return 0;
}

/* The metadata as JSON; an unsafe or unreadable pickle as opaque base64. */
/*
 * Object i's metadata as a value: the tree, or, where the pickle reader
 * refused it, {"$opaque_pickle": bytes} (returned too, with the refusal as
 * the status). Only a failure to read the bytes at all leaves *meta NULL.
 */
static stash_status meta_value(const stash_nco *nco, size_t i, stash_value **meta,
                               stash_pickle_error *why)
{
    stash_status status = stash_nco_meta(nco, i, meta, why);
    if (status == STASH_OK)
        return STASH_OK;
    void *pickle = NULL;
    size_t len;
    stash_value *opaque = NULL, *bytes = NULL;
    stash_status refused = status;
    status = stash_nco_meta_bytes_read(nco, i, &pickle, &len);
    if (status == STASH_OK)
        status = stash_value_new_dict(&opaque);
    if (status == STASH_OK)
        status = stash_value_new_bytes(pickle, len, &bytes);
    if (status == STASH_OK && (status = stash_value_dict_set(opaque, "$opaque_pickle", bytes)))
        stash_value_free(&bytes);
    free(pickle);
    if (status != STASH_OK) {
        stash_value_free(&opaque);
        return status;
    }
    *meta = opaque;
    return refused;
}

/* meta_value as JSON text (*text set whenever *meta would be). */
static stash_status meta_json(const stash_nco *nco, size_t i, unsigned flags, char **text,
                              stash_pickle_error *why)
{
    stash_value *meta = NULL;
    stash_status status = meta_value(nco, i, &meta, why);
    stash_status written = meta ? stash_value_to_json(meta, flags, text, NULL) : status;
    stash_value_free(&meta);
    return written != STASH_OK ? written : status;
}

static void say_opaque(const char *who, size_t i, stash_status why, const stash_pickle_error *e)
{
    fprintf(stderr, "%s: note: object %zu's metadata is kept opaque: %s (%s at byte %zu)\n", who,
            i, stash_strerror(why), e->opcode_name[0] ? e->opcode_name : "end", e->offset);
}

/* Object index's metadata as JSON text for path, checked writable: NULL after
 * saying why. Done before the array is written, so a failure writes nothing. */
static char *unpack_meta(const stash_nco *nco, size_t index, const char *path)
{
    char *text = NULL;
    stash_pickle_error why = {0};
    stash_status status = meta_json(nco, index, STASH_JSON_INDENT, &text, &why);
    if (status != STASH_OK && text)
        say_opaque("stash nco unpack", index, status, &why);
    if (text)
        status = save_check(path);
    if (!text || status != STASH_OK) {
        fprintf(stderr, "stash nco unpack: %s: cannot write the metadata: %s\n", path,
                stash_strerror(status));
        free(text);
        return NULL;
    }
    return text;
}

/* The array as OUT, then the metadata as META_OUT (if asked for), read first. */
static int unpack_to(const stash_nco *nco, const char *in, size_t index, const char *out,
                     const char *meta_out)
{
    stash_array_desc desc;
    void *data = NULL;
    char *text = NULL;
    stash_status status = stash_nco_array_read(nco, index, &desc, &data);
    if (status != STASH_OK) {
        fprintf(stderr, "stash nco unpack: %s: object %zu: %s\n", in, index,
                stash_strerror(status));
        return 1;
    }
    if (meta_out && !(text = unpack_meta(nco, index, meta_out))) {
        free(data);
        return 1;
    }
    status = save_npy(out, &desc, data);
    free(data);
    if (status != STASH_OK)
        fprintf(stderr, "stash nco unpack: %s: %s\n", out, stash_strerror(status));
    else if (text && (status = save_text(meta_out, text)) != STASH_OK)
        fprintf(stderr, "stash nco unpack: %s: cannot write the metadata: %s\n", meta_out,
                stash_strerror(status));
    free(text);
    return status == STASH_OK ? 0 : 1;
}

static int unpack(const char *in, const char *out, size_t index, const char *meta_out)
{
    stash_nco *nco = NULL;
    struct input input;
    stash_status status = input_open(in, &input);
    if (status != STASH_OK) {
        input_complain("stash nco unpack", in, status, INPUT_STDIN_MAX_BYTES);
        return 1;
    }
    status = stash_nco_open(input.use, STASH_NCO_NO_MAP, &nco);
    input_close(&input);
    if (status != STASH_OK) {
        fprintf(stderr, "stash nco unpack: %s: %s\n", in,
                status == STASH_E_CORRUPT ? "not an NCO file" : stash_strerror(status));
        return 1;
    }
    int rc = unpack_to(nco, in, index, out, meta_out);
    stash_nco_close(&nco);
    return rc;
}

static const char *index_words(stash_nco_index_state s)
{
    return s == STASH_NCO_INDEX_USED ? "found through the index" : "found by walking the chain";
}

static void ls_object_text(const stash_nco *nco, size_t i)
{
    stash_nco_object o;
    stash_array_desc desc;
    stash_nco_object_at(nco, i, &o);
    printf("%6zu  @%-10llu ", i, (unsigned long long)o.start);
    if (stash_nco_array_read(nco, i, &desc, NULL) == STASH_OK)
        describe_array(stdout, &desc);
    else
        fputs("array unreadable", stdout);
    char *text = NULL;
    stash_pickle_error why = {0};
    stash_status status = meta_json(nco, i, 0, &text, &why);
    if (status == STASH_OK)
        printf("  meta %.60s%s\n", text, strlen(text) > 60 ? "..." : "");
    else if (text) /* refused by the pickle reader, kept opaque */
        printf("  meta opaque (%s at byte %zu)\n", why.opcode_name[0] ? why.opcode_name : "end",
               why.offset);
    else /* not even its bytes: the file changed under us, or memory ran out */
        printf("  meta unreadable (%s)\n", stash_strerror(status));
    free(text);
}

static stash_value *object_json(const stash_nco *nco, size_t i, stash_status *status)
{
    stash_nco_object o;
    stash_array_desc desc;
    stash_value *object = json_out_object(), *meta = NULL;
    stash_nco_object_at(nco, i, &o);
    json_out_add(object, "index", json_out_uint(i), status);
    json_out_add(object, "start", json_out_uint(o.start), status);
    json_out_add(object, "meta_bytes", json_out_uint(o.meta_end - o.meta_start), status);
    if (stash_nco_array_read(nco, i, &desc, NULL) == STASH_OK) {
        stash_value *array = json_out_object();
        json_out_add_array_desc(array, &desc, status);
        json_out_add(object, "array", array, status);
    }
    stash_pickle_error why = {0};
    meta_value(nco, i, &meta, &why);
    if (meta == NULL)
        stash_value_new_null(&meta); /* unreadable: null */
    json_out_add(object, "meta", meta, status);
    return object;
}

static stash_status print_nco_json(const stash_nco *nco, const stash_nco_info *info)
{
    stash_value *o = json_out_object(), *objects = json_out_list();
    stash_status st = STASH_OK;
    json_out_add(o, "format", json_out_string("nco"), &st);
    for (size_t i = 0; i < info->count; i++)
        json_out_add(objects, NULL, object_json(nco, i, &st), &st);
    json_out_add(o, "objects", objects, &st);
    json_out_add(o, "file_bytes", json_out_uint(info->file_bytes), &st);
    json_out_add(o, "tail_bytes", json_out_uint(info->tail_bytes), &st);
    json_out_add(o, "tail", json_out_string(info->tail_status == STASH_OK
                                        ? "ok" : stash_strerror(info->tail_status)), &st);
    return json_out_print(&o, st);
}

int nco_describe(const char *who, const struct input *in, bool json)
{
    const char *path = in->name;
    stash_nco *nco = NULL;
    stash_status status = stash_nco_open(in->use, STASH_NCO_NO_MAP, &nco);
    if (status != STASH_OK) {
        fprintf(stderr, "%s: %s: %s\n", who, path,
                status == STASH_E_CORRUPT ? "not an NCO file"
                                          : stash_strerror(status));
        return 1;
    }
    stash_nco_info info;
    stash_nco_info_get(nco, &info);
    if (json && print_nco_json(nco, &info) != STASH_OK) {
        fprintf(stderr, "%s: %s: out of memory writing JSON\n", who, path);
        stash_nco_close(&nco);
        return 1;
    } else if (!json) {
        printf("%s: NCO, %zu object%s, %s\n", path, info.count, info.count == 1 ? "" : "s",
               index_words(info.index));
        for (size_t i = 0; i < info.count; i++)
            ls_object_text(nco, i);
        if (info.tail_bytes)
            printf("%llu bytes after the last object are not a committed object (%s)\n",
                   (unsigned long long)info.tail_bytes,
                   info.tail_status == STASH_OK ? "an unfinished append"
                                                : stash_strerror(info.tail_status));
    }
    stash_nco_close(&nco);
    return 0;
}

enum { META, META_OUT, INDEX, APPEND, JSON, OPTION_COUNT };

static const struct cli_option nco_options[OPTION_COUNT] = {
    [META] = {"--meta", true},     [META_OUT] = {"--meta-out", true},
    [INDEX] = {"--index", true},   [APPEND] = {"--append", false},
    [JSON] = {"--json", false},
};

static const struct cli_verb verbs[] = {
    {"pack", "OUT IN", 1u << META | 1u << APPEND},
    {"unpack", "IN OUT", 1u << INDEX | 1u << META_OUT},
    {"ls", "FILE", 1u << JSON},
};

static int run(int argc, char **argv)
{
    const struct cli_verb *verb = cli_find_verb("stash nco", "nco", verbs,
                                                sizeof verbs / sizeof verbs[0],
                                                argc > 1 ? argv[1] : "");
    if (!verb)
        return 2;
    char who[32];
    snprintf(who, sizeof who, "stash nco %s", verb->name);
    struct cli_args a;
    if (cli_parse(who, "nco", nco_options, OPTION_COUNT, verb, argc, argv, 2, &a))
        return 2;
    if (strcmp(verb->name, "pack") == 0) {
        if (a.value[APPEND] && strcmp(a.arg[0], "-") == 0)
            return cli_usage_error(who, "nco", "--append needs a file, not - for OUT");
        return pack(a.arg[0], a.arg[1], a.value[META], a.value[APPEND] != NULL);
    }
    if (strcmp(verb->name, "ls") == 0)
        return describe_input(who, a.arg[0], a.value[JSON] != NULL, nco_describe);
    uint64_t index = 0;
    if (a.value[INDEX] && (!parse_u64(a.value[INDEX], &index) || index > SIZE_MAX))
        return cli_usage_error(who, "nco", "--index: '%s' is not an object number (0, 1, ...)",
                               a.value[INDEX]);
    return unpack(a.arg[0], a.arg[1], (size_t)index, a.value[META_OUT]);
}

const struct stash_command cmd_nco = {
    .name = "nco",
    .summary = "pack, unpack and list nengo cache object (.nco) files",
    .usage =
        "usage: stash nco pack OUT.nco IN.npy [--meta JSON|@FILE] [--append]\n"
        "       stash nco unpack IN.nco OUT.npy [--index N] [--meta-out FILE.json]\n"
        "       stash nco ls FILE.nco [--json]\n\n"
        "Every file argument may be - for standard input or output (but --append\n"
        "needs a file), and --meta @- reads the metadata from standard input. An\n"
        "input must be a regular file: a FIFO or device is refused at once. An output\n"
        "that is a symlink has the file it names replaced; a FIFO or device is\n"
        "written into.\n\n"
        "pack writes a new NCO file holding the array of IN.npy and the metadata\n"
        "(JSON, pickled as nengo does); --append adds the object to the file's\n"
        "chain instead. unpack writes the N-th object's array (0 by default) as\n"
        "an NPY file and its metadata as JSON. Metadata that is a pickle calling\n"
        "code is never run: it is written as {\"$opaque_pickle\": {\"$bytes\": base64}}.\n"
        "ls lists the objects; --json prints one JSON object.\n\n"
        "example:\n"
        "  $ stash nco pack decoders.nco weights.npy --meta '{\"solver\": \"lstsq\"}'\n"
        "  $ stash nco ls decoders.nco\n"
        "  decoders.nco: NCO, 1 object, found through the index\n"
        "       0  @0          float64, shape (3, 4), C order, little-endian"
        "  meta {\"solver\": \"lstsq\"}\n",
    .run = run,
};
