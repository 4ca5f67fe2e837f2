#include "core/mode.h"

#include <stash/stream.h>

#include <fcntl.h>
#include <string.h>

/* Checks the characters after the first; each may appear once, "b" and "t"
 * exclude each other. */
static stash_status parse_modifiers(const char *c, bool *plus, bool *exclusive)
{
    bool binary = false, text = false;
    for (; *c != '\0'; c++) {
        bool *seen = *c == '+' ? plus : *c == 'x' ? exclusive : *c == 'b' ? &binary
                                                             : *c == 't' ? &text : NULL;
        if (seen == NULL || *seen)
            return STASH_E_MODE;
        *seen = true;
    }
    return binary && text ? STASH_E_MODE : STASH_OK;
}

stash_status mode_parse(const char *mode, struct stash_mode *out)
{
    if (mode == NULL || out == NULL)
        return STASH_E_INVALID;
    if (mode[0] == '\0' || strchr("rwax", mode[0]) == NULL)
        return STASH_E_MODE;
    bool plus = false, exclusive = mode[0] == 'x', extra_x = false;
    stash_status status = parse_modifiers(mode + 1, &plus, &extra_x);
    if (status != STASH_OK)
        return status;
    if (extra_x && mode[0] != 'w' && mode[0] != 'a')
        return STASH_E_MODE; /* "rx" and "xx" */
    exclusive |= extra_x;

    struct stash_mode m = {.open_flags = O_CLOEXEC};
    switch (mode[0]) {
    case 'r':
        m.directions = STASH_STREAM_READ;
        break;
    case 'a':
        m.directions = STASH_STREAM_WRITE | STASH_STREAM_APPEND;
        m.open_flags |= O_CREAT;
        break;
    default: /* 'w' and 'x' */
        m.directions = STASH_STREAM_WRITE;
        m.open_flags |= O_CREAT | O_TRUNC;
        break;
    }
    if (plus)
        m.directions |= STASH_STREAM_READ | STASH_STREAM_WRITE;
    if (exclusive)
        m.open_flags |= O_EXCL;
    bool reads = m.directions & STASH_STREAM_READ, writes = m.directions & STASH_STREAM_WRITE;
    m.open_flags |= reads && writes ? O_RDWR : writes ? O_WRONLY : O_RDONLY;
    *out = m;
    return STASH_OK;
}

const char *mode_for_stdio(unsigned directions)
{
    bool reads = directions & STASH_STREAM_READ;
    if (directions & STASH_STREAM_APPEND)
        return reads ? "a+" : "a";
    if (directions & STASH_STREAM_WRITE)
        return reads ? "r+" : "w";
    return "r";
}
