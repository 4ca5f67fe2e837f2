/*
 * redis-server processes for tests and benchmarks: each in its own
 * temporary directory, listening on a Unix socket there (--port 0: no TCP),
 * with nothing saved (--save '' --appendonly no).
 *
 * Nothing is left running: every server is stopped by its pid at exit
 * (atexit), when the test process dies of a signal it can catch (the
 * handler only calls kill, which is async-signal-safe), and, if the test
 * process is killed outright, by the kernel (PR_SET_PDEATHSIG). Forked
 * children of the test never stop the servers: the handlers check the pid
 * that started them.
 */
#ifndef STASH_TEST_REDIS_SERVER_H
#define STASH_TEST_REDIS_SERVER_H

#include <hiredis/hiredis.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REDIS_SERVERS_MAX 8

struct redis_server {
    pid_t pid;        /* 0: not running */
    int port;         /* a loopback TCP port too (redis_server_start_tcp), or 0 */
    char dir[256];    /* its temporary directory */
    char socket[300]; /* dir/redis.sock */
    char uri[320];    /* redis+unix://<socket> */
};

static volatile sig_atomic_t redis_owner_pid;
static volatile pid_t redis_pids[REDIS_SERVERS_MAX];
static char redis_dirs[REDIS_SERVERS_MAX][256]; /* each running server's directory */

static inline void redis_remove_dir(const char *dir)
{
    char path[400];
    const char *files[] = {"redis.sock", "redis.log", "nodes.conf"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static inline void redis_kill_all(void)
{
    if (redis_owner_pid != getpid())
        return; /* a forked child: the servers are its parent's */
    for (int i = 0; i < REDIS_SERVERS_MAX; i++) {
        pid_t pid = redis_pids[i];
        if (pid > 0) {
            kill(pid, SIGCONT); /* a stopped server cannot die of SIGKILL until continued */
            kill(pid, SIGKILL);
            redis_pids[i] = 0;
        }
    }
}

static inline void redis_on_signal(int sig)
{
    redis_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* At exit: the servers a failed test left running are killed, reaped and their directories removed. */
static inline void redis_reap_all(void)
{
    pid_t pids[REDIS_SERVERS_MAX];
    for (int i = 0; i < REDIS_SERVERS_MAX; i++)
        pids[i] = redis_pids[i];
    redis_kill_all();
    for (int i = 0; i < REDIS_SERVERS_MAX; i++) {
        if (pids[i] > 0 && redis_owner_pid == getpid()) {
            waitpid(pids[i], NULL, 0);
            redis_remove_dir(redis_dirs[i]);
        }
    }
}

static inline void redis_guard_once(void)
{
    if (redis_owner_pid)
        return;
    redis_owner_pid = getpid();
    atexit(redis_reap_all);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], redis_on_signal);
}

static inline void redis_server_stop(struct redis_server *srv);

/* Why a server did not start: the start of its log, on stderr. */
static inline void redis_print_log(const struct redis_server *srv)
{
    char path[400], text[1024];
    snprintf(path, sizeof path, "%s/redis.log", srv->dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    fprintf(stderr, "redis-server did not start (port %d): %s\n", srv->port, text);
}

/* True once the server at srv->socket answers PING with PONG. */
static inline bool redis_answers(const struct redis_server *srv)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectUnixWithTimeout(srv->socket, tv);
    bool ok = false;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "PING");
        /* A server that wants a password answers too, with NOAUTH. */
        ok = r && ((r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ||
                   (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0));
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

/*
 * Starts a server (srv zeroed by the caller) with the extra arguments (NULL-terminated, may be none:
 * "--maxmemory", "2mb", ...) and waits up to 20 s until it answers.
 * Returns 0, or -1 with a message on stderr.
 */
static inline int redis_server_start(struct redis_server *srv, const char *const *extra)
{
    redis_guard_once();
    int slot = -1;
    for (int i = 0; i < REDIS_SERVERS_MAX && slot < 0; i++)
        if (redis_pids[i] == 0)
            slot = i;
    /* Absolute, since the server changes to --dir before it makes its socket, and
     * short, since a Unix socket's path holds at most 107 bytes. */
    const char *tmp = getenv("TMPDIR");
    char absolute[PATH_MAX];
    if (!tmp || !*tmp || !realpath(tmp, absolute) || strlen(absolute) > 60)
        snprintf(absolute, sizeof absolute, "/tmp");
    snprintf(srv->dir, sizeof srv->dir, "%.60s/redis-XXXXXX", absolute);
    if (slot < 0 || !mkdtemp(srv->dir)) {
        fprintf(stderr, "redis_server_start: no slot or no temporary directory\n");
        return -1;
    }
    snprintf(srv->socket, sizeof srv->socket, "%s/redis.sock", srv->dir);
    snprintf(srv->uri, sizeof srv->uri, "redis+unix://%s", srv->socket);
    const char *argv[48] = {"redis-server", "--port", "0", "--unixsocket", srv->socket,
                            "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                            "--dir", srv->dir, "--daemonize", "no", "--loglevel", "warning",
                            "--logfile", "redis.log"};
    size_t argc = 19;
    char port[16];
    if (srv->port > 0) {
        snprintf(port, sizeof port, "%d", srv->port);
        argv[2] = port;
        argv[argc++] = "--bind";
        argv[argc++] = "127.0.0.1";
    }
    for (size_t i = 0; extra && extra[i] && argc < 47; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test, however it ends */
        if (getppid() != parent)
            _exit(127);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    srv->pid = pid;
    snprintf(redis_dirs[slot], sizeof redis_dirs[slot], "%s", srv->dir);
    redis_pids[slot] = pid;
    for (int tries = 0; tries < 400; tries++) {
        if (redis_answers(srv))
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            redis_pids[slot] = 0;
            srv->pid = 0;
            redis_print_log(srv);
            redis_server_stop(srv);
            return -1;
        }
        struct timespec wait = {0, 50 * 1000000};
        nanosleep(&wait, NULL);
    }
    fprintf(stderr, "redis-server did not answer PING within 20 s\n");
    redis_print_log(srv);
    redis_server_stop(srv);
    return -1;
}

/* A loopback TCP port that was free a moment ago. */
static inline int redis_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* As redis_server_start, also listening on a free loopback port (srv->port). */
static inline int redis_server_start_tcp(struct redis_server *srv, const char *const *extra)
{
    for (int tries = 0; tries < 5; tries++) {
        srv->port = redis_free_port();
        if (srv->port > 0 && redis_server_start(srv, extra) == 0)
            return 0;
    }
    return -1;
}

/* Stops srv (a stopped one is continued first) and removes its directory. */
static inline void redis_server_stop(struct redis_server *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGCONT);
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, NULL, 0);
        for (int i = 0; i < REDIS_SERVERS_MAX; i++)
            if (redis_pids[i] == srv->pid)
                redis_pids[i] = 0;
        srv->pid = 0;
    }
    redis_remove_dir(srv->dir);
}

/* One command on a fresh connection (CONFIG SET, DEBUG, ...); the reply's
 * integer, or -1 on an error reply. */
static inline long long redis_command(const struct redis_server *srv, const char **argv, int argc)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectUnixWithTimeout(srv->socket, tv);
    long long n = -1;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommandArgv(c, argc, argv, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            n = r->integer;
        else if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING ||
                       r->type == REDIS_REPLY_ARRAY))
            n = 0;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return n;
}

#endif
