/*
 * The demo's NCO output and its verification (demo_verify.c).
 */
#ifndef STASH_TOOLS_DEMO_VERIFY_H
#define STASH_TOOLS_DEMO_VERIFY_H

#include "demo.h"

#include <stash/error.h>

#include <stdbool.h>
#include <stdint.h>

struct demo_verification {
    stash_status status;         /* of opening and reading the NCO file */
    bool meta_matches;           /* its metadata reads back equal to what was written */
    uint64_t windows_checked;
    uint64_t mismatched_windows; /* whose features differ from a recomputation */
    uint32_t channels_off_band;  /* whose strongest band is not their sine's */
};

/* Writes the feature matrix and its metadata to path as an NCO file, atomically. */
stash_status demo_write_features(const struct demo_plan *p, const char *path);

/* Opens path as any reader would and checks every feature in it. */
stash_status demo_verify(const struct demo_plan *p, const char *path,
                         struct demo_verification *v);

bool demo_verification_passed(const struct demo_verification *v);

#endif
