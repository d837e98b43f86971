"""optkit.problems: built-in problem libraries (one flat module each) and the library API.

``ok.problems.list()`` names the registered libraries, ``ok.problems.load(name, **params)``
returns their instances; see :mod:`optkit.problems_api` for the Instance / Library protocol.
Nothing here imports a library module: they register through the ``optkit.problems`` entry points.
"""
from __future__ import annotations

from optkit.problems_api import (EXPECTED, FolderLibrary, Instance, InstanceSet, Library,
                                 SimpleLibrary, UnknownLibraryError, instance_key, library,
                                 library_names, list_libraries, load)

__all__ = ["Instance", "Library", "SimpleLibrary", "FolderLibrary", "InstanceSet", "list",
           "library_names", "list_libraries", "load", "library", "instance_key", "UnknownLibraryError",
           "EXPECTED"]


def __getattr__(name: str):
    """``ok.problems.list()``, the documented name of :func:`~optkit.problems_api.library_names`,
    served here so that no module defines a function shadowing the builtin ``list``."""
    if name == "list":
        return library_names
    raise AttributeError(f"module 'optkit.problems' has no attribute {name!r}")
