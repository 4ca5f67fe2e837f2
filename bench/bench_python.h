#ifndef STASH_BENCH_PYTHON_H
#define STASH_BENCH_PYTHON_H

#include "bench_util.h"

/*
 * The Python package (python/bench/run.py under /usr/bin/python3): every
 * figure from Python beside its baseline (NumPy, joblib, io, nengo's
 * procedure) measured in the same run. Prints its table to c->out.
 */
void bench_python_package(struct bench_config *c);

#endif
