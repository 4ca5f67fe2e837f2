"""AbstractContextManager: ``with x:`` closes x at the end; exceptions propagate."""

__all__ = ["AbstractContextManager"]


class AbstractContextManager:
    """A closeable object usable in a ``with`` statement."""

    __slots__ = ()

    def close(self):
        """Releases the underlying resources."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()
        return False
