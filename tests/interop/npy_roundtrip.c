/*
 * npy_roundtrip IN_DIR OUT_DIR: reads every .npy file in IN_DIR with stash
 * (alternately loading and mapping) and saves it again, same description and
 * bytes, to OUT_DIR. npy_interop.py compares the results with NumPy's own.
 */
#include <stash/npy.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_one(const char *in, const char *out, bool map)
{
    stash_status status;
    if (map) {
        stash_npy_map *m;
        status = stash_npy_map_open(in, &m);
        if (status == STASH_OK) {
            status = stash_npy_save(out, &stash_npy_map_header(m)->desc, stash_npy_map_data(m),
                                    0);
            stash_npy_map_close(&m);
        }
    } else {
        stash_array_desc desc;
        void *data;
        status = stash_npy_load(in, &desc, &data);
        if (status == STASH_OK) {
            status = stash_npy_save(out, &desc, data, 0);
            free(data);
        }
    }
    if (status != STASH_OK)
        fprintf(stderr, "%s: %s\n", in, stash_strerror(status));
    return status == STASH_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: npy_roundtrip IN_DIR OUT_DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (d == NULL)
        return 2;
    int failures = 0;
    bool map = false;
    struct dirent *e;
    char in[4096], out[4096];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".npy") != 0)
            continue;
        snprintf(in, sizeof in, "%s/%s", argv[1], e->d_name);
        snprintf(out, sizeof out, "%s/%s", argv[2], e->d_name);
        failures += copy_one(in, out, map);
        map = !map;
    }
    closedir(d);
    return failures == 0 ? 0 : 1;
}
