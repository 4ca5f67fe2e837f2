#ifndef STASH_BENCH_RELAY_H
#define STASH_BENCH_RELAY_H

#include "bench_util.h"

/*
 * The ring relay over ZeroMQ on loopback (throughput at 32- and 1024-sample
 * chunks against raw PUSH/PULL of the same bytes, and one-way latency from a
 * put to the subscriber's ring): part of `stash bench ring`.
 */
void bench_relay(struct bench_config *c);

#endif
