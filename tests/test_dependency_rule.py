"""The dependency rule: the core package never depends on a particular backend or library.

The core is every .py file under the repo folder optkit/ (the installed packages optkit.solvers and
optkit.problems live in the repo folders solvers/ and problems/, and are not scanned). Parsed
with ``ast``, a core file must not

1. import ``optkit.solvers.<anything>`` or ``optkit.problems.<anything>`` — absolute or relative
   (``from ..solvers import highs``), or through a string (``importlib.import_module(
   "optkit.solvers.highs")``). The packages themselves may be imported (``from . import
   solvers``: the callable listing), and so may ``optkit.problems_api``;
2. name a registered backend (``optkit.registry.names()``) as a string literal in code: a string
   constant whose whole value is a backend name (``solve(p, "ipopt")``, ``return "highs"``).
   Docstrings and comments are free, and so is the name inside longer strings or identifiers
   ("highs_options", "scipy.optimize").

Two exceptions are declared below, each with its reason: names that are also the core's own
vocabulary, allowed except where a backend goes (:data:`VOCABULARY`), and the conformance
suite's declaration tables, whose whole point is to name backends (:data:`DECLARATION_TABLES`).
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from optkit import registry

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "optkit"
FORBIDDEN = ("optkit.solvers", "optkit.problems")

#: backend names that are also ordinary words of the core, allowed except in a backend position
#: (an argument of solve / registry lookups, a ``solver=``/``backend=`` keyword, a return value,
#: a comparison with ``.solver`` or ``.name``)
VOCABULARY = {
    "kkt": "the overall KKT residual's key in every report (optkit.kkt, Result.kkt['kkt'])",
    "cvxpy": "the modelling library itself (a model 'written in cvxpy', cvxpy's derivative "
             "engine), not the backend of that name",
}

#: (file relative to the repo, module-level name) whose literal contents may name backends
DECLARATION_TABLES = {
    ("optkit/testing/conformance.py", "EXCLUSIONS"):
        "the suite's declared (backend, case) exclusions, with reasons",
    ("optkit/testing/conformance.py", "ALLOWANCES"):
        "the suite's declared (backend, case) extra accepted terminations, with reasons",
}

#: calls whose arguments are backend names: any ``solve(...)``/``ok.solve(...)``, and the
#: registry's lookups when called on ``registry`` (``registry.get``; a dict's ``.get`` is not one)
SOLVE_CALLS = {"solve", "run_conformance", "conformance_cases", "solve_many"}
REGISTRY_CALLS = {"get", "best_for", "check", "register", "unregister", "_try_get", "choose"}
BACKEND_KEYWORDS = {"solver", "backend", "solvers", "inner", "inner_solver", "lower_solver",
                    "method"}


def _core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """Absolute module of a ``from ... import`` in ``path``."""
    if not node.level:
        return node.module or ""
    pkg = _module_name(path).split(".")
    if not _is_package(path):
        pkg = pkg[:-1]
    base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
    return ".".join(base + ([node.module] if node.module else []))


def _forbidden(module: str) -> bool:
    return any(module.startswith(f + ".") for f in FORBIDDEN)


def _is_submodule(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    out = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _backend_call(call: ast.Call) -> bool:
    """True for a call whose positional arguments are backend names (see SOLVE_CALLS)."""
    f = call.func
    if isinstance(f, ast.Name):
        return f.id in SOLVE_CALLS
    if isinstance(f, ast.Attribute):
        if f.attr in SOLVE_CALLS:
            return True
        return f.attr in REGISTRY_CALLS and isinstance(f.value, ast.Name) and f.value.id == "registry"
    return False


def _backend_position(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """True when the literal sits where a backend name goes (see VOCABULARY)."""
    child, parent = node, parents.get(id(node))
    while isinstance(parent, (ast.IfExp, ast.BoolOp, ast.Tuple, ast.List)):
        child, parent = parent, parents.get(id(parent))
    if isinstance(parent, ast.Return):
        return True
    if isinstance(parent, ast.Call) and child in parent.args and _backend_call(parent):
        return True
    if isinstance(parent, ast.keyword) and parent.arg in BACKEND_KEYWORDS:
        return True
    if isinstance(parent, ast.Compare):
        sides = [parent.left] + list(parent.comparators)
        return any(isinstance(s, ast.Attribute) and s.attr in ("solver", "name") for s in sides)
    return False


def _table_nodes(tree: ast.AST, rel: str) -> set[int]:
    """ids of every node inside a declared table's assignment."""
    names = {name for (f, name) in DECLARATION_TABLES if f == rel}
    out: set[int] = set()
    for node in getattr(tree, "body", []):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        if names & set(targets):
            out |= {id(n) for n in ast.walk(node)}
    return out


def violations() -> list[str]:
    """Every violation of the rule in the core, as 'file:line: what'."""
    backends = set(registry.names())
    found = []
    for path in _core_files():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(), filename=rel)
        docs = _docstrings(tree)
        parents = _parents(tree)
        tables = _table_nodes(tree, rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _forbidden(alias.name):
                        found.append(f"{rel}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.ImportFrom):
                module = _resolve(path, node)
                if _forbidden(module):
                    found.append(f"{rel}:{node.lineno}: from {module} import "
                                 f"{', '.join(a.name for a in node.names)}")
                elif module in FORBIDDEN:
                    subs = [a.name for a in node.names if _is_submodule(module, a.name)]
                    if subs:
                        found.append(f"{rel}:{node.lineno}: from {module} import {', '.join(subs)}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docs or id(node) in tables:
                    continue
                value = node.value
                if _forbidden(value.split(":")[0]):
                    found.append(f"{rel}:{node.lineno}: module path {value!r} as a string")
                elif value in backends:
                    if value in VOCABULARY and not _backend_position(node, parents):
                        continue
                    found.append(f"{rel}:{node.lineno}: names backend {value!r}")
    return found


def test_core_does_not_depend_on_backends():
    found = violations()
    assert not found, "the core names or imports backends:\n" + "\n".join(found)


# ---------------------------------------------------------------------- the rule itself
def _scan_source(tmp_path: Path, source: str, name: str = "mod.py") -> list[str]:
    """Run the literal/import checks on a snippet placed as optkit/_probe/<name>."""
    global ROOT, CORE
    probe = tmp_path / "optkit" / "_probe"
    probe.mkdir(parents=True)
    (tmp_path / "optkit" / "__init__.py").write_text("")
    (probe / "__init__.py").write_text("")
    (probe / name).write_text(source)
    saved = ROOT, CORE
    ROOT, CORE = tmp_path, tmp_path / "optkit"
    try:
        return violations()
    finally:
        ROOT, CORE = saved


@pytest.mark.parametrize("source, expected", [
    ('from optkit.solvers.highs import HighsBackend\n', 1),
    ('from ..solvers import highs\n', 1),           # relative: optkit._probe.mod → optkit.solvers
    ('from ..solvers.highs import HighsBackend\n', 1),
    ('from .. import solvers\n', 0),                # the package itself (the listing)
    ('import optkit.problems.hs_eq\n', 1),
    ('import importlib\nimportlib.import_module("optkit.solvers.ipopt")\n', 1),
    ('def f(solve, p):\n    return solve(p, "ipopt")\n', 1),
    ('def f():\n    return "kkt"\n', 1),           # vocabulary word in a backend position
    ('R = {"kkt": 1.0}\nv = R["kkt"]\nw = R.get("kkt")\n', 0),  # the residual's key
    ('from optkit import registry\nb = registry.get("kkt")\n', 1),  # the bilevel backend
    ('def f(res):\n    return res.solver == "highs"\n', 1),
    ('"""Docstring naming highs and "ipopt"."""\n# comment: "scipy"\nx = "highs_options"\n', 0),
    ('from . import mod2\n', 0),
    ('MODULES = ["scipy.optimize"]\n', 0),
])
def test_rule_on_snippets(tmp_path, source, expected):
    found = _scan_source(tmp_path, source)
    assert len(found) == expected, found
