/*
 * stash/version.h - the library's version, at compile time and at run time.
 */
#ifndef STASH_VERSION_H
#define STASH_VERSION_H

#include <stash/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STASH_VERSION_MAJOR 0
#define STASH_VERSION_MINOR 1
#define STASH_VERSION_PATCH 0
#define STASH_VERSION_STRING "0.1.0"

/** Packs a version for comparisons: STASH_VERINT(0, 1, 0). */
#define STASH_VERINT(major, minor, patch) (((major) << 24) | ((minor) << 16) | (patch))
#define STASH_VERSION STASH_VERINT(STASH_VERSION_MAJOR, STASH_VERSION_MINOR, STASH_VERSION_PATCH)

/** The version of the library linked at run time, as "major.minor.patch". */
STASH_API const char *stash_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
