/*
 * `stash help --man`: the manual page stash(1), in roff, made from the same
 * texts as `stash --help` and `stash COMMAND --help`, so the two cannot drift
 * apart. The build runs it to make stash.1, which `cmake --install` puts in
 * share/man/man1.
 */
#include "commands.h"

#include <stash/version.h>

#include <stdio.h>
#include <string.h>

/* Text as roff: backslashes escaped, a leading '.' or '\'' made literal. */
static void roff_text(FILE *out, const char *text)
{
    bool line_start = true;
    for (const char *p = text; *p != '\0'; p++) {
        if (line_start && (*p == '.' || *p == '\''))
            fputs("\\&", out);
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
        line_start = *p == '\n';
    }
    if (!line_start)
        fputc('\n', out);
}

void print_manpage(FILE *out, const struct stash_command *const *commands, size_t count)
{
    fprintf(out,
            ".TH STASH 1 \"\" \"stash %s\" \"User Commands\"\n"
            ".SH NAME\nstash \\- store and move scientific data\n"
            ".SH SYNOPSIS\n.B stash\n.I COMMAND\n[\\fIOPTIONS\\fR]\n.br\n"
            ".B stash\n.I COMMAND\n.B \\-\\-help\n"
            ".SH DESCRIPTION\n"
            "stash stores and moves scientific data: byte streams and storages, memory files,\n"
            "cache objects (NPY and nengo's NCO files), result stores (dir:, hdf5:, none:)\n"
            "and shared rings of samples. This program reads files as the byte codecs do\n"
            "(dump), describes and writes NPY and NCO files, works result stores and rings,\n"
            "and runs the end-to-end demo and the benchmarks. Storages and memory files\n"
            "live inside one process and have no command: they are for programs.\n"
            ".SH COMMANDS\n",
            STASH_VERSION_STRING);
    for (size_t i = 0; i < count; i++) {
        fprintf(out, ".SS %s\n", commands[i]->name);
        roff_text(out, commands[i]->summary);
        fputs(".PP\n.nf\n", out);
        roff_text(out, commands[i]->usage);
        fputs(".fi\n", out);
    }
    fputs(".SH EXIT STATUS\n0 on success; 1 when the work failed (a one-line message says why);\n"
          "2 for bad usage.\n"
          ".SH ENVIRONMENT\n.TP\n.B TMPDIR\nwhere temp storages go.\n"
          ".SH SEE ALSO\nThe library's headers in include/stash/, one per part, and the pages\n"
          "in docs/ of the source tree: streams.md, storage.md, memfile.md, npy.md, nco.md,\n"
          "store.md, ring.md and benchmarks.md.\n",
          out);
}
