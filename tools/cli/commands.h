/*
 * The subcommands of the stash program. Each lives in its own tools/cmd_*.c
 * and is listed once in tools/stash.c.
 */
#ifndef STASH_TOOLS_COMMANDS_H
#define STASH_TOOLS_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct stash_command {
    const char *name;
    const char *summary; /* one line for `stash --help` */
    const char *usage;   /* the whole text of `stash NAME --help`, with an example */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
};

extern const struct stash_command cmd_bench;
extern const struct stash_command cmd_demo;
extern const struct stash_command cmd_dump;
extern const struct stash_command cmd_info;
extern const struct stash_command cmd_nco;
extern const struct stash_command cmd_npy;
extern const struct stash_command cmd_ring;
extern const struct stash_command cmd_store;
extern const struct stash_command cmd_version;

struct input;

/* Describe one file of a format on stdout; 0, or 1 after a one-line error. */
int npy_describe(const char *who, const struct input *in, bool json);
int nco_describe(const char *who, const struct input *in, bool json);

/* Describe the input argument arg ("-": standard input) with describe. */
int describe_input(const char *who, const char *arg, bool json,
                   int (*describe)(const char *who, const struct input *in, bool json));

/* Whether argv[i] is a file argument rather than an option: "-" is one. */
bool is_file_argument(const char *arg);

/* stash(1) in roff, from the commands' own help texts (manpage.c). */
void print_manpage(FILE *out, const struct stash_command *const *commands, size_t count);

/* True if argv holds -h or --help. */
int wants_help(int argc, char **argv);

#endif
