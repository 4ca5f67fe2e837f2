/*
 * Where a ring lives and how it is mapped: names to paths, building the
 * object aside and linking it into place, and the double mapping that makes
 * every window contiguous.
 */
#ifndef STASH_RING_MAP_H
#define STASH_RING_MAP_H

#include "core/sysio.h"
#include "ring/ring_layout.h"

#include <stddef.h>
#include <sys/types.h>

#define RING_SHM_DIR "/dev/shm/"
#define RING_PATH_MAX 4096

/*
 * A name to its path: "eeg" and "/eeg" -> "/dev/shm/eeg"; a name with a "/"
 * after its first character is a file path. STASH_E_INVALID if
 * stash_ring_name_problem() finds one.
 */
stash_status ring_path(const char *name, char path[RING_PATH_MAX]);

/*
 * Builds the object for geo (header filled from cfg, data allocated) aside
 * in path's directory (sysio_aside_open: unnamed where the file system
 * allows), with exactly mode; a->fd is its descriptor, read-write.
 * sysio_aside_link then gives it path, never replacing a ring that is
 * there; until then no one can see it.
 */
stash_status ring_object_build(const char *path, const struct ring_geometry *geo,
                               const stash_ring_config *cfg, unsigned mode, struct sysio_aside *a);

/*
 * Opens path for attaching, read-write for a writer and read-only for a
 * reader (so a reader can neither truncate the ring nor write to it): its
 * descriptor and size.
 */
stash_status ring_object_open(const char *path, bool writable, int *fd, uint64_t *bytes);

/*
 * ring_object_open for a new handle: then the handles' lock (below), waiting
 * while a stale ring's removal holds it; an object whose name was removed
 * meanwhile is dropped and the name opened again. STASH_E_NOT_FOUND if there
 * is no ring by that name (then or now).
 */
stash_status ring_object_attach(const char *path, bool writable, int *fd, uint64_t *bytes);

/* Replaces *fd (read-write) by a read-only descriptor of the same object, its handle lock held. */
stash_status ring_object_reopen_read_only(int *fd);

/*
 * STASH_E_TRUNCATED if the object open on fd is now shorter than geo's
 * header and data: asked wherever the size may have changed since it was
 * last looked at, before anything is read through a mapping.
 */
stash_status ring_object_fits(int fd, const struct ring_geometry *geo);

/*
 * Open file description locks on the object (F_OFD_*: they belong to the
 * descriptor, not the process, and die with it however its process ends).
 * Byte 0 is the writer's claim, exclusive. Byte 1 is held shared by every
 * handle from attach (or create) to close, so "is anyone using this ring"
 * and "how many handles" have answers that a crash cannot falsify. Removing
 * a stale ring takes both bytes exclusively, so no handle can attach while
 * its name goes.
 */
#define RING_LOCK_WRITER 0
#define RING_LOCK_HANDLES 1

/* Takes the writer's claim without waiting: STASH_E_BUSY if a live writer has it. */
stash_status ring_writer_lock(int fd);

/*
 * Gives the writer's claim up. Closing the descriptor alone would not while
 * anything else refers to its open file description: a mapping of the
 * object, or a forked child's copy of the descriptor.
 */
void ring_writer_unlock(int fd);

/* Takes a handle's shared lock, waiting only while a stale ring's removal holds it. */
stash_status ring_handle_lock(int fd);

/* Takes bytes 0 and 1 exclusively without waiting: STASH_E_BUSY while a writer or handle lives. */
stash_status ring_lock_unused(int fd);

/* True if another open file description holds byte (or if that cannot be told). */
bool ring_lock_held(int fd, off_t byte);

/* How many handles hold the lock on byte 1, from /proc/locks; 1 if held but not listed there. */
uint32_t ring_handles_count(int fd);

struct ring_mapping {
    void *base;
    size_t length;
    struct ring_header *header; /* read-write for the writer, read-only for readers */
    unsigned char *data;        /* slot i at data + i x frame, for i < 2 x capacity */
};

/*
 * Maps the object: read-write for the writer, read-only for readers, the
 * data twice back to back unless geo is a pocket ring, and populated so the
 * hot path never faults. Then checks the object's size again (it may have
 * been cut since the header was checked): STASH_E_TRUNCATED, and nothing
 * mapped, if it no longer holds geo. STASH_E_UNSUPPORTED if this host's
 * pages do not fit the layout.
 */
stash_status ring_map(int fd, const struct ring_geometry *geo, bool writable,
                      struct ring_mapping *map);
void ring_unmap(struct ring_mapping *map);

/* True if geo's data is whole pages here, so it can be mapped mirrored. */
bool ring_mirror_fits(const struct ring_geometry *geo);

#endif
