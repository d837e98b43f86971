"""Shared test helpers.

``require_backend(name)``: skip when a backend is not available here — unless the environment
variable OPTKIT_REQUIRE_BACKENDS=1 (set by CI), which turns the skip into a failure.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
MPS_DIR = Path(os.environ.get("OPTKIT_MPS_DIR", SHARED / "data" / "mps"))


def require_backend(name: str):
    """Return the backend, or skip/fail (CI) when it is not available."""
    from optkit import registry

    try:
        backend = registry.get(name)
        ok = backend.is_available()
        why = "" if ok else backend.unavailable_reason()
    except Exception as exc:  # not registered or fails to load
        ok, why, backend = False, str(exc), None
    if not ok:
        msg = f"backend {name!r} unavailable: {why}"
        if os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1":
            pytest.fail(msg + " (OPTKIT_REQUIRE_BACKENDS=1)")
        pytest.skip(msg)
    return backend


def require_module(module: str):
    """Import an optional module, or skip/fail (CI) when it is missing."""
    try:
        return __import__(module)
    except ImportError as exc:
        if os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"module {module!r} missing: {exc} (OPTKIT_REQUIRE_BACKENDS=1)")
        pytest.skip(f"module {module!r} missing")


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
