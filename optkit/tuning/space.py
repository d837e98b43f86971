"""The parameter space a tuner chooses from: grids, intervals and categorical choices.

A space is a product of named parameters; its *arms* are the points of the product, in a fixed
order (the first parameter varies slowest). The bandit policies learn over that finite set, as in
Khodak et al. (ICLR 2024), who learn ω on a grid Ω_d of d values:

- :class:`Grid` ``(name, values)``: the given numbers;
- :class:`Interval` ``(name, low, high, num, log=False)``: ``num`` evenly spaced points of
  [low, high] (geometric when ``log``); the grid's discretisation error is part of the regret
  against the continuum (the paper's bound adds it separately);
- :class:`Categorical` ``(name, choices)``: any JSON-representable values (strings, ints, ...).
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import OptionError


@dataclass(frozen=True)
class Grid:
    """A parameter taking one of the given numeric values."""

    name: str
    values: tuple

    def __post_init__(self) -> None:
        vals = tuple(self.values)
        if not vals:
            raise OptionError(f"parameter {self.name!r}: a grid needs at least one value")
        for v in vals:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise OptionError(f"parameter {self.name!r}: grid value {v!r} is not a finite number")
        if len(set(vals)) != len(vals):
            raise OptionError(f"parameter {self.name!r}: grid values repeat: {list(vals)}")
        object.__setattr__(self, "values", vals)

    def to_dict(self) -> dict:
        return {"type": "grid", "name": self.name, "values": list(self.values)}


@dataclass(frozen=True)
class Interval:
    """``num`` points of [low, high], evenly spaced (or geometrically, ``log=True``)."""

    name: str
    low: float
    high: float
    num: int = 8
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise OptionError(f"parameter {self.name!r}: interval needs finite low < high, got "
                              f"[{self.low}, {self.high}]")
        if not (isinstance(self.num, int) and self.num >= 2):
            raise OptionError(f"parameter {self.name!r}: num must be an integer >= 2, got {self.num!r}")
        if self.log and self.low <= 0:
            raise OptionError(f"parameter {self.name!r}: a log interval needs low > 0, got {self.low}")

    @property
    def values(self) -> tuple:
        """The grid points of the interval."""
        pts = (np.geomspace(self.low, self.high, self.num) if self.log
               else np.linspace(self.low, self.high, self.num))
        if self.integer:
            out = tuple(dict.fromkeys(int(round(p)) for p in pts))
            return out
        return tuple(float(round(p, 12)) for p in pts)

    def to_dict(self) -> dict:
        return {"type": "interval", "name": self.name, "low": self.low, "high": self.high,
                "num": self.num, "log": self.log, "integer": self.integer}


@dataclass(frozen=True)
class Categorical:
    """A parameter taking one of the given (JSON-representable) choices."""

    name: str
    choices: tuple

    def __post_init__(self) -> None:
        ch = tuple(self.choices)
        if not ch:
            raise OptionError(f"parameter {self.name!r}: needs at least one choice")
        try:
            json.dumps(list(ch))
        except TypeError as exc:
            raise OptionError(f"parameter {self.name!r}: choices must be JSON values: {exc}") from exc
        object.__setattr__(self, "choices", ch)

    @property
    def values(self) -> tuple:
        return self.choices

    def to_dict(self) -> dict:
        return {"type": "categorical", "name": self.name, "choices": list(self.choices)}


_TYPES = {"grid": Grid, "interval": Interval, "categorical": Categorical}


class Space:
    """A product of parameters; ``arms`` lists every combination as an options dict.

    ``Space(Interval("omega", 1.0, 1.9, 10))``, ``Space({"omega": [1.0, 1.5], "sketch": ["a", "b"]})``
    (a mapping: numeric lists become grids, other lists categorical), or several parameters.
    """

    def __init__(self, *params: Any, **named: Any):
        items: list = []
        for p in params:
            if isinstance(p, Mapping):
                items.extend(_from_mapping(p))
            elif isinstance(p, (Grid, Interval, Categorical)):
                items.append(p)
            else:
                raise OptionError(f"a Space takes Grid, Interval, Categorical or a mapping; got "
                                  f"{type(p).__name__}")
        items.extend(_from_mapping(named))
        if not items:
            raise OptionError("a Space needs at least one parameter")
        names = [p.name for p in items]
        if len(set(names)) != len(names):
            raise OptionError(f"parameter names repeat in the space: {names}")
        self.params: tuple = tuple(items)
        self.arms: list[dict] = [dict(zip(names, combo))
                                 for combo in itertools.product(*(p.values for p in items))]

    @property
    def names(self) -> list[str]:
        """The parameter names."""
        return [p.name for p in self.params]

    def __len__(self) -> int:
        return len(self.arms)

    def index(self, options: Mapping[str, Any]) -> int:
        """The arm number of an options dict (exact match on every parameter)."""
        key = tuple(options[n] for n in self.names)
        for i, arm in enumerate(self.arms):
            if tuple(arm[n] for n in self.names) == key:
                return i
        raise OptionError(f"{dict(options)} is not an arm of the space {self.describe()}")

    def describe(self) -> str:
        """One line: each parameter and its values."""
        return "; ".join(f"{p.name} in {list(p.values)}" for p in self.params)

    def to_dict(self) -> dict:
        return {"params": [p.to_dict() for p in self.params]}

    @classmethod
    def from_dict(cls, d: Mapping) -> Space:
        params = []
        for p in d["params"]:
            p = dict(p)
            kind = _TYPES[p.pop("type")]
            if kind is Grid:
                p["values"] = tuple(p["values"])
            if kind is Categorical:
                p["choices"] = tuple(p["choices"])
            params.append(kind(**p))
        return cls(*params)

    def __repr__(self) -> str:
        return f"Space({self.describe()}; {len(self)} arms)"


def _from_mapping(m: Mapping) -> Iterable:
    for name, vals in m.items():
        if isinstance(vals, (Grid, Interval, Categorical)):
            yield vals
            continue
        vals = tuple(vals)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        yield Grid(name, vals) if numeric and vals else Categorical(name, vals)
