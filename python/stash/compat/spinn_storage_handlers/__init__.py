"""SpiNNaker's ``spinn_storage_handlers`` (5.x, the Buffered* API), backed by stash.

Change ``import spinn_storage_handlers`` to
``import stash.compat.spinn_storage_handlers as spinn_storage_handlers`` (or
``from stash.compat.spinn_storage_handlers import ...``); the submodules have
the original's names (``.exceptions``, ``.buffered_file_data_storage``,
``.abstract_classes``, ...). The storages are stash storages (memory, file,
temp file in a descriptor pool); the byte readers and writers are stash's
byte codecs.

Kept from the original: independent read and write pointers from 0; seeks
clamp into [0, length] and SEEK_END counts back from the end whatever the
offset's sign; another whence raises IOError("unrecognised 'whence'"); reads
past the end return nothing; eof() is true on an empty storage; the return
types (bytearray from the bytearray and temp-file storages, bytes from the
file storage and FileDataReader); the exception classes (DataReadException
for a file that cannot be opened, DataWriteException for a write an "r" file
refuses or unsuitable data, io.UnsupportedOperation for reading a "w" file);
BufferedBytearrayDataStorage taking only bytearray and refusing readinto;
files that stay after close; unsigned reads; writers keeping the low bits.

Different, on purpose (each has a test):

1. read(-1), read(None) and any negative size read to the end; the
   bytearray storage's read(-1) returned one byte short.
2. read_all() returns a copy and moves the read pointer to the end in every
   storage; the bytearray storage's returned its own buffer (writes through
   it changed the storage) and left the read pointer alone.
3. close() is idempotent in every storage (a temp storage's second close
   raised KeyError), and any later call raises stash.Closed, a ValueError
   (the originals raised TypeError, FileNotFoundError or ValueError).
4. FileDataWriter raises DataWriteException when its file cannot be opened
   or closed, as documented (the original raised DataReadException).
5. FileDataReader.readall() returns the rest of the file, as documented (the
   original re-read it from byte 0); read(n_bytes=None) reads the rest too.
6. BufferedFileDataStorage.write takes any bytes-like object; anything else,
   str included, raises DataWriteException (str raised TypeError).
   BufferedTempfileDataStorage.write takes any bytes-like object and raises
   IOError for the rest.
7. A BufferedTempfileDataStorage stays in memory until it would grow past
   SPILL_BYTES (16 KiB, the buffer a stash temp file keeps in memory anyway)
   or its ``_name`` is asked for; only then is its temp file made (the
   original made one per storage at once). initialise(lru_max) makes new
   temp files use a new pool; existing ones keep theirs until they close
   (the original leaked their open handles and added an exit hook per
   call); lru_max < 1 raises ValueError (was AssertionError). Eviction only
   closes a descriptor: it never flushes another storage's data. The temp
   files live in a private directory; a storage dropped without close() is
   removed when it is collected (the original kept its file until exit);
   a forked child does not remove its parent's files at its exit (it never
   frees the storages it inherited) and makes its own in a pool of its own.
8. The file storage tracks its length itself: bytes another process appends
   to the file after it was opened are not seen (the original asked fstat).
9. LittleEndianDataReaderByteReader: a short read consumes nothing (the
   original lost the bytes), its EOFError names the right type (the original
   always said "short"), and is_at_end() works (the original raised
   NotImplementedError).
10. The byte-array readers read the object in place and hold its buffer: a
   bytearray cannot be resized while its reader lives (BufferError); a
   negative read_bytes size raises ValueError (the original moved back).
   A writer's ``data`` is a copy (the original returned its own bytearray).
"""
from . import abstract_classes, exceptions, utils
from .big_endian_byte_array_byte_reader import BigEndianByteArrayByteReader
from .big_endian_byte_array_byte_writer import BigEndianByteArrayByteWriter
from .buffered_bytearray_data_storage import BufferedBytearrayDataStorage
from .buffered_file_data_storage import BufferedFileDataStorage
from .buffered_tempfile_data_storage import BufferedTempfileDataStorage
from .file_data_reader import FileDataReader
from .file_data_writer import FileDataWriter
from .little_endian_byte_array_byte_reader import LittleEndianByteArrayByteReader
from .little_endian_byte_array_byte_writer import LittleEndianByteArrayByteWriter
from .little_endian_data_reader_byte_reader import LittleEndianDataReaderByteReader

__all__ = ["BufferedBytearrayDataStorage", "BufferedFileDataStorage",
           "BufferedTempfileDataStorage", "FileDataReader", "FileDataWriter",
           "LittleEndianByteArrayByteReader", "LittleEndianByteArrayByteWriter",
           "BigEndianByteArrayByteReader", "BigEndianByteArrayByteWriter",
           "LittleEndianDataReaderByteReader", "abstract_classes", "exceptions", "utils"]
