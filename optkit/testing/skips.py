"""Skip helpers for tests that need an optional backend or module, importable from any test
(``from optkit.testing.skips import require_backend``) whichever way pytest is started.

A missing backend or module skips the test, unless the environment variable
``OPTKIT_REQUIRE_BACKENDS=1`` is set (CI sets it): then it fails, so that nothing a test needs can
go missing silently there. Third-party backends can use the same helpers in their own tests.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

REQUIRE_ENV = "OPTKIT_REQUIRE_BACKENDS"


def strict() -> bool:
    """True when missing backends must fail instead of skip (``OPTKIT_REQUIRE_BACKENDS=1``)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def require_backend(name: str) -> Any:
    """Return the backend ``name``, or skip (fail under ``OPTKIT_REQUIRE_BACKENDS=1``) when it is
    not registered, fails to load or is not available here; the reason names the pip extra."""
    import pytest

    from optkit import registry

    try:
        backend = registry.get(name)
        ok = backend.is_available()
        why = "" if ok else backend.unavailable_reason()
    except Exception as exc:  # not registered or fails to load
        ok, why, backend = False, str(exc), None
    if not ok:
        msg = f"backend {name!r} unavailable: {why}"
        if strict():
            pytest.fail(msg + f" ({REQUIRE_ENV}=1)")
        pytest.skip(msg)
    return backend


def require_module(module: str) -> ModuleType:
    """Import an optional module, or skip (fail under ``OPTKIT_REQUIRE_BACKENDS=1``) when it is
    missing."""
    import importlib

    import pytest

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if strict():
            pytest.fail(f"module {module!r} missing: {exc} ({REQUIRE_ENV}=1)")
        pytest.skip(f"module {module!r} missing")
