"""Backend registry: discovery through the ``optkit.solvers`` entry-point group.

The core never imports a backend by name; backends (in the repo folder ``solvers/``, installed as
``optkit.solvers``) register in pyproject.toml, and third-party packages can add their own.
``register()`` adds one in-process (tests, notebooks); a name "package.module:Class" loads a
backend class that is not registered at all (used by batch runs for test backends).
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .backend import Backend
from .errors import SolverUnavailableError, UnknownSolverError, UnsupportedProblemError

_ENTRY_GROUP = "optkit.solvers"
_extra: dict[str, Backend] = {}
_cache: dict[str, Backend] = {}
_discovered: dict | None = None

def _entry_points() -> dict:
    global _discovered
    if _discovered is None:
        _discovered = {ep.name: ep for ep in entry_points(group=_ENTRY_GROUP)}
    return _discovered


def register(backend: Backend | type[Backend]) -> Backend:
    """Add a backend in-process (instance or class); it overrides an entry point of that name."""
    inst = backend() if isinstance(backend, type) else backend
    _extra[inst.name] = inst
    _cache.pop(inst.name, None)
    return inst


def unregister(name: str) -> None:
    """Remove a backend added with :func:`register`."""
    _extra.pop(name, None)
    _cache.pop(name, None)


def names() -> list[str]:
    """All registered backend names, sorted."""
    return sorted(set(_entry_points()) | set(_extra))


def get(name: str) -> Backend:
    """The backend called ``name``; unknown names fail listing the registered ones."""
    if not isinstance(name, str):
        raise UnknownSolverError(f"solver must be a backend name (str), got {type(name).__name__}")
    if name in _extra:
        return _extra[name]
    if name in _cache:
        return _cache[name]
    eps = _entry_points()
    if name in eps:
        try:
            cls = eps[name].load()
        except Exception as exc:  # registered but broken or missing module
            raise SolverUnavailableError(f"backend {name!r} is registered but failed to load: "
                                         f"{type(exc).__name__}: {exc}") from exc
    elif ":" in name:
        mod, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownSolverError(f"cannot load backend {name!r}: {exc}") from exc
    else:
        raise UnknownSolverError(f"unknown solver {name!r}; registered backends: "
                                 f"{', '.join(names())}")
    inst = cls() if isinstance(cls, type) else cls
    _cache[name] = inst
    return inst


def available() -> list[str]:
    """Names of the backends whose native code is installed here."""
    return [n for n in names() if get(n).is_available()]


def _try_get(name: str) -> Backend | None:
    try:
        return get(name)
    except Exception:  # a plug-in that fails to load is listed by table(), skipped here
        return None


def accepting(problem_kinds) -> list[str]:
    """Registered (loadable) backends that accept any of the given problem kinds."""
    kinds = set(problem_kinds)
    return [n for n in names() if (b := _try_get(n)) is not None and b.accepts & kinds]


def with_capability(capability: str) -> list[str]:
    """Names of the registered (loadable) backends that declare ``capability``."""
    return [n for n in names() if (b := _try_get(n)) is not None and capability in b.capabilities]


def check(backend: Backend, model) -> None:
    """Raise a clear error when ``backend`` cannot take ``model`` or is not installed."""
    if not backend.accepts & set(model.kinds):
        others = [n for n in accepting(model.kinds) if n != backend.name]
        raise UnsupportedProblemError(
            f"backend '{backend.name}' does not accept a {model.problem_class} problem "
            f"(it accepts {', '.join(sorted(backend.accepts))}); backends that do: "
            f"{', '.join(others) if others else 'none registered'}")
    if not backend.is_available():
        raise SolverUnavailableError(f"backend '{backend.name}' is not available here: "
                                     f"{backend.unavailable_reason()}")


def choose(model) -> Backend:
    """The default backend for a model: the available one with the highest declared priority.

    Each backend ranks itself (``Backend.priority_for``, from its ``priority`` table and, where it
    matters, the model's size); the core names none. Ties go to the name, for determinism.
    """
    kinds = set(model.kinds)
    ranked = []
    for name in names():
        b = _try_get(name)
        if b is None or not (b.accepts & kinds):
            continue
        rank = b.priority_for(model)
        if rank is None or not b.is_available():
            continue
        ranked.append((-float(rank), name, b))
    if not ranked:
        raise UnsupportedProblemError(f"no available backend accepts a {model.problem_class} problem")
    return min(ranked, key=lambda t: (t[0], t[1]))[2]


def best_for(kind: str, exclude: tuple[str, ...] = (), require: frozenset[str] | set[str] = frozenset(),
             model=None) -> Backend:
    """The available backend with the highest priority for problem class ``kind``.

    Used by methods that need an inner solver (a Pareto method's scalarised subproblems, a
    bilevel method's lower level): they ask by capability, never by name. ``require`` lists
    capabilities the backend must declare; ``exclude`` names to skip (the caller itself).
    With ``model`` given, each backend ranks itself for that model (``priority_for``: size-aware).
    """
    ranked = []
    for name in names():
        if name in exclude:
            continue
        b = _try_get(name)
        if b is None or kind not in b.accepts or not set(require) <= set(b.capabilities):
            continue
        rank = b.priority_for(model) if model is not None else b.priority.get(kind)
        if rank is None or not b.is_available():
            continue
        ranked.append((-float(rank), name, b))
    if not ranked:
        need = f" with {', '.join(sorted(require))}" if require else ""
        raise SolverUnavailableError(f"no available backend solves {kind} problems{need}")
    return min(ranked, key=lambda t: (t[0], t[1]))[2]


def table() -> list[dict]:
    """One row per backend: name, accepts, available, version, note (why it is unavailable) and
    extra (the pip extra that brings it; None for the base install)."""
    rows = []
    for n in names():
        try:
            b = get(n)
        except Exception as exc:  # a broken plug-in is listed, not fatal
            rows.append({"name": n, "accepts": "", "available": False, "version": "",
                         "note": f"failed to load: {exc}", "extra": None})
            continue
        ok = b.is_available()
        rows.append({"name": n, "accepts": ",".join(sorted(b.accepts)), "available": ok,
                     "version": b.version() if ok else "",
                     "note": "" if ok else b.unavailable_reason(),
                     "extra": getattr(b, "extra", None)})
    return rows
