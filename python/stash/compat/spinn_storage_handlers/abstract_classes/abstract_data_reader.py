"""AbstractDataReader: a source of bytes read in order."""

__all__ = ["AbstractDataReader"]


class AbstractDataReader:
    """Reads bytes from somewhere (methods not enforced abstract, as in the original)."""

    __slots__ = ()

    def read(self, n_bytes):
        """Up to n_bytes bytes; fewer (or none) at the end."""
        raise NotImplementedError

    def readall(self):
        """The rest of the bytes."""
        raise NotImplementedError

    def readinto(self, data):
        """Reads into a writable buffer; returns how many bytes were stored."""
        raise NotImplementedError

    def tell(self):
        """The position of the cursor."""
        raise NotImplementedError
