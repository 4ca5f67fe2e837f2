"""NumPy's NPY files: save, load, map and inspect (being written)."""
