"""Drop-in replacements for the Python modules stash re-implements.

Change one import line and keep your code: each module here has its
original's API and documented behaviour, backed by stash, with the
original's bugs fixed (each difference is listed in the module's docstring
and in docs/python.md, "Migrating").
"""
