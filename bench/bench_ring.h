#ifndef STASH_BENCH_RING_H
#define STASH_BENCH_RING_H

#include "bench_util.h"

/*
 * The shared ring (writer-to-reader throughput across processes, views of
 * wrapped windows, wake-up latency, and rdaclient's Python design beside
 * it): prints its tables to c->out.
 */
void bench_ring(struct bench_config *c);

#endif
