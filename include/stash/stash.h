/*
 * stash/stash.h - every public header of stash at once.
 */
#ifndef STASH_STASH_H
#define STASH_STASH_H

#include <stash/array.h>
#include <stash/bytes.h>
#include <stash/error.h>
#include <stash/hash.h>
#include <stash/memfile.h>
#include <stash/nco.h>
#include <stash/npy.h>
#include <stash/pickle.h>
#include <stash/ring.h>
#include <stash/storage.h>
#include <stash/store.h>
#include <stash/stream.h>
#include <stash/value.h>
#include <stash/version.h>

#endif
