#include "input.h"

#include "core/sysio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static bool is_stdin(const char *arg)
{
    return strcmp(arg, "-") == 0;
}

/* Standard input into an unnamed file, for readers that want a path (and
 * map it): up to INPUT_STDIN_MAX_BYTES, so an endless producer is cut off. */
static stash_status copy_stdin(int *copy)
{
    int fd = memfd_create("stash-stdin", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[65536];
    uint64_t total = 0;
    stash_status status = STASH_OK;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            status = n < 0 ? -errno : STASH_OK;
            break;
        }
        if ((total += (uint64_t)n) > INPUT_STDIN_MAX_BYTES) {
            status = STASH_E_LIMIT;
            break;
        }
        status = sysio_pwrite_full(fd, buf, (size_t)n, total - (uint64_t)n, NULL);
        if (status != STASH_OK)
            break;
    }
    if (status != STASH_OK) {
        sysio_close(fd);
        return status;
    }
    *copy = fd;
    return STASH_OK;
}

stash_status input_open(const char *arg, struct input *in)
{
    *in = (struct input){.name = arg, .use = arg, .copy_fd = -1};
    int fd;
    if (!is_stdin(arg)) {
        stash_status status = sysio_open_input(arg, &fd);
        if (status == STASH_OK)
            sysio_close(fd);
        return status;
    }
    stash_status status = copy_stdin(&fd);
    if (status != STASH_OK)
        return status;
    snprintf(in->path, sizeof in->path, "/proc/self/fd/%d", fd);
    in->use = in->path;
    in->copy_fd = fd;
    return STASH_OK;
}

void input_close(struct input *in)
{
    if (in->copy_fd >= 0)
        sysio_close(in->copy_fd);
    in->copy_fd = -1;
}

stash_status input_read_all(const char *arg, size_t max_bytes, char **data, size_t *len)
{
    int fd = STDIN_FILENO;
    stash_status status = is_stdin(arg) ? STASH_OK : sysio_open_input(arg, &fd);
    if (status != STASH_OK)
        return status;
    status = sysio_read_all(fd, max_bytes, data, len);
    if (fd != STDIN_FILENO)
        sysio_close(fd);
    return status;
}

void input_complain(const char *who, const char *name, stash_status status, size_t max_bytes)
{
    if (status == STASH_E_LIMIT)
        fprintf(stderr, "%s: %s: longer than the limit of %zu MiB for this input\n", who, name,
                max_bytes >> 20);
    else
        fprintf(stderr, "%s: %s: %s\n", who, name, stash_strerror(status));
}
