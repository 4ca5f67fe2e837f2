#include "commands.h"

#include <stash/version.h>

#include <stdio.h>

static int run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("stash %s\n", stash_version_string());
    return 0;
}

const struct stash_command cmd_version = {
    .name = "version",
    .summary = "print the version of stash",
    .usage = "usage: stash version\n\n"
             "Prints the version of the stash library this program runs.\n\n"
             "example:\n  $ stash version\n  stash " STASH_VERSION_STRING "\n",
    .run = run,
};
