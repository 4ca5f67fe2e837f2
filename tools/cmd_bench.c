/*
 * stash bench: runs the benchmarks of each part and prints their tables.
 */
#include "bench_memfile.h"
#include "bench_nco.h"
#include "bench_ring.h"
#include "bench_store.h"
#include "bench_streams.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>

struct bench_part {
    const char *name;
    void (*run)(struct bench_config *c);
};

static const struct bench_part parts[] = {
    {"streams", bench_streams},
    {"memfile", bench_memfile},
    {"nco", bench_nco},
    {"store", bench_store},
    {"ring", bench_ring},
};
#define PART_COUNT (sizeof parts / sizeof parts[0])

static int run(int argc, char **argv)
{
    struct bench_config c = {.out = stdout, .scratch_dir = "."};
    const char *only[PART_COUNT + 1];
    size_t n_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            c.quick = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            c.scratch_dir = argv[++i];
        } else if (argv[i][0] != '-' && n_only < PART_COUNT) {
            only[n_only++] = argv[i];
        } else {
            fprintf(stderr, "stash bench: unknown option '%s' (see stash bench --help)\n",
                    argv[i]);
            return 2;
        }
    }
    for (size_t i = 0; i < n_only; i++) {
        size_t p = 0;
        while (p < PART_COUNT && strcmp(parts[p].name, only[i]) != 0)
            p++;
        if (p == PART_COUNT) {
            fprintf(stderr, "stash bench: no part named '%s'\n", only[i]);
            return 2;
        }
    }
    fprintf(c.out, "## stash benchmarks%s\n", c.quick ? " (quick)" : "");
    for (size_t p = 0; p < PART_COUNT; p++) {
        bool selected = n_only == 0;
        for (size_t i = 0; i < n_only; i++)
            selected |= strcmp(parts[p].name, only[i]) == 0;
        if (selected)
            parts[p].run(&c);
    }
    fprintf(c.out, "\ntargets met: %u, missed: %u\n", c.met, c.missed);
    return 0;
}

const struct stash_command cmd_bench = {
    .name = "bench",
    .summary = "run the benchmarks and print each figure beside its baseline",
    .usage = "usage: stash bench [PART...] [--quick] [--dir DIR]\n\n"
             "Runs the benchmarks of the named parts (default: all; parts: streams, memfile, nco,\n"
             "store, ring) and prints one Markdown table per part: each figure beside a baseline\n"
             "measured in the same run, their ratio, the target and whether it was met.\n"
             "--quick uses small inputs; --dir puts scratch files in DIR (default .).\n\n"
             "example:\n  $ stash bench streams --quick\n",
    .run = run,
};
