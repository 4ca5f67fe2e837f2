/*
 * stash: the command-line program. Finds the subcommand and hands over.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const struct stash_command *const commands[] = {
    &cmd_demo,
    &cmd_bench,
    &cmd_info,
    &cmd_npy,
    &cmd_nco,
    &cmd_store,
    &cmd_ring,
    &cmd_dump,
    &cmd_version,
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

static void print_overview(FILE *out)
{
    fputs("usage: stash COMMAND [OPTIONS]\n\n"
          "stash stores and moves scientific data: streams and storages, memory files,\n"
          "cache objects, result stores and shared rings.\n\ncommands:\n",
          out);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n`stash COMMAND --help` explains one command; `stash help --man` prints the\n"
          "manual page.\n",
          out);
}

static const struct stash_command *find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_overview(stdout);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3 && strcmp(argv[2], "--man") == 0) {
        print_manpage(stdout, commands, COMMAND_COUNT);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        const struct stash_command *cmd = argc > 2 ? find(argv[2]) : NULL;
        if (cmd == NULL) {
            print_overview(stdout);
            return argc > 2 ? 2 : 0;
        }
        fputs(cmd->usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version.run(argc - 1, argv + 1);
    const struct stash_command *cmd = find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "stash: unknown command '%s'\n\n", argv[1]);
        print_overview(stderr);
        return 2;
    }
    if (wants_help(argc - 1, argv + 1)) {
        fputs(cmd->usage, stdout);
        return 0;
    }
    return cmd->run(argc - 1, argv + 1);
}
