/*
 * The Python package's benchmarks, run from `stash bench`: python/bench/run.py
 * under Debian's /usr/bin/python3, found beside this program (a build tree:
 * <build>/python) or under its prefix (installed: share/stash/python-bench,
 * with the package in the prefix's site directory). Its table becomes this
 * part's table; its verdicts count with the others.
 */
#include "bench_python.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

/* Set by python/CMakeLists.txt when the package is built. */
#ifndef STASH_PYTHON_INSTALL_DIR
#define STASH_PYTHON_INSTALL_DIR ""
#endif

struct python_paths {
    char script[PATH_MAX], package[PATH_MAX];
};

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir + suffix into out[PATH_MAX]; false if it does not fit. */
static bool join(char *out, const char *dir, const char *suffix)
{
    int n = snprintf(out, PATH_MAX, "%s%s", dir, suffix);
    return n > 0 && n < PATH_MAX;
}

/* The benchmark script and the package directory for this program's tree. */
static bool find_paths(struct python_paths *p)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    if (join(p->script, exe, "/python/bench/run.py") && join(p->package, exe, "/python") &&
        is_file(p->script))
        return true;
    if (!*STASH_PYTHON_INSTALL_DIR)
        return false;
    return join(p->script, exe, "/../" STASH_INSTALL_DATADIR "/python-bench/run.py") &&
           join(p->package, exe, "/../" STASH_PYTHON_INSTALL_DIR) && is_file(p->script);
}

/* Starts run.py with its output on a pipe; the read end, or NULL. */
static FILE *start(const struct python_paths *p, bool quick, pid_t *pid)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return NULL;
    *pid = fork();
    if (*pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return NULL;
    }
    if (*pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        setenv("PYTHONPATH", p->package, 1);
        setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
        char *argv[] = {PYTHON, (char *)p->script, quick ? "--quick" : NULL, NULL};
        execv(PYTHON, argv);
        _exit(127);
    }
    close(pipe_fds[1]);
    return fdopen(pipe_fds[0], "r");
}

/* A row ends "| met |" or "| MISSED |": the verdict is its last cell. */
static void count_verdict(struct bench_config *c, const char *line)
{
    size_t len = strlen(line);
    while (len > 0 && strchr("\n |", line[len - 1]))
        len--;
    if (len >= 8 && strncmp(line + len - 8, "| MISSED", 8) == 0)
        c->missed++;
    else if (len >= 5 && strncmp(line + len - 5, "| met", 5) == 0)
        c->met++;
}

void bench_python_package(struct bench_config *c)
{
    bench_section(c, "Python package",
                  "Each figure from Python (`import stash`, /usr/bin/python3) beside a "
                  "baseline timed in the same run, in interleaved rounds: the median and "
                  "its spread (min-max) over the rounds. Ratios are stash / baseline.");
    struct python_paths p;
    if (!find_paths(&p)) {
        bench_fail(c, "python", "the Python package is not built (python/bench/run.py not found)");
        return;
    }
    pid_t pid;
    FILE *out = start(&p, c->quick, &pid);
    if (!out) {
        bench_fail(c, "python", strerror(errno));
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, out)) {
        if (line[0] != '|' && line[0] != '\n')
            continue; /* run.py's own summary: the totals are ours */
        bench_printf(c, "%s", line);
        count_verdict(c, line);
    }
    fclose(out);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_fail(c, "python", "python/bench/run.py failed (see its messages above)");
}
