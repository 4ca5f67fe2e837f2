"""stash.compat.pyppin_memfile: an 8-byte pread, against pyppin's procedure.

pyppin's MemFile is a Python class over one bytearray; its pread checks the
offset and size, makes a new bytearray, works out how many bytes are there
from size() and copies that slice of the array into it. The baseline below
is that procedure written from its description, so the figure is what
changing the import line saves. Both read at the same walk of offsets over
a 1 MiB file as bench_memfile.py, and both return (n, bytearray).
"""
from bench_memfile import FILE_BYTES, offsets
from harness import compare
from stash.compat.pyppin_memfile import MemFile


class BytearrayMemFile:
    """pyppin's MemFile reads, as its documentation and behaviour describe them."""

    def __init__(self, content):
        self._data = bytearray(content)

    def size(self):
        return len(self._data)

    def pread(self, offset, size, buffer=None):
        assert offset >= 0
        assert size >= 0
        if buffer is None:
            out = bytearray()
        else:
            out = memoryview(buffer).cast("B")
            if size > len(out):
                raise ValueError("buffer too small")
        n = max(0, min(size, self.size() - offset))
        out[0:n] = self._data[offset:offset + n]
        return n, out


def rows(quick):
    content = bytes(range(256)) * (FILE_BYTES // 256)
    memfile = MemFile("bench")
    memfile.pwrite(0, content)
    reference = BytearrayMemFile(content)
    assert memfile.pread(4096, 8) == reference.pread(4096, 8)

    compat_pread, reference_pread = memfile.pread, reference.pread
    at_compat, at_reference = offsets(), offsets()

    def compat():
        return compat_pread(next(at_compat), 8)

    def baseline():
        return reference_pread(next(at_reference), 8)

    row = compare("pyppin_memfile.MemFile.pread of 8 bytes", compat,
                  "pyppin's procedure (bytearray)", baseline, quick=quick, max_ratio=0.5)
    memfile.close()
    return [row]
