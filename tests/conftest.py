"""Shared fixtures and hooks of the test suite.

The skip helpers live in :mod:`optkit.testing.skips` (importable the same way under ``pytest`` and
``python -m pytest``; new tests import them from there): ``require_backend(name)`` and
``require_module(module)`` skip when something optional is missing — unless the environment
variable OPTKIT_REQUIRE_BACKENDS=1 (set by CI), which turns the skip into a failure. They are
re-exported here for the modules that do ``from conftest import require_backend``.

Markers (declared in pyproject.toml): ``@pytest.mark.backend("ipopt", ...)`` runs
``require_backend`` for each name before the test; ``@pytest.mark.slow`` marks tests of about a
second or more, left out by the fast local subset ``pytest -m "not slow"`` (CI runs everything).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from optkit.testing.skips import require_backend, require_module

__all__ = ["MPS_DIR", "SHARED", "require_backend", "require_module"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
MPS_DIR = Path(os.environ.get("OPTKIT_MPS_DIR", SHARED / "data" / "mps"))


def pytest_runtest_setup(item):
    """``@pytest.mark.backend(name, ...)``: each named backend must be available (skip, or fail
    under OPTKIT_REQUIRE_BACKENDS=1)."""
    for mark in item.iter_markers(name="backend"):
        for name in mark.args:
            require_backend(name)


@pytest.fixture
def mixed_rows_lp():
    """An LP with upper, lower, range and equality rows and boxed columns (seeded), for checking
    multiplier signs against HiGHS."""
    import numpy as np

    import optkit as ok

    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 4))
    r = A @ rng.uniform(size=4)
    rl = np.array([r[0] - 1, -np.inf, r[2], r[3] - 0.5, r[4] - 2, -np.inf])
    ru = np.array([np.inf, r[1] + 1, r[2], r[3] + 0.5, np.inf, r[5] + 3])
    return ok.LinearProblem(c=rng.normal(size=4), A=A, rl=rl, ru=ru, lb=-2, ub=2)


@pytest.fixture
def mps_dir() -> Path:
    """The shared MPS/LP instances (../shared/data/mps), never copied into the project."""
    if not MPS_DIR.is_dir():
        pytest.fail(f"shared MPS folder not found at {MPS_DIR}")
    return MPS_DIR


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With OPTKIT_REQUIRE_BACKENDS=1 (CI), any skip — importorskip, pytest.skip — is a failure:
    nothing a test needs may silently go missing there."""
    outcome = yield
    report = outcome.get_result()
    if (os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1" and report.skipped
            and not hasattr(report, "wasxfail")):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (OPTKIT_REQUIRE_BACKENDS=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at import (module-level importorskip)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1" and report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"module skipped in CI (OPTKIT_REQUIRE_BACKENDS=1): {reason}"
