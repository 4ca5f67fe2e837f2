#ifndef STASH_BENCH_STREAMS_H
#define STASH_BENCH_STREAMS_H

#include "bench_util.h"

/* Streams, typed codecs and storages: prints its tables to c->out. */
void bench_streams(struct bench_config *c);

#endif
