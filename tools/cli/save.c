#include "save.h"

#include "core/sysio.h"

#include <stash/npy.h>
#include <stash/stream.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

stash_status save_check(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) == 0)
        return STASH_OK; /* what exists, publishing judges */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + 1, path)
                  : snprintf(dir, sizeof dir, ".");
    if (n < 0 || (size_t)n >= sizeof dir)
        return -ENAMETOOLONG;
    if (stat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return access(dir, W_OK | X_OK) == 0 ? STASH_OK : -errno;
}

stash_status save_output(const char *path, stash_status (*write)(int fd, void *ctx), void *ctx)
{
    if (strcmp(path, "-") == 0)
        return sysio_write_into(STDOUT_FILENO, write, ctx);
    return sysio_publish_output(path, write, ctx, false);
}

struct parts {
    const struct iovec *parts;
    int count;
};

static stash_status write_parts(int fd, void *ctx)
{
    const struct parts *p = ctx;
    uint64_t offset = 0;
    for (int i = 0; i < p->count; i++) {
        stash_status status = sysio_pwrite_full(fd, p->parts[i].iov_base, p->parts[i].iov_len,
                                                offset, NULL);
        if (status != STASH_OK)
            return status;
        offset += p->parts[i].iov_len;
    }
    return STASH_OK;
}

int save_file(const char *path, const struct iovec *parts, int count)
{
    struct parts p = {parts, count};
    return save_output(path, write_parts, &p);
}

stash_status save_text(const char *path, const char *text)
{
    struct iovec lines[2] = {{(void *)text, strlen(text)}, {"\n", 1}};
    return save_file(path, lines, 2);
}

struct npy_job {
    const stash_array_desc *desc;
    const void *data;
};

static stash_status write_npy(int fd, void *ctx)
{
    const struct npy_job *job = ctx;
    stash_stream *s;
    stash_status status = stash_stream_open_fd(fd, "w", &s);
    if (status != STASH_OK)
        return status;
    status = stash_npy_write(s, job->desc, job->data, 0);
    stash_status closed = stash_stream_close(&s);
    return status != STASH_OK ? status : closed;
}

stash_status save_npy(const char *path, const stash_array_desc *desc, const void *data)
{
    return save_output(path, write_npy, &(struct npy_job){desc, data});
}
