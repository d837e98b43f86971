"""optkit.problems: built-in problem libraries (one flat module each) and the library API.

``ok.problems.list()`` names the registered libraries, ``ok.problems.load(name, **params)``
returns their instances; see :mod:`optkit.problems_api` for the Instance / Library protocol.
Nothing here imports a library module: they register through the ``optkit.problems`` entry points.
"""
from __future__ import annotations

from optkit.problems_api import (EXPECTED, FolderLibrary, Instance, InstanceSet, Library,  # noqa: F401
                                 SimpleLibrary, UnknownLibraryError, instance_key, library, list,
                                 list_libraries, load)

__all__ = ["Instance", "Library", "SimpleLibrary", "FolderLibrary", "InstanceSet", "list",
           "list_libraries", "load", "library", "instance_key", "UnknownLibraryError", "EXPECTED"]
