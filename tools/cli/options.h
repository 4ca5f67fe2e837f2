/*
 * The command line of a subcommand's verb, parsed one way for every
 * subcommand: a table of the options the subcommand knows, the ones each
 * verb takes, and the names of its arguments. A usage error is one line on
 * stderr that names the argument at fault ("unknown option --bogus",
 * "--json is not an option of put", "--meta needs a value", "KEY is
 * missing (takes URI KEY IN)"), then a pointer to --help, and exit status 2.
 */
#ifndef STASH_TOOLS_OPTIONS_H
#define STASH_TOOLS_OPTIONS_H

#include <stdbool.h>

#define CLI_OPTIONS_MAX 16
#define CLI_ARGS_MAX 4

/* An option a subcommand knows: "--meta" with a value, or a flag. */
struct cli_option {
    const char *name;
    bool takes_value;
};

/* A verb ("" for a subcommand without verbs): its arguments as the usage
 * names them ("URI KEY IN"), and a bit (1u << i) per option i it takes. */
struct cli_verb {
    const char *name;
    const char *args;
    unsigned options;
};

struct cli_args {
    const char *value[CLI_OPTIONS_MAX]; /* option i's value ("" for a flag), or NULL if absent */
    const char *arg[CLI_ARGS_MAX];      /* the arguments, in order */
    int count;
};

/*
 * Parses argv[first..argc) for verb against options (count of them), into
 * *a: 0, or 2 after one line on stderr starting "who: " that names what is
 * wrong. "-" is an argument, not an option. Unset members of *a are NULL.
 */
int cli_parse(const char *who, const char *command, const struct cli_option *options,
              int count, const struct cli_verb *verb, int argc, char **argv, int first,
              struct cli_args *a);

/* The verb named name in verbs (count of them), or NULL after a usage error. */
const struct cli_verb *cli_find_verb(const char *who, const char *command,
                                     const struct cli_verb *verbs, int count, const char *name);

/* "who: <message> (see `stash command --help`)" on stderr; returns 2. */
int cli_usage_error(const char *who, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
