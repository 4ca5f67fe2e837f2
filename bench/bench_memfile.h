#ifndef STASH_BENCH_MEMFILE_H
#define STASH_BENCH_MEMFILE_H

#include "bench_util.h"

/* Memory files: prints its tables to c->out. */
void bench_memfile(struct bench_config *c);

#endif
