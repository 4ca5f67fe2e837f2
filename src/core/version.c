#include <stash/version.h>

const char *stash_version_string(void)
{
    return STASH_VERSION_STRING;
}
