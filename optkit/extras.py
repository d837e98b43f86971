"""Optional dependencies: "feature X needs extra Y", said in one line.

The base install carries the modelling layer and the default backends; the rest comes with pip
extras (``pip install 'optkit[hs]'``; the table is in ``docs/install.md``). A feature that needs an
optional module asks for it here instead of importing it bare, so that a missing one gives

    MissingExtraError: the hs-eq problem library needs the 'hs' extra: pip install 'optkit[hs]'
    (module 'sympy' is not installed)

rather than a ``ModuleNotFoundError`` traceback. Backends do not call this: they declare
``requires`` (modules) and ``extra`` (the extra that brings them) and the registry reports both.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import MissingExtraError


def install_hint(extra: str) -> str:
    """The pip command that brings ``extra``."""
    return f"pip install 'optkit[{extra}]'"


def missing_message(feature: str, extra: str, module: str | None = None) -> str:
    """The one-line message: "FEATURE needs the 'EXTRA' extra: pip install 'optkit[EXTRA]'"."""
    why = f" (module {module!r} is not installed)" if module else ""
    return f"{feature} needs the {extra!r} extra: {install_hint(extra)}{why}"


def has(module: str) -> bool:
    """True when ``module`` can be imported here (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import and return ``module``; raise :class:`~optkit.errors.MissingExtraError` (an
    ``ImportError``) naming ``feature`` and the pip ``extra`` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] == top:
            raise MissingExtraError(missing_message(feature, extra, module)) from exc
        # installed but broken: still one line, with the import's own reason
        raise MissingExtraError(f"{feature} needs {module!r} (the {extra!r} extra), which failed to "
                                f"import: {exc}") from exc
