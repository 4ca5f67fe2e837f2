/*
 * Helpers shared by the unit tests: scratch directories, whole-file reads
 * and writes, and counting this process's open descriptors.
 */
#ifndef STASH_TEST_UTIL_H
#define STASH_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define assert_ok(expr) assert_int_equal((expr), STASH_OK)

/* A new empty directory under $TMPDIR (or /tmp); the path is static. */
static inline const char *scratch_dir(void)
{
    static char dir[4096];
    const char *parent = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/stash-test-XXXXXX", parent && *parent ? parent : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* dir/name in a static buffer that alternates between two slots. */
static inline const char *path_in(const char *dir, const char *name)
{
    static char paths[2][4096];
    static int slot;
    slot ^= 1;
    int n = snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof paths[slot]);
    return paths[slot];
}

static inline void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Size of a file, or -1 if it does not exist. */
static inline long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static inline size_t read_file(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static inline int open_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static inline int dir_entry_count(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/*
 * True when scripts/valgrind runs the test (STASH_TEST_VALGRIND=1): tests
 * that race the clock shrink their work for its 20-50x slowdown, and the
 * few that valgrind cannot host skip, each saying why.
 */
static inline bool under_valgrind(void)
{
    const char *v = getenv("STASH_TEST_VALGRIND");
    return v && strcmp(v, "1") == 0;
}

/*
 * Resident kilobytes of this process's mapping that holds address p, from
 * /proc/self/smaps: how many of its pages have been touched. -1 if unknown.
 */
static inline long mapping_rss_kb(const void *p)
{
    char line[512];
    unsigned long at = (unsigned long)(uintptr_t)p, lo, hi;
    FILE *f = fopen("/proc/self/smaps", "r");
    long kb = -1;
    bool in_it = false;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
            in_it = lo <= at && at < hi;
        else if (in_it && sscanf(line, "Rss: %ld kB", &kb) == 1)
            break;
    }
    if (f != NULL)
        fclose(f);
    return kb;
}

#endif
