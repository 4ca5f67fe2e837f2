/*
 * Where a ring lives and how it is mapped: names to paths, building the
 * object aside and linking it into place, and the double mapping that makes
 * every window contiguous.
 */
#ifndef STASH_RING_MAP_H
#define STASH_RING_MAP_H

#include "ring_layout.h"

#include <stddef.h>

#define RING_SHM_DIR "/dev/shm/"
#define RING_PATH_MAX 4096

/* A name to its path: "eeg" -> "/dev/shm/eeg"; a name with a "/" is a path. */
stash_status ring_path(const char *name, char path[RING_PATH_MAX]);

/*
 * Builds the object for geo (header filled from cfg, data allocated) in
 * path's directory without a name, with exactly mode, and returns its
 * descriptor. ring_object_link gives it path; until then no one can see it.
 */
stash_status ring_object_build(const char *path, const struct ring_geometry *geo,
                               const stash_ring_config *cfg, unsigned mode, int *fd);
stash_status ring_object_link(int fd, const char *path);

/* Opens path for attaching: its descriptor and size. */
stash_status ring_object_open(const char *path, int *fd, uint64_t *bytes);

struct ring_mapping {
    void *base;
    size_t length;
    struct ring_header *header; /* read-write in every process (readers register to wait) */
    unsigned char *data;        /* slot i at data + i x frame, for i < 2 x capacity */
};

/*
 * Maps the object: the header read-write, the data read-write for the
 * writer or read-only for readers, twice back to back unless geo is a
 * pocket ring, and populated so the hot path never faults.
 * STASH_E_UNSUPPORTED if this host's pages do not fit the layout.
 */
stash_status ring_map(int fd, const struct ring_geometry *geo, bool writable,
                      struct ring_mapping *map);
void ring_unmap(struct ring_mapping *map);

/* True if geo's data is whole pages here, so it can be mapped mirrored. */
bool ring_mirror_fits(const struct ring_geometry *geo);

#endif
