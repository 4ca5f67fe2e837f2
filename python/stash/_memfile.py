"""MemFile.open(): the io layers over a memory file's handles.

stash.MemFile is C (python/src/memfile.c). Its open() lands here and stacks
what io.open stacks over a file descriptor: a raw handle (MemFileIO, over a
C stream with its own position), then the buffered class the mode calls
for, then a TextIOWrapper in text modes. The C stream does what a file
descriptor would: the mode ("w" empties the file, "x" refuses a non-empty
one, "a" writes at the end as it is at each write), positions, and reads
and writes under the memory file's lock.
"""
import io
import warnings


class MemFileIO(io.RawIOBase):
    """A raw handle on a stash.MemFile: what open(mode, buffering=0) returns.

    Its position is its own; reads and writes go straight to the memory file
    (no buffer), so every handle sees every write at once. It has no
    descriptor of its own: fileno() raises io.UnsupportedOperation, as
    io.BytesIO's does (MemFile.fileno() exports one for the whole file).
    """

    def __init__(self, memfile, mode):
        super().__init__()
        stream = self._stream = memfile._open_stream(mode)
        # The C stream's own calls, not methods that call them: a Python frame
        # each would double the cost of a small unbuffered read (measured).
        self.readinto, self.read, self.write = stream.readinto, stream.read, stream.write
        self.seek, self.tell = stream.seek, stream.tell
        self.name = memfile.name
        kind, plus = mode[0], "+" in mode
        self._readable = kind == "r" or plus
        self._writable = kind != "r" or plus
        # The mode as io.FileIO spells it ("w+" is "rb+" there too).
        self.mode = ("rb+" if plus and kind in "rw" else
                     {"r": "rb", "w": "wb", "a": "ab", "x": "xb"}[kind] + ("+" if plus else ""))

    def readall(self):
        return self._stream.read()

    def truncate(self, size=None):
        return self._stream.truncate(self._stream.tell() if size is None else size)

    def readable(self):
        self._check_open()
        return self._readable

    def writable(self):
        self._check_open()
        return self._writable

    def seekable(self):
        self._check_open()
        return True

    def fileno(self):
        raise io.UnsupportedOperation(
            "a MemFile handle has no descriptor of its own; MemFile.fileno() exports one")

    def __del__(self):
        # Not io's close-on-collect: `f.open("rb", 0).read()` collects the
        # handle before calling the C stream's read bound above. The stream
        # closes itself when the last of its bound calls is gone.
        pass

    def close(self):
        if self.closed:
            return
        try:
            super().close()
        finally:
            self._stream.close()

    def _check_open(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def __repr__(self):
        return f"<stash.MemFileIO name={self.name!r} mode={self.mode!r}>"


def _parse_mode(mode):
    """(kind, plus, binary) of an io.open mode, or ValueError as io.open says."""
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    chars = set(mode)
    kinds = chars & set("rwax")
    if (len(chars) != len(mode) or not chars <= set("rwax+bt") or len(kinds) != 1
            or {"b", "t"} <= chars):
        raise ValueError(f"invalid mode: {mode!r}")
    return kinds.pop(), "+" in chars, "b" in chars


def open_memfile(memfile, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
    """MemFile.open(): the same arguments and result types as io.open."""
    kind, plus, binary = _parse_mode(mode)
    if binary:
        for name, value in (("encoding", encoding), ("errors", errors), ("newline", newline)):
            if value is not None:
                raise ValueError(f"binary mode doesn't take an {name} argument")
    line_buffering = False
    if buffering == 1:
        if binary:
            warnings.warn("line buffering (buffering=1) isn't supported in binary mode, "
                          "the default buffer size will be used", RuntimeWarning, 2)
        line_buffering = not binary
        buffering = -1
    if buffering == 0 and not binary:
        raise ValueError("can't have unbuffered text I/O")
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    raw = MemFileIO(memfile, kind + ("+" if plus else ""))
    if buffering == 0:
        return raw
    try:
        if plus:
            buffered = io.BufferedRandom(raw, buffering)
        elif kind == "r":
            buffered = io.BufferedReader(raw, buffering)
        else:
            buffered = io.BufferedWriter(raw, buffering)
        if binary:
            return buffered
        text = io.TextIOWrapper(buffered, io.text_encoding(encoding), errors, newline,
                                line_buffering)
        text.mode = mode
        return text
    except BaseException:
        raw.close()
        raise
