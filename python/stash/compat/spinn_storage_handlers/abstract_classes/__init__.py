"""The abstract interfaces of SpiNNaker's ``spinn_storage_handlers``."""
from .abstract_buffered_data_storage import AbstractBufferedDataStorage
from .abstract_byte_reader import AbstractByteReader
from .abstract_byte_writer import AbstractByteWriter
from .abstract_context_manager import AbstractContextManager
from .abstract_data_reader import AbstractDataReader
from .abstract_data_writer import AbstractDataWriter

__all__ = ["AbstractBufferedDataStorage", "AbstractByteReader", "AbstractByteWriter",
           "AbstractContextManager", "AbstractDataReader", "AbstractDataWriter"]
