/*
 * How the demo stops (see demo.h): SIGINT, SIGTERM and SIGHUP (its terminal
 * gone) only record the signal and set the control block's stop flag.
 * Storing to a lock-free atomic and to a volatile sig_atomic_t are all a
 * handler may safely do; everything else (stopping the children, removing
 * the ring, the report) happens in the parent's own flow when it next looks
 * at the flag.
 *
 * The handler is installed with SA_RESTART, so a signal never turns a
 * library call into an EINTR failure, and it is inherited across fork, so
 * a signal to the whole process group (Ctrl-C, kill -TERM -PGID) stops
 * every process the same way. A child also stops when its parent dies
 * (PR_SET_PDEATHSIG), so a killed parent leaves no child running on.
 */
#include "demo.h"

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t caught_signal, caught_count;
static _Atomic uint32_t *volatile stop_flag;

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be safe to set in a handler");

static void on_signal(int sig)
{
    if (caught_signal == 0)
        caught_signal = sig;
    caught_count++; /* the signals are blocked while the handler runs */
    _Atomic uint32_t *stop = stop_flag;
    if (stop != NULL)
        atomic_store(stop, 1);
}

void demo_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    static const int stopping[] = {SIGINT, SIGTERM, SIGHUP};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stopping / sizeof stopping[0]; i++)
        sigaddset(&sa.sa_mask, stopping[i]); /* one handler at a time */
    for (size_t i = 0; i < sizeof stopping / sizeof stopping[0]; i++)
        sigaction(stopping[i], &sa, NULL);
    /* A reader of stdout that left (`stash demo | head`) must not kill the parent mid-run,
     * leaving its ring behind: the printing fails quietly and the run goes on. */
    signal(SIGPIPE, SIG_IGN);
}

void demo_stop_on_signals(_Atomic uint32_t *stop)
{
    stop_flag = stop;
    if (stop != NULL && caught_signal != 0) /* one came before the flag existed */
        atomic_store(stop, 1);
}

int demo_caught_signal(void)
{
    return caught_signal;
}

unsigned demo_caught_count(void)
{
    return (unsigned)caught_count;
}

void demo_child_stops_with(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* it died before the line above */
        raise(SIGTERM);
}

const char *demo_signal_name(int sig, char buf[16])
{
    if (sig == SIGINT)
        return "SIGINT";
    if (sig == SIGTERM)
        return "SIGTERM";
    if (sig == SIGHUP)
        return "SIGHUP";
    if (sig == SIGKILL)
        return "SIGKILL";
    snprintf(buf, 16, "signal %d", sig);
    return buf;
}
