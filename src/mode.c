#include "mode.h"

#include <stash/stream.h>

#include <fcntl.h>
#include <string.h>

stash_status mode_parse(const char *mode, struct stash_mode *out)
{
    if (mode == NULL || out == NULL)
        return STASH_E_INVALID;
    if (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')
        return STASH_E_MODE;
    bool plus = false, binary = false, exclusive = false;
    for (const char *c = mode + 1; *c != '\0'; c++) {
        bool *seen = *c == '+' ? &plus : *c == 'b' ? &binary : *c == 'x' ? &exclusive : NULL;
        if (seen == NULL || *seen)
            return STASH_E_MODE;
        *seen = true;
    }
    if (exclusive && mode[0] == 'r')
        return STASH_E_MODE;

    struct stash_mode m = {.open_flags = O_CLOEXEC};
    switch (mode[0]) {
    case 'r':
        m.directions = STASH_STREAM_READ;
        break;
    case 'w':
        m.directions = STASH_STREAM_WRITE;
        m.open_flags |= O_CREAT | O_TRUNC;
        break;
    default: /* 'a' */
        m.directions = STASH_STREAM_WRITE | STASH_STREAM_APPEND;
        m.open_flags |= O_CREAT;
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
