"""Problem libraries: named generators of problem instances.

A *library* is any object with ``name``, ``description`` and ``instances(**params)`` returning a
list of :class:`Instance`. Built-in libraries live in the repo folder ``problems/`` (installed as
``optkit.problems``) and register through the ``optkit.problems`` entry-point group, each entry
pointing at a module-level ``library`` object::

    from optkit.problems_api import Instance, SimpleLibrary

    def make_instances(n=10):
        return [Instance(name=f"quad{n}", build=lambda: ok.NLP(...), problem_class="nlp",
                         n=n, m=0, known_objective=0.0, source="formula")]

    library = SimpleLibrary("my-lib", "what it holds", make_instances)

``folder:PATH`` is a built-in loader: every ``*.mps`` / ``*.lp`` (optionally gzipped) file in PATH
becomes an instance built with :func:`optkit.read`; a ``manifest.csv`` beside them (columns
``name,file,kind,expected,objective,n,m``) supplies the expected outcome and known optimum.

:func:`load` returns an :class:`InstanceSet`: a list of instances that remembers the library
name and parameters, so a batch worker can rebuild any instance from ``(spec, params, name)``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import InvalidProblemError, UnknownSolverError

ENTRY_GROUP = "optkit.problems"
EXPECTED = ("optimal", "infeasible", "unbounded", "read_error", "bad_data", "unsupported",
            "front")  # front: a multiobjective instance whose Pareto front is expected
MODEL_SUFFIXES = (".mps", ".lp", ".mps.gz", ".lp.gz", ".qps", ".qps.gz")


@dataclass
class Instance:
    """One named problem of a library.

    ``build()`` takes no argument and returns an optkit model (ok.Problem, ok.NLP,
    ok.LinearProblem, ok.Bilevel, ok.MultiObjective, ...). ``expected`` is one of
    optimal | infeasible | unbounded | read_error | bad_data | unsupported | front (a
    multiobjective instance: a complete Pareto front is expected; ``meta["reference_front"]`` or
    ``meta["exact_front"]``, an array or zero-arg callable, lets reports measure it); ``known_objective`` is
    the published / independently computed optimal value (minimisation units of the model).
    """

    name: str
    build: Callable[[], Any]
    problem_class: str = ""
    n: int | None = None
    m: int | None = None
    known_objective: float | None = None
    expected: str = "optimal"
    source: str = ""
    meta: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """Metadata without the builder (JSON-ready)."""
        return {"name": self.name, "problem_class": self.problem_class, "n": self.n, "m": self.m,
                "known_objective": self.known_objective, "expected": self.expected,
                "source": self.source, "meta": _jsonable(self.meta)}


@runtime_checkable
class Library(Protocol):
    """What a problem library provides."""

    name: str
    description: str

    def instances(self, **params) -> list[Instance]: ...


class SimpleLibrary:
    """A library from a factory function: ``SimpleLibrary("hs-eq", "...", make_instances)``.

    ``instances(**params)`` calls ``factory(**params)`` and checks that it returned Instances
    with distinct names.
    """

    def __init__(self, name: str, description: str, factory: Callable[..., list[Instance]]):
        self.name = name
        self.description = description
        self.factory = factory

    def instances(self, **params) -> list[Instance]:
        out = list(self.factory(**params))
        _check_instances(self.name, out)
        return out

    def __repr__(self) -> str:
        return f"<optkit library {self.name!r}>"


class FolderLibrary:
    """Every MPS/LP file of a folder; expected outcomes from ``manifest.csv`` when present.

    Manifest columns: ``name, file, kind, expected, objective, n, m`` (kind LP/MILP/QP/...,
    expected as in :data:`EXPECTED`, objective empty when unknown). Files not in the manifest get
    ``expected="optimal"`` with no known objective; manifest rows whose file is missing are
    ignored. Parameter ``pattern`` (a glob) restricts the files; ``names`` a list of names.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self.name = f"folder:{self.path}"
        self.description = f"MPS/LP files in {self.path}"

    def _manifest(self) -> dict[str, dict]:
        man = self.path / "manifest.csv"
        if not man.is_file():
            return {}
        try:
            with open(man, newline="", encoding="utf-8") as fh:
                return {row["file"]: row for row in csv.DictReader(fh) if row.get("file")}
        except UnicodeDecodeError as exc:
            raise InvalidProblemError(f"{man}: not UTF-8 text ({exc.reason} at byte "
                                      f"{exc.start})") from exc

    def instances(self, pattern: str | None = None, names: list[str] | None = None
                  ) -> list[Instance]:
        if not self.path.is_dir():
            raise InvalidProblemError(f"folder library: {self.path} is not a directory")
        manifest = self._manifest()
        files = sorted(p for p in self.path.iterdir()
                       if p.is_file() and p.name.lower().endswith(MODEL_SUFFIXES))
        if pattern:
            files = [p for p in files if p.match(pattern)]
        out = []
        for p in files:
            row = manifest.get(p.name, {})
            name = row.get("name") or _stem(p.name)
            if names is not None and name not in names:
                continue
            out.append(Instance(
                name=name, build=_FileBuilder(str(p)),
                problem_class=(row.get("kind") or "").lower(),
                n=_int(row.get("n")), m=_int(row.get("m")),
                known_objective=_float(row.get("objective")),
                expected=(row.get("expected") or "optimal").strip().lower(),
                source=str(p), meta={"file": str(p), "sha256": _file_hash(p)}))
        _check_instances(self.name, out)
        return out

    def __repr__(self) -> str:
        return f"<optkit library {self.name!r}>"


class _FileBuilder:
    """Picklable zero-arg builder: ``optkit.read(path)``."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self):
        from .modeling import read

        return read(self.path)

    def __repr__(self) -> str:
        return f"read({self.path!r})"


class InstanceSet(list):
    """The instances of one library for given parameters (a list with provenance).

    ``spec`` is what :func:`library` accepts ("hs-eq", "folder:/data/mps"), ``params`` the keyword
    arguments given to ``instances()``; together with an instance name they rebuild the instance
    in another process: ``load(spec, **params).get(name)``.
    """

    def __init__(self, instances, spec: str = "", params: dict | None = None,
                 description: str = ""):
        super().__init__(instances)
        self.spec = spec
        self.name = spec
        self.params = dict(params or {})
        self.description = description

    def get(self, name: str) -> Instance:
        for inst in self:
            if inst.name == name:
                return inst
        raise KeyError(f"library {self.spec!r} has no instance {name!r}")

    def names(self) -> list[str]:
        return [i.name for i in self]

    def instances(self, **params) -> list[Instance]:
        """Library protocol: the held instances (parameters must match those loaded with)."""
        if params and params != self.params:
            return load(self.spec, **params)
        return list(self)


# ---------------------------------------------------------------- discovery
def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_GROUP)}


def list_libraries() -> list[dict]:
    """One row per registered library: name, description, loadable (and the error if not)."""
    rows = []
    for name, ep in sorted(_entry_points().items()):
        try:
            lib = ep.load()
            rows.append({"name": name, "description": getattr(lib, "description", ""),
                         "loadable": True, "note": ""})
        except Exception as exc:  # a broken plug-in is listed, not fatal
            rows.append({"name": name, "description": "", "loadable": False,
                         "note": f"failed to load: {type(exc).__name__}: {exc}"})
    rows.append({"name": "folder:PATH", "description": "every MPS/LP file in PATH "
                 "(expected outcomes from PATH/manifest.csv)", "loadable": True, "note": ""})
    return rows


def library_names() -> list[str]:
    """Names of the registered libraries (plus the ``folder:PATH`` loader); also reachable as
    ``ok.problems.list()``, the documented name (a module ``__getattr__`` in :mod:`optkit.problems`,
    so that no module defines a function that shadows the builtin ``list``)."""
    return [r["name"] for r in list_libraries()]


def library(spec: Any) -> Any:
    """The library object for a spec: a registered name, ``folder:PATH`` or a library itself."""
    if not isinstance(spec, str):
        if hasattr(spec, "instances"):
            return spec
        raise TypeError(f"a library must be a name, 'folder:PATH' or an object with "
                        f"instances(); got {type(spec).__name__}")
    if spec.startswith("folder:"):
        return FolderLibrary(spec[len("folder:"):])
    eps = _entry_points()
    if spec in eps:
        return eps[spec].load()
    if ":" in spec and not spec.startswith("folder"):  # "package.module:attr"
        import importlib

        mod, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownLibraryError(f"cannot load library {spec!r}: {exc}") from exc
    raise UnknownLibraryError(f"unknown problem library {spec!r}; registered: "
                              f"{', '.join(sorted(eps)) or 'none'} (or folder:PATH)")


def load(spec: Any, **params) -> InstanceSet:
    """The instances of a library (``ok.problems.load("hs-eq", n=100)``)."""
    lib = library(spec)
    insts = lib.instances(**params)
    name = spec if isinstance(spec, str) else getattr(lib, "name", type(lib).__name__)
    return InstanceSet(insts, spec=name, params=params,
                       description=getattr(lib, "description", ""))


class UnknownLibraryError(UnknownSolverError):
    """No problem library of that name is registered."""


# ---------------------------------------------------------------- helpers
def instance_key(inst: Instance, spec: str = "", params: dict | None = None) -> str:
    """Content hash of an instance: the file bytes for file instances, else its description.

    File instances hash ``meta["sha256"]`` (the file's content) and their name (so two identical
    files in one folder are two problems); generated ones hash
    (library spec, params, name, class, n, m, known objective, meta["hash"] if given), so a
    library that changes an instance should change its ``meta["hash"]`` (or its name).
    """
    if inst.meta.get("sha256"):
        payload = {"sha256": inst.meta["sha256"], "name": inst.name}
    else:
        payload = {"library": spec, "params": _jsonable(params or {}), "name": inst.name,
                   "class": inst.problem_class, "n": inst.n, "m": inst.m,
                   "known": inst.known_objective, "hash": inst.meta.get("hash")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _check_instances(lib: str, insts) -> None:
    seen = set()
    for i in insts:
        if not isinstance(i, Instance):
            raise InvalidProblemError(f"library {lib!r}: instances() must return Instance "
                                      f"objects, got {type(i).__name__}")
        if i.name in seen:
            raise InvalidProblemError(f"library {lib!r}: duplicate instance name {i.name!r}")
        if i.expected not in EXPECTED:
            raise InvalidProblemError(f"library {lib!r}, instance {i.name!r}: expected must be "
                                      f"one of {', '.join(EXPECTED)}, got {i.expected!r}")
        seen.add(i.name)


def _file_hash(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stem(fname: str) -> str:
    for suf in sorted(MODEL_SUFFIXES, key=len, reverse=True):
        if fname.lower().endswith(suf):
            return fname[: -len(suf)]
    return fname


def _int(s) -> int | None:
    try:
        return int(s) if s not in (None, "") else None
    except ValueError:
        return None


def _float(s) -> float | None:
    try:
        v = float(s) if s not in (None, "") else None
    except ValueError:
        return None
    return v if v is None or math.isfinite(v) else None


def _jsonable(o: Any) -> Any:
    return json.loads(json.dumps(o, default=str))


__all__ = ["Instance", "Library", "SimpleLibrary", "FolderLibrary", "InstanceSet", "library_names",
           "list_libraries", "load", "library", "instance_key", "UnknownLibraryError", "EXPECTED"]
