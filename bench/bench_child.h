/*
 * Benchmark children: a forked process that reports through a pipe. The
 * child first sends a stash_status (ready or not), then its result; the
 * parent reads both and reaps it. The ring and relay benchmarks use them.
 */
#ifndef STASH_BENCH_CHILD_H
#define STASH_BENCH_CHILD_H

#include <stash/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What a child runs; out is the pipe to the parent. The child leaves with _exit. */
typedef void (*bench_child_body)(const void *job, int out);

struct bench_child {
    pid_t pid;
    int in; /* what the child sends */
};

/* Forks a child running body; STASH_OK once it has said it is ready (its own status if not). */
stash_status bench_child_start(bench_child_body body, const void *job, struct bench_child *ch);

/*
 * Reads the child's result (result NULL: none) and reaps it, after SIGKILL
 * if kill_it (it is stuck). False if there was no child or it died before
 * sending the result.
 */
bool bench_child_finish(struct bench_child *ch, void *result, size_t size, bool kill_it);

/* All n bytes through a pipe, going on after EINTR; false if the other end closed. */
bool bench_send_all(int fd, const void *buf, size_t n);
bool bench_recv_all(int fd, void *buf, size_t n);

#endif
