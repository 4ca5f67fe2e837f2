#include "save.h"

#include "core/sysio.h"

#include <stash/npy.h>
#include <stash/stream.h>

#include <string.h>
#include <unistd.h>

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
