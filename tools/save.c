#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* Writes every byte of the parts, however the kernel splits them. */
static int write_all(int fd, const struct iovec *parts, int count)
{
    for (int i = 0; i < count; i++) {
        const char *at = parts[i].iov_base;
        for (size_t left = parts[i].iov_len; left > 0;) {
            ssize_t n = write(fd, at, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            at += n;
            left -= (size_t)n;
        }
    }
    return 0;
}

int save_file(const char *path, const struct iovec *parts, int count)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    int err = write_all(fd, parts, count);
    if (close(fd) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = -errno;
    if (err != 0)
        unlink(tmp);
    return err;
}
