"""``Tuner``: a solver-agnostic online learner of solver options — ``choose(context) → options``,
``observe(cost)``.

    tuner = Tuner(Space(Interval("omega", 1.0, 1.9, 10)), policy="tsallis-inf", seed=0)
    for problem in problems:
        opts = tuner.choose()                    # {"omega": 1.4}
        res = ok.solve(problem, "sor", **opts)
        tuner.observe(res.iterations)

The tuner holds the space, the policy (:mod:`optkit.tuning.policies`), a seeded numpy Generator
and the history of (arm, context, cost). Choices may be outstanding: ``choose(key=k)`` …
``observe(cost, key=k)`` pairs them by key (the batch runner's job keys), otherwise the oldest
outstanding choice is the one observed. ``to_dict()``/``from_dict()`` (JSON) save and restore
everything, the generator's state included, so a resumed tuner continues exactly where it stopped.
Costs are nonnegative numbers (iterations, seconds); a failed solve is reported as
``observe(cap)`` by the caller (:func:`optkit.sequence.solve_sequence` uses the iteration budget).

:meth:`regret` compares the tuner's realised cost with a reference run (the cost of every arm on
every instance): the best fixed arm in hindsight, the instance-optimal choice, and the regrets.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import OptionError
from .policies import POLICIES, Fixed, Policy
from .space import Space

STATE_VERSION = 1


class Tuner:
    """Online tuner of solver options (see module docstring).

    ``policy``: "tsallis-inf", "chebcb", "fixed", "random", or a Policy instance; ``scale``: the
    cost that maps to loss 1 (None: the largest cost observed so far; a given scale also makes
    Tsallis-INF learn from these [0, 1] losses, ``normalise="loss"``, instead of its default
    cost / running mean); ``fixed``: for policy="fixed", the options dict (or arm index) to use;
    other keywords go to the policy (``eta0``, ``estimator``, ``normalise``; ``context_range``,
    ``degree``, ``beta``, ``ridge``).
    """

    def __init__(self, space: Space | Mapping, policy: str | Policy = "tsallis-inf",
                 seed: int | None = 0, scale: float | None = None, fixed: Any = None,
                 **policy_options: Any):
        self.space = space if isinstance(space, Space) else Space(space)
        if scale is not None and not (isinstance(scale, (int, float)) and scale > 0
                                      and math.isfinite(scale)):
            raise OptionError(f"scale must be a positive number, got {scale!r}")
        self.scale = None if scale is None else float(scale)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise OptionError(f"seed must be an integer, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        if isinstance(policy, Policy):
            self.policy = policy
        else:
            if policy not in POLICIES:
                raise OptionError(f"unknown tuning policy {policy!r}; policies: "
                                  f"{', '.join(POLICIES)}")
            if policy == "tsallis-inf" and self.scale is not None:
                policy_options.setdefault("normalise", "loss")  # a given scale is the bound
            if policy == "fixed":
                arm = 0 if fixed is None else (fixed if isinstance(fixed, (int, np.integer))
                                               else self.space.index(fixed))
                policy_options["arm"] = int(arm)
            self.policy = POLICIES[policy](len(self.space), **policy_options)
        self.max_cost = 0.0
        self.arms: list[int] = []
        self.contexts: list[Any] = []
        self.costs: list[float] = []
        self.pending: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._counter = 0

    # ------------------------------------------------------------------ the loop
    def choose(self, context: Any = None, key: str | None = None) -> dict:
        """The options for the next solve (an arm of the space), given the context if any."""
        if self.policy.contextual and context is None:
            raise OptionError(f"policy {self.policy.name!r} is contextual: choose(context=...) "
                              f"needs the instance's context")
        arm = self.policy.pick(context, self.rng)
        if key is None:
            key = f"#{self._counter}"
        self._counter += 1
        if key in self.pending:
            raise OptionError(f"a choice with key {key!r} is already waiting for its cost")
        self.pending[key] = (arm, _plain(context))
        return dict(self.space.arms[arm])

    def observe(self, cost: float, key: str | None = None) -> None:
        """The cost of the solve made with the choice ``key`` (default: the oldest outstanding)."""
        if not self.pending:
            raise OptionError("observe(cost) without a choice: call choose() first")
        if key is None:
            key = next(iter(self.pending))
        if key not in self.pending:
            raise OptionError(f"no outstanding choice with key {key!r}")
        try:
            c = float(cost)
        except (TypeError, ValueError):
            raise OptionError(f"cost must be a number, got {cost!r}") from None
        if not (math.isfinite(c) and c >= 0):
            raise OptionError(f"cost must be a finite nonnegative number, got {cost!r}")
        arm, context = self.pending.pop(key)
        self.max_cost = max(self.max_cost, c)
        self.policy.update(arm, context, self.loss(c), c)
        self.arms.append(arm)
        self.contexts.append(context)
        self.costs.append(c)

    def loss(self, cost: float) -> float:
        """ℓ = min(cost / scale, 1) (scale: given, or the largest cost observed so far)."""
        scale = self.scale if self.scale is not None else self.max_cost
        return min(cost / scale, 1.0) if scale > 0 else 0.0

    # ------------------------------------------------------------------ accounting
    @property
    def total_cost(self) -> float:
        """Sum of the observed costs."""
        return float(sum(self.costs))

    @property
    def rounds(self) -> int:
        """Number of observed rounds."""
        return len(self.costs)

    def chosen(self) -> list[dict]:
        """The options chosen in each observed round."""
        return [dict(self.space.arms[a]) for a in self.arms]

    def regret(self, reference: Any) -> dict:
        """Regret against a reference run: ``reference[t][i]`` = cost of arm i on instance t
        (rounds in the order observed; shape rounds × arms).

        Returns the tuner's total, the best fixed arm in hindsight (its options and total), the
        instance-optimal total (Σₜ minᵢ costₜ,ᵢ), ``regret`` = total − best fixed and
        ``regret_instance`` = total − instance-optimal, and the realised-vs-reference check
        (``mismatch``: rounds whose observed cost differs from the reference entry).
        """
        R = np.asarray(reference, dtype=float)
        T = self.rounds
        if R.ndim != 2 or R.shape[1] != len(self.space) or R.shape[0] < T:
            raise OptionError(f"reference must be (rounds >= {T}) x {len(self.space)} costs, got "
                              f"shape {R.shape}")
        R = R[:T]
        fixed_totals = R.sum(axis=0)
        best = int(np.argmin(fixed_totals))
        total = self.total_cost
        observed = np.asarray(self.costs)
        mismatch = int(np.sum(~np.isclose(R[np.arange(T), self.arms], observed)))
        return {"rounds": T, "total": total, "best_fixed_arm": dict(self.space.arms[best]),
                "best_fixed_total": float(fixed_totals[best]),
                "instance_optimal_total": float(R.min(axis=1).sum()),
                "regret": total - float(fixed_totals[best]),
                "regret_instance": total - float(R.min(axis=1).sum()),
                "ratio_best_fixed": total / float(fixed_totals[best]) if fixed_totals[best] else math.nan,
                "mismatch": mismatch}

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict:
        """Everything needed to resume (JSON-ready): space, policy and its state, the generator's
        state, the history and the outstanding choices."""
        return {"version": STATE_VERSION, "space": self.space.to_dict(),
                "policy": self.policy.name, "policy_params": self.policy.params(),
                "policy_state": self.policy.state(), "seed": self.seed, "scale": self.scale,
                "rng": _plain(self.rng.bit_generator.state), "max_cost": self.max_cost,
                "arms": list(self.arms), "contexts": list(self.contexts),
                "costs": list(self.costs),
                "pending": [[k, a, c] for k, (a, c) in self.pending.items()],
                "counter": self._counter}

    def compact_state(self) -> dict:
        """The learned state without the history (JSON-ready, size independent of the rounds):
        round number, policy state, generator state, largest cost, choice counter. With the
        history kept elsewhere (a batch store's rows), :meth:`restore` resumes from it."""
        return {"version": STATE_VERSION, "round": self.rounds, "policy": self.policy.name,
                "policy_state": self.policy.state(), "rng": _plain(self.rng.bit_generator.state),
                "max_cost": self.max_cost, "counter": self._counter}

    def restore(self, state: Mapping, history: Sequence[tuple[int, Any, float]] = ()) -> Tuner:
        """Continue from a :meth:`compact_state` (and the (arm, context, cost) history of its
        rounds): outstanding choices are dropped (their solves never reported a cost)."""
        if state.get("version") != STATE_VERSION or state.get("policy") != self.policy.name:
            raise OptionError(f"cannot resume a {self.policy.name!r} tuner from a saved "
                              f"{state.get('policy')!r} state (version {state.get('version')!r})")
        self.policy.load(state["policy_state"])
        self.rng.bit_generator.state = state["rng"]
        self.max_cost = float(state["max_cost"])
        self._counter = int(state["counter"])
        self.pending.clear()
        self.arms = [int(a) for a, _, _ in history]
        self.contexts = [c for _, c, _ in history]
        self.costs = [float(c) for _, _, c in history]
        return self

    def signature(self) -> str:
        """A short hash of what defines this tuner's choices (space, policy and its parameters,
        seed, scale): batches keyed by it never mix rows of different tuners."""
        import hashlib

        text = json.dumps({"space": self.space.to_dict(), "policy": self.policy.name,
                           "params": self.policy.params(), "seed": self.seed,
                           "scale": self.scale}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: Mapping) -> Tuner:
        """Rebuild a tuner saved with :meth:`to_dict`."""
        if d.get("version") != STATE_VERSION:
            raise OptionError(f"tuner state version {d.get('version')!r} is not {STATE_VERSION}")
        space = Space.from_dict(d["space"])
        name = d["policy"]
        if name not in POLICIES:
            raise OptionError(f"unknown tuning policy {name!r} in the saved state")
        params = dict(d["policy_params"])
        if name == "tsallis-inf" and "normalise" not in params:
            params["normalise"] = "loss"  # saved before the running-mean losses: keep its losses
        t = cls(space, policy=POLICIES[name](len(space), **params), seed=d["seed"], scale=d["scale"])
        t.policy.load(d["policy_state"])
        t.rng.bit_generator.state = d["rng"]
        t.max_cost = float(d["max_cost"])
        t.arms = [int(a) for a in d["arms"]]
        t.contexts = list(d["contexts"])
        t.costs = [float(c) for c in d["costs"]]
        t.pending = OrderedDict((k, (int(a), c)) for k, a, c in d["pending"])
        t._counter = int(d["counter"])
        return t

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Tuner:
        """Rebuild from :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        """Write the state as JSON to ``path``."""
        p = Path(path)
        p.write_text(self.to_json())
        return p

    @classmethod
    def load(cls, path: str | Path) -> Tuner:
        """Read a state written by :meth:`save`."""
        return cls.from_json(Path(path).read_text())

    def __repr__(self) -> str:
        return (f"Tuner(policy={self.policy.name!r}, arms={len(self.space)}, rounds={self.rounds}, "
                f"total_cost={self.total_cost:g})")


def fixed(options: Mapping, space: Space | Mapping | None = None) -> Tuner:
    """A tuner that always returns ``options`` (the untuned baseline)."""
    sp = space if space is not None else Space({k: [v] for k, v in options.items()})
    sp = sp if isinstance(sp, Space) else Space(sp)
    return Tuner(sp, policy=Fixed(len(sp), sp.index(options)))


def _plain(o: Any) -> Any:
    """JSON-ready copy (numpy scalars and arrays to Python)."""
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return o


def replay(tuner: Tuner, costs: Any, contexts: Any = None) -> Tuner:
    """Run ``tuner`` on a precomputed cost table (``costs[t][i]``: cost of arm i on instance t):
    round t chooses an arm (with ``contexts[t]``), observes that arm's entry only — exactly the
    bandit feedback a live run gives a deterministic solver. Returns the tuner."""
    C = np.asarray(costs, dtype=float)
    if C.ndim != 2 or C.shape[1] != len(tuner.space):
        raise OptionError(f"costs must be rounds x {len(tuner.space)}, got shape {C.shape}")
    for t in range(C.shape[0]):
        opts = tuner.choose(None if contexts is None else contexts[t])
        tuner.observe(C[t, tuner.space.index(opts)])
    return tuner

