#include "bench_child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

bool bench_send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        p += done, n -= (size_t)done;
    }
    return true;
}

bool bench_recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t done = read(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false; /* the child died */
        p += done, n -= (size_t)done;
    }
    return true;
}

stash_status bench_child_start(bench_child_body body, const void *job, struct bench_child *ch)
{
    int fds[2];
    *ch = (struct bench_child){.pid = -1, .in = -1};
    if (pipe(fds) != 0)
        return -errno;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        body(job, fds[1]);
        _exit(0);
    }
    if (pid < 0) {
        stash_status st = -errno;
        close(fds[0]);
        close(fds[1]);
        return st;
    }
    close(fds[1]);
    *ch = (struct bench_child){.pid = pid, .in = fds[0]};
    stash_status st;
    if (!bench_recv_all(ch->in, &st, sizeof st))
        st = -ECHILD;
    return st;
}

bool bench_child_finish(struct bench_child *ch, void *result, size_t size, bool kill_it)
{
    if (ch->pid <= 0)
        return false;
    bool ok = result == NULL || bench_recv_all(ch->in, result, size);
    if (kill_it)
        kill(ch->pid, SIGKILL);
    close(ch->in);
    waitpid(ch->pid, NULL, 0);
    *ch = (struct bench_child){.pid = -1, .in = -1};
    return ok;
}
