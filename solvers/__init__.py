"""optkit.solvers: the backends, each in its own module, registered by entry point.

The package itself is callable: ``ok.solvers()`` lists the registered backends (see
:func:`optkit.registry.table`). Nothing here imports a backend.
"""
from __future__ import annotations

import sys
import types


class _SolversModule(types.ModuleType):
    def __call__(self, available_only: bool = False) -> list[dict]:
        """Rows name, accepts, available, version, note; only available ones if asked."""
        from optkit import registry

        rows = registry.table()
        return [r for r in rows if r["available"]] if available_only else rows


sys.modules[__name__].__class__ = _SolversModule
