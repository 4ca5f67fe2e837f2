/*
 * The interop tests' view of the pickle codec and the JSON mapping:
 *   pickle_tool read FILE.pkl        prints the value as JSON, or the status
 *   pickle_tool write FILE.json OUT.pkl [PROTOCOL]
 * Exit 0 on success, 2 on a refused input (with the status name on stdout).
 */
#include <stash/pickle.h>
#include <stash/stream.h>
#include <stash/value.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurp.h"

static int read_pickle(const char *path)
{
    size_t len;
    char *buf = slurp(path, &len);
    stash_value *v = NULL;
    stash_pickle_error err;
    stash_status st = buf ? stash_pickle_read(buf, len, NULL, &v, &err) : STASH_E_INVALID;
    free(buf);
    if (st != STASH_OK) {
        printf("refused %d %s\n", st, st == STASH_E_INVALID ? "" : err.opcode_name);
        return 2;
    }
    char *json;
    st = stash_value_to_json(v, 0, &json, NULL);
    stash_value_free(&v);
    if (st != STASH_OK)
        return 1;
    puts(json);
    free(json);
    return 0;
}

static int write_pickle(const char *json_path, const char *out, int protocol)
{
    size_t len;
    char *text = slurp(json_path, &len);
    stash_value *v = NULL;
    stash_stream *s = NULL;
    stash_status st = text ? stash_value_from_json(text, len, &v, NULL) : STASH_E_INVALID;
    free(text);
    if (st == STASH_OK)
        st = stash_stream_open_file(out, "wb", &s);
    if (st == STASH_OK)
        st = stash_pickle_write(s, v, protocol);
    stash_status closed = stash_stream_close(&s);
    stash_value_free(&v);
    if (st == STASH_OK)
        st = closed;
    if (st != STASH_OK)
        printf("refused %d\n", st);
    return st == STASH_OK ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return read_pickle(argv[2]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "write") == 0)
        return write_pickle(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 0);
    fprintf(stderr, "usage: pickle_tool read FILE | write JSON OUT [PROTOCOL]\n");
    return 64;
}
