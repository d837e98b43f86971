"""Code health: ruff and mypy pass with the configuration in pyproject.toml, library code never
prints, no module defines a function shadowing a builtin, no public function shares its name
with a module of optkit, and ``pytest`` and ``python -m pytest`` collect the same tests."""
from __future__ import annotations

import ast
import builtins
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import optkit as ok
from optkit.testing.skips import require_module

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("optkit", "solvers", "problems")
#: user-facing output of the command line (it prints on purpose)
PRINT_ALLOWED = ("optkit/cli.py", "optkit/cli/")


def _library_files() -> list[Path]:
    return sorted(p for top in LIBRARY for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def _run(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def test_ruff_passes():
    require_module("ruff")
    proc = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."])
    assert proc.returncode == 0, f"ruff check . found:\n{proc.stdout[-6000:]}{proc.stderr[-2000:]}"


@pytest.mark.slow
def test_mypy_passes_on_the_core():
    require_module("mypy")
    proc = _run([sys.executable, "-m", "mypy"])  # files and strictness: [tool.mypy]
    assert proc.returncode == 0, f"mypy found:\n{proc.stdout[-6000:]}{proc.stderr[-2000:]}"


def test_no_print_in_library_code():
    found = []
    for path in _library_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(PRINT_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                found.append(f"{rel}:{node.lineno}")
    assert found == [], f"print() in library code (log through optkit.log instead): {found}"


def test_no_module_level_definition_shadows_a_builtin():
    names = set(dir(builtins))
    found = []
    for path in _library_files():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.parse(path.read_text(), filename=rel).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
                found.append(f"{rel}:{node.lineno} {node.name}")
    assert found == [], f"definitions shadowing builtins: {found}"
    assert callable(ok.problems.list) and "folder:PATH" in ok.problems.list()  # the documented name


def test_no_public_function_shares_its_name_with_a_module():
    modules = {p.stem for p in (ROOT / "optkit").glob("*.py")} | \
              {p.parent.name for p in (ROOT / "optkit").glob("*/__init__.py")}
    clashes = [n for n in ok.__all__ if isinstance(getattr(ok, n), types.FunctionType) and n in modules]
    assert clashes == [], f"optkit.<name> is both a module and a function: {clashes}"


def _collected(cmd: list[str]) -> list[str]:
    proc = _run(cmd + ["--collect-only", "-q", "-p", "no:cacheprovider"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return sorted(line for line in proc.stdout.splitlines() if "::" in line)


@pytest.mark.slow
def test_both_pytest_invocations_collect_the_same_tests():
    exe = Path(sys.executable).parent / "pytest"
    plain = str(exe) if exe.exists() else shutil.which("pytest")
    assert plain, "the pytest command is not installed"
    as_module = _collected([sys.executable, "-m", "pytest"])
    assert len(as_module) > 500
    assert _collected([plain]) == as_module


def test_declared_markers_are_used():
    """``slow`` and ``backend`` (pyproject.toml) mark tests, as decorators or ``pytestmark``."""
    used: dict[str, set[str]] = {"slow": set(), "backend": set()}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in used and \
                    isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
                used[node.attr].add(path.name)
    assert len(used["slow"]) >= 5 and len(used["backend"]) >= 2, used
