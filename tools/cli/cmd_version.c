/*
 * stash version [--json]: the library's version.
 */
#include "commands.h"
#include "json_out.h"
#include "options.h"

#include <stash/version.h>

#include <stdio.h>

static int run(int argc, char **argv)
{
    static const struct cli_option json_option = {"--json", false};
    static const struct cli_verb version = {"", "", 1};
    struct cli_args a;
    if (cli_parse("stash version", "version", &json_option, 1, &version, argc, argv, 1, &a))
        return 2;
    if (!a.value[0]) {
        printf("stash %s\n", stash_version_string());
        return 0;
    }
    stash_value *o = json_out_object();
    stash_status st = STASH_OK;
    json_out_add(o, "version", json_out_string(stash_version_string()), &st);
    return json_out_print(&o, st) == STASH_OK ? 0 : 1;
}

const struct stash_command cmd_version = {
    .name = "version",
    .summary = "print the version of stash",
    .usage = "usage: stash version [--json]\n\n"
             "Prints the version of the stash library this program runs; --json prints\n"
             "one JSON object instead.\n\n"
             "example:\n  $ stash version\n  stash " STASH_VERSION_STRING "\n",
    .run = run,
};
