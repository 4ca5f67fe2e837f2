"""Storages and byte codecs from Python (informative: the issue sets no target here).

- ByteReader.u32 in a loop of 1000 values against struct.unpack_from in the same loop;
- Storage.read of 64 KiB from a file against io.FileIO.read of 64 KiB from the same file.
"""
import io
import os
import struct
import tempfile

import stash

from harness import compare

VALUES = 1000
CHUNK = 64 * 1024


def rows(quick: bool):
    data = struct.pack(f"<{VALUES}I", *range(VALUES))

    def stash_u32():
        reader = stash.ByteReader(data)
        u32 = reader.u32
        for _ in range(VALUES):
            u32()

    def struct_u32():
        unpack_from = struct.unpack_from
        offset = 0
        for _ in range(VALUES):
            unpack_from("<I", data, offset)
            offset += 4

    result = [compare(f"ByteReader.u32 × {VALUES}", stash_u32,
                      f"struct.unpack_from × {VALUES}", struct_u32, quick=quick)]

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "chunk.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(CHUNK))
        storage = stash.Storage.file(path, "r")
        raw = io.FileIO(path, "r")

        def stash_read():
            storage.seek_read(0)
            storage.read(CHUNK)

        def fileio_read():
            raw.seek(0)
            raw.read(CHUNK)

        result.append(compare("Storage.read of 64 KiB (file)", stash_read,
                              "io.FileIO.read of 64 KiB", fileio_read, quick=quick,
                              note="stash serves from its 256 KiB buffer after the first read"))
        storage.close()
        raw.close()
    return result
