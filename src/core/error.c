#include <stash/error.h>

#include <string.h>

const char *stash_strerror(stash_status status)
{
    switch (status) {
    case STASH_OK: return "success";
#define STASH_ERROR_CASE_(name, value, message)                                              \
    case name: return message;
        STASH_ERROR_TABLE(STASH_ERROR_CASE_)
#undef STASH_ERROR_CASE_
    default: break;
    }
    if (stash_is_system_error(status)) {
        static _Thread_local char text[128];
        return strerror_r(stash_errno(status), text, sizeof text);
    }
    return "unknown stash status";
}

const char *stash_status_name(stash_status status)
{
    switch (status) {
    case STASH_OK: return "STASH_OK";
#define STASH_ERROR_NAME_(name, value, message)                                              \
    case name: return #name;
        STASH_ERROR_TABLE(STASH_ERROR_NAME_)
#undef STASH_ERROR_NAME_
    default: break;
    }
    const char *name = stash_is_system_error(status) ? strerrorname_np(stash_errno(status)) : NULL;
    return name ? name : "unknown";
}
