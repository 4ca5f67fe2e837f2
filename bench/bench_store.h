#ifndef STASH_BENCH_STORE_H
#define STASH_BENCH_STORE_H

#include "bench_util.h"

/* The result store (hashing, memoise, put and get): prints its tables to c->out. */
void bench_store(struct bench_config *c);

#endif
