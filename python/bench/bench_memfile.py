"""stash.MemFile: small reads at scattered offsets, against io.BytesIO (the
issue's target), and the same through an open() handle, against a file.

Each call reads 8 bytes at the next offset of a walk over a 1 MiB file with
a large odd stride, which visits every 8-byte slot once before repeating, so
neither side reads the same cache line twice in a row.
"""
import io
import itertools
import os
import tempfile

from harness import compare
import stash

FILE_BYTES = 1 << 20
SLOTS = FILE_BYTES // 8
STRIDE_SLOTS = 4099  # odd, and SLOTS a power of two: i * STRIDE_SLOTS % SLOTS visits them all
WALK = [i * STRIDE_SLOTS % SLOTS * 8 for i in range(SLOTS)]


def offsets():
    return itertools.cycle(WALK)


def rows(quick):
    content = bytes(range(256)) * (FILE_BYTES // 256)
    memfile = stash.MemFile("bench")
    memfile.pwrite(0, content)
    reference = io.BytesIO(content)

    pread, seek, read = memfile.pread, reference.seek, reference.read
    at_stash, at_reference = offsets(), offsets()

    def stash_pread():
        return pread(next(at_stash), 8)

    def bytesio_seek_read():
        seek(next(at_reference))
        return read(8)

    small = compare("MemFile.pread of 8 bytes", stash_pread, "io.BytesIO seek+read",
                    bytesio_seek_read, quick=quick, max_ratio=1.0)

    # A handle against what the same code gets from a file in tmpfs: io.open's
    # stack over a descriptor, where a seek outside the buffer costs system calls.
    handle = memfile.open("rb")
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.NamedTemporaryFile(dir=directory) as tmp:
        tmp.write(content)
        tmp.flush()
        with open(tmp.name, "rb") as file:
            handles = compare("MemFile.open('rb') seek+read of 8 bytes (informative)",
                              seek_read(handle), "open() of a tmpfs file, seek+read",
                              seek_read(file), quick=quick)
    handle.close()
    memfile.close()
    return [small, handles]


def seek_read(handle):
    seek, read, at = handle.seek, handle.read, offsets()

    def call():
        seek(next(at))
        return read(8)
    return call
