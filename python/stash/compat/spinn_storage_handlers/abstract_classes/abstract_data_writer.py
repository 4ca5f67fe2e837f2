"""AbstractDataWriter: a sink of bytes written in order."""

__all__ = ["AbstractDataWriter"]


class AbstractDataWriter:
    """Writes bytes somewhere (methods not enforced abstract, as in the original)."""

    __slots__ = ()

    def write(self, data):
        """Writes all of data."""
        raise NotImplementedError

    def tell(self):
        """The position of the cursor."""
        raise NotImplementedError
