#ifndef STASH_BENCH_NCO_H
#define STASH_BENCH_NCO_H

#include "bench_util.h"

/* Cache objects (arrays and NPY so far): prints its tables to c->out. */
void bench_nco(struct bench_config *c);

#endif
