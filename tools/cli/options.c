/*
 * One option parser for the subcommands (options.h), so that every
 * subcommand says the same thing about the same mistake.
 */
#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *who, const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see `stash %s --help`)\n", command);
    va_end(ap);
    return 2;
}

static int find_option(const struct cli_option *options, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(options[i].name, name) == 0)
            return i;
    return -1;
}

/* The n-th word of args (which has at least n + 1), for messages. */
static void nth_word(const char *args, int n, char *word, size_t size)
{
    for (; n > 0; n--)
        args = strchr(args, ' ') + 1;
    size_t len = strcspn(args, " ");
    snprintf(word, size, "%.*s", (int)len, args);
}

static int word_count(const char *args)
{
    int n = 0;
    for (const char *p = args; *p; p += strcspn(p, " "), p += *p == ' ')
        n++;
    return n;
}

int cli_parse(const char *who, const char *command, const struct cli_option *options,
              int count, const struct cli_verb *verb, int argc, char **argv, int first,
              struct cli_args *a)
{
    char word[64];
    int want = word_count(verb->args);
    *a = (struct cli_args){0};
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (a->count == want || a->count == CLI_ARGS_MAX)
                return cli_usage_error(who, command, "one argument too many: '%s' (takes %s)",
                                       arg, want ? verb->args : "none");
            a->arg[a->count++] = arg;
            continue;
        }
        int opt = find_option(options, count, arg);
        if (opt < 0)
            return cli_usage_error(who, command, "unknown option %s", arg);
        if (!(verb->options & (1u << opt)))
            return cli_usage_error(who, command, "%s is not an option of %s", arg,
                                   verb->name[0] ? verb->name : command);
        if (options[opt].takes_value && i + 1 == argc)
            return cli_usage_error(who, command, "%s needs a value", arg);
        a->value[opt] = options[opt].takes_value ? argv[++i] : "";
    }
    if (a->count < want) {
        nth_word(verb->args, a->count, word, sizeof word);
        return cli_usage_error(who, command, "%s is missing (takes %s)", word, verb->args);
    }
    return 0;
}

const struct cli_verb *cli_find_verb(const char *who, const char *command,
                                     const struct cli_verb *verbs, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    char names[128] = "";
    for (int i = 0, at = 0; i < count && at >= 0 && (size_t)at < sizeof names; i++)
        at += snprintf(names + at, sizeof names - (size_t)at, "%s%s", i ? ", " : "",
                       verbs[i].name);
    if (name[0] == '\0')
        cli_usage_error(who, command, "which verb? (%s)", names);
    else
        cli_usage_error(who, command, "unknown verb '%s' (the verbs: %s)", name, names);
    return NULL;
}
