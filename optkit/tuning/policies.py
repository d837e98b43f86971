"""Online policies over the d arms of a :class:`~optkit.tuning.space.Space` (bandit feedback).

Round t: the policy picks an arm Iₜ (given the context cₜ when it uses one), the solve is run, and
only that run's cost is observed. The tuner passes both the cost and a loss ℓ = min(cost / scale,
1) with ``scale`` given, or the largest cost observed so far (so losses lie in [0, 1] as the
analysis assumes); Tsallis-INF by default normalises the cost itself, by a running mean.

- :class:`TsallisINF` — the ½-Tsallis-entropy online mirror descent of Zimmert & Seldin (2021), the
  non-contextual learner of Khodak et al. (ICLR 2024): with cumulative loss estimates L̂ and
  learning rate ηₜ = η₀/√t,

      pₜ = argmin_{p ∈ Δ} ⟨p, L̂⟩ − (4/ηₜ) Σᵢ √pᵢ   ⇔   pₜ,ᵢ = 4 / (ηₜ (L̂ᵢ − x))²,

  with the normaliser x < minᵢ L̂ᵢ found by Newton's method (Σᵢ pₜ,ᵢ = 1). Losses
  (``normalise="mean"``, default) are the cost over the running mean of the observed costs,
  ℓₜ = cₜ / c̄ₜ with c̄ₜ = (c₁ + … + cₜ)/t, as the authors' reference learner scales its loss
  estimates by a running mean (an iteration cap as the bound makes the losses of a sequence
  whose costs are far below the cap tiny, so nothing is learned, and the largest cost seen so far
  changes by orders of magnitude in the first rounds, which locks the learner into an early
  arm); ``normalise="loss"`` uses the tuner's loss min(c/scale, 1) ∈ [0, 1] instead (the
  setting of the regret analysis; chosen when the tuner is given a ``scale``). Loss estimates
  are importance weighted with a shift B: L̂_{Iₜ} += (ℓₜ − B)/pₜ,Iₜ, and B is added to every
  arm (which does not change p), so E[L̂] is the cumulative loss for any B.
  ``estimator="shifted"`` (default with ``normalise="mean"``): B = 1, the normaliser itself, on
  every round (the authors' reference learner updates with ℓ − 1, ungated) — a control variate
  that removes the common scale of the costs; it needs losses bounded away from 0 (a rarely
  played arm that observes ℓ ≈ 0 gets −1/p and locks in, as with 0/1 losses), which holds for
  cost / mean cost of iteration counts; ``"rv"`` (default with ``normalise="loss"``):
  Zimmert–Seldin's reduced-variance B = ½ on arms with pᵢ ≥ ηₜ²; ``"baseline"``: the running
  mean loss on arms with pᵢ ≥ ηₜ²; ``"iw"``: B = 0. η₀ = 2.5 (the theory's and the authors' η₀
  is 2; 2.5 was chosen by replaying 100 learner seeds on the heat-equation sequence and on a
  shifted-Laplacian sequence other than the benchmark's, see docs/bench_relax.md). Regret
  against the best fixed arm O(√(dT)).
- :class:`ChebCB` — the contextual learner: per arm, a ridge regression of the loss on
  Chebyshev features of the context, φ(c) = (T₀(u), T₁(u), …, T_k(u)) with u the context mapped
  affinely from ``context_range`` to [−1, 1] (a vector context gets the features of each
  coordinate, an additive model); Vᵢ = Λ + Σ φφᵀ, θᵢ = Vᵢ⁻¹ Σ φ yᵢ, with Λ = λ·diag(10⁻⁶, 1, …, 1)
  (the intercept is not shrunk) and the target y = log(1 + cost) (``target="log"``, default: the
  arms' costs differ by factors, and the log keeps their differences on one scale across
  contexts) or the normalised loss ℓ (``target="loss"``). The arm chosen minimises the
  optimistic estimate φᵀθᵢ − β √(φᵀVᵢ⁻¹φ) (a lower confidence bound on the loss); arms never
  tried come first. It approaches the instance-optimal policy c ↦ argminᵢ E[costᵢ(c)].
- :class:`Fixed` (one arm, the untuned baseline) and :class:`Uniform` (``random``: an arm drawn
  uniformly, seeded).

Every policy keeps its state in plain lists (JSON), and draws from a seeded numpy Generator whose
state is saved with it, so a saved and restored policy makes the same choices as one never stopped.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import OptionError


class Policy:
    """Base: ``pick(context, rng) -> arm``, ``update(arm, context, loss)``, ``state``/``load``."""

    name: ClassVar[str] = ""
    contextual: ClassVar[bool] = False

    def __init__(self, n_arms: int):
        self.n_arms = int(n_arms)

    def pick(self, context: Any, rng: np.random.Generator) -> int:  # pragma: no cover
        raise NotImplementedError

    def update(self, arm: int, context: Any, loss: float, cost: float | None = None) -> None:
        """Learn from the loss (normalised cost) of ``arm`` (default: nothing to learn)."""

    def probabilities(self, context: Any = None) -> np.ndarray | None:
        """The current sampling distribution over arms (None for deterministic policies)."""
        return None

    def state(self) -> dict:
        """The learned state (JSON-ready)."""
        return {}

    def load(self, state: dict) -> None:
        """Restore :meth:`state`."""

    def params(self) -> dict:
        """The constructor parameters (JSON-ready), to rebuild the policy."""
        return {}


class Fixed(Policy):
    """Always the same arm (``arm`` index; the tuner maps an options dict to it)."""

    name = "fixed"

    def __init__(self, n_arms: int, arm: int = 0):
        super().__init__(n_arms)
        if not (isinstance(arm, (int, np.integer)) and 0 <= int(arm) < n_arms):
            raise OptionError(f"fixed policy: arm must be an index in [0, {n_arms}); got {arm!r}")
        self.arm = int(arm)

    def pick(self, context, rng) -> int:
        return self.arm

    def params(self) -> dict:
        return {"arm": self.arm}


class Uniform(Policy):
    """An arm drawn uniformly at random each round (seeded)."""

    name = "random"

    def pick(self, context, rng) -> int:
        return int(rng.integers(self.n_arms))

    def probabilities(self, context=None) -> np.ndarray:
        return np.full(self.n_arms, 1.0 / self.n_arms)


class TsallisINF(Policy):
    """½-Tsallis-INF (see module docstring); ``eta0`` scales ηₜ = eta0/√t; ``normalise`` is
    ``"mean"`` (ℓ = cost / running mean cost, default) or ``"loss"`` (the tuner's loss in [0, 1]);
    ``estimator`` is ``"shifted"``, ``"rv"``, ``"baseline"`` or ``"iw"`` (default: ``"shifted"``
    with ``normalise="mean"``, ``"rv"`` with ``normalise="loss"``)."""

    name = "tsallis-inf"
    ESTIMATORS = ("shifted", "rv", "baseline", "iw")
    NORMALISERS = ("mean", "loss")

    def __init__(self, n_arms: int, eta0: float = 2.5, estimator: str | None = None,
                 normalise: str = "mean"):
        super().__init__(n_arms)
        if isinstance(eta0, bool) or not (isinstance(eta0, (int, float)) and np.isfinite(eta0)
                                          and eta0 > 0):
            raise OptionError(f"tsallis-inf: eta0 must be a positive number, got {eta0!r}")
        if estimator is None:  # the shift by the normaliser needs losses bounded away from 0
            estimator = "shifted" if normalise == "mean" else "rv"
        if estimator not in self.ESTIMATORS:
            raise OptionError(f"tsallis-inf: estimator must be one of {', '.join(self.ESTIMATORS)}; "
                              f"got {estimator!r}")
        if normalise not in self.NORMALISERS:
            raise OptionError(f"tsallis-inf: normalise must be 'mean' or 'loss', got {normalise!r}")
        self.eta0, self.estimator, self.normalise = float(eta0), estimator, normalise
        self.L = np.zeros(self.n_arms)  # cumulative loss estimates
        self.t = 0                      # rounds observed
        self.loss_sum = 0.0             # Σ losses ℓ (the baseline's mean)
        self.cost_sum = 0.0             # Σ observed costs (the running-mean normaliser)
        self._p: np.ndarray | None = None

    def _eta(self) -> float:
        return self.eta0 / np.sqrt(self.t + 1)

    def probabilities(self, context=None) -> np.ndarray:
        eta = self._eta()
        L = self.L - self.L.min()
        x = -2.0 / eta  # Σ p ≥ 1 here (the best arm alone has p = 1); Newton moves x down
        for _ in range(100):
            w = 4.0 / (eta * (L - x)) ** 2
            s = w.sum()
            if abs(s - 1.0) < 1e-12:
                break
            x -= (s - 1.0) / (eta * np.sum(w ** 1.5))
        p = 4.0 / (eta * (L - x)) ** 2
        return p / p.sum()

    def pick(self, context, rng) -> int:
        self._p = self.probabilities()
        return int(rng.choice(self.n_arms, p=self._p))

    def normalised(self, loss: float, cost: float | None) -> float:
        """ℓₜ: cost / running mean of the costs so far (this one included), or the tuner's loss."""
        if self.normalise == "loss" or cost is None:
            return float(loss)
        mean = (self.cost_sum + cost) / (self.t + 1)
        return float(cost) / mean if mean > 0 else 0.0

    def update(self, arm: int, context, loss: float, cost: float | None = None) -> None:
        p = self._p if self._p is not None else self.probabilities()
        eta = self._eta()
        ell = self.normalised(loss, cost)
        B = 0.0
        if self.estimator == "shifted":
            B = 1.0
        elif p[arm] >= eta ** 2:
            if self.estimator == "rv":
                B = 0.5
            elif self.estimator == "baseline" and self.t:
                B = self.loss_sum / self.t
        self.L[arm] += (ell - B) / p[arm]
        self.L += B
        self.loss_sum += ell
        self.cost_sum += float(loss if cost is None else cost)
        self.t += 1
        self._p = None

    def state(self) -> dict:
        return {"L": self.L.tolist(), "t": self.t, "loss_sum": self.loss_sum,
                "cost_sum": self.cost_sum}

    def load(self, state: dict) -> None:
        self.L = np.asarray(state["L"], dtype=float)
        self.t = int(state["t"])
        self.loss_sum = float(state.get("loss_sum", 0.0))
        self.cost_sum = float(state.get("cost_sum", 0.0))
        self._p = None

    def params(self) -> dict:
        return {"eta0": self.eta0, "estimator": self.estimator, "normalise": self.normalise}


class ChebCB(Policy):
    """Chebyshev-regression contextual bandit (see module docstring).

    ``context_range`` = (low, high) of the context (per coordinate for a vector context);
    ``degree`` k of the Chebyshev features; ``beta`` the width of the confidence bonus; ``ridge`` λ.
    """

    name = "chebcb"
    contextual = True

    def __init__(self, n_arms: int, context_range: Any = None, degree: int = 4, beta: float = 0.3,
                 ridge: float = 0.3, target: str = "log"):
        super().__init__(n_arms)
        if target not in ("log", "loss"):
            raise OptionError(f"chebcb: target must be 'log' or 'loss', got {target!r}")
        self.target = target
        if context_range is None:
            raise OptionError("chebcb needs context_range=(low, high): the range of the context the "
                              "Chebyshev features are built on")
        lo, hi = (np.atleast_1d(np.asarray(v, dtype=float)) for v in context_range)
        if lo.shape != hi.shape or not np.all(np.isfinite(lo)) or not np.all(hi > lo):
            raise OptionError(f"chebcb: context_range must be (low, high) with low < high, got "
                              f"{context_range!r}")
        if not (isinstance(degree, int) and 0 <= degree <= 20):
            raise OptionError(f"chebcb: degree must be an integer in [0, 20], got {degree!r}")
        self.lo, self.hi = lo, hi
        self.degree, self.beta, self.ridge = degree, float(beta), float(ridge)
        f = 1 + lo.size * degree
        prior = np.full(f, ridge)
        prior[0] = 1e-6 * ridge  # the intercept is (almost) not shrunk: no pull of the mean to 0
        self.V = np.stack([np.diag(prior)] * self.n_arms)     # per-arm Gram matrices
        self.r = np.zeros((self.n_arms, f))                    # per-arm Σ φ ℓ
        self.counts = np.zeros(self.n_arms, dtype=int)

    def features(self, context: Any) -> np.ndarray:
        """φ(c): 1, then T₁..T_k of each coordinate of u = 2(c − low)/(high − low) − 1 (clipped)."""
        if context is None:
            raise OptionError("chebcb is contextual: give a context (context=... in choose, or a "
                              "context function to solve_sequence)")
        c = np.atleast_1d(np.asarray(context, dtype=float))
        if c.shape != self.lo.shape:
            raise OptionError(f"chebcb: context has {c.size} value(s), context_range has {self.lo.size}")
        u = np.clip(2.0 * (c - self.lo) / (self.hi - self.lo) - 1.0, -1.0, 1.0)
        if self.degree == 0:
            return np.ones(1)
        T = np.polynomial.chebyshev.chebvander(u, self.degree)  # (dims, k+1)
        return np.concatenate([[1.0], T[:, 1:].ravel()])

    def estimates(self, context: Any) -> tuple[np.ndarray, np.ndarray]:
        """(predicted loss, confidence width) of every arm at ``context``."""
        phi = self.features(context)
        sol = np.linalg.solve(self.V, np.stack([np.stack([self.r[i], phi], axis=1)
                                                for i in range(self.n_arms)]))
        mean = sol[:, :, 0] @ phi
        width = np.sqrt(np.maximum(sol[:, :, 1] @ phi, 0.0))
        return mean, width

    def pick(self, context, rng) -> int:
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            self.features(context)  # refuse a missing context from the first round on
            return int(untried[0])
        mean, width = self.estimates(context)
        score = mean - self.beta * width
        best = np.flatnonzero(score <= score.min() + 1e-15)
        return int(best[0]) if best.size == 1 else int(rng.choice(best))

    def update(self, arm: int, context, loss: float, cost: float | None = None) -> None:
        phi = self.features(context)
        y = np.log1p(cost) if (self.target == "log" and cost is not None) else loss
        self.V[arm] += np.outer(phi, phi)
        self.r[arm] += y * phi
        self.counts[arm] += 1

    def state(self) -> dict:
        return {"V": self.V.tolist(), "r": self.r.tolist(), "counts": self.counts.tolist()}

    def load(self, state: dict) -> None:
        self.V = np.asarray(state["V"], dtype=float)
        self.r = np.asarray(state["r"], dtype=float)
        self.counts = np.asarray(state["counts"], dtype=int)

    def params(self) -> dict:
        return {"context_range": [self.lo.tolist(), self.hi.tolist()], "degree": self.degree,
                "beta": self.beta, "ridge": self.ridge, "target": self.target}


POLICIES: dict[str, type[Policy]] = {p.name: p for p in (TsallisINF, ChebCB, Fixed, Uniform)}
