"""Bilevel machine-learning problems on the data sets scikit-learn ships (no network).

Both problems share one structure: a per-sample weight uᵢ ≥ 0 on each training sample of a linear
soft-margin SVM (the lower level), chosen to minimise the validation hinge loss (the upper level):

    upper:  min_{u, t}  Σⱼ tⱼ             s.t.  tⱼ ≥ 1 − ŷⱼ(wᵀẑⱼ + b),  tⱼ ≥ 0,  u ∈ [u_lo, u_hi]ⁿ
    lower:  (w, b, ξ) ∈ argmin  (μ/2)‖w‖² + Σᵢ uᵢ ξᵢ   s.t.  1 − ξᵢ − yᵢ(wᵀzᵢ + b) ≤ 0,  ξ ≥ 0

(zᵢ, yᵢ) training samples, (ẑⱼ, ŷⱼ) validation samples, labels ±1, features standardised with the
training mean and deviation. The validation hinge loss is the convex upper bound of the 0-1 loss
used by bilevel cross-validation (Kunapuli, Bennett, Hu, Pang 2008). The lower level is a convex
QP in (w, b, ξ) for fixed u, with the weights entering bilinearly (uᵢξᵢ), so the exact ``kkt``
method reformulates the whole problem as a MILP (stationarity μw = Σλᵢyᵢzᵢ, Σλᵢyᵢ = 0,
uᵢ = λᵢ + νᵢ is linear in (u, λ, ν); complementarity by binaries): a global reference for the
local methods.

- :func:`svm_hyper`: **hyperparameter selection** (Yao et al., ICLR 2024, §5, after Gao et al.
  2022: one weight per training sample). The paper writes the lower level with squared slacks and
  weights e^{cᵢ}; here the weights enter linearly (uᵢ = e^{cᵢ} in [u_lo, u_hi]) so that the exact
  reference exists. μ = 1.
- :func:`hyper_clean`: **data hyper-cleaning** (Franceschi et al. 2017; Shaban et al. 2019): a
  fraction of the training labels is flipped (seeded); weights uᵢ ∈ [0, 1] learn to switch the
  corrupted samples off; μ = ``reg``.

Data sets (``dataset``): ``breast_cancer`` (malignant vs benign, 569 × 30), ``digits`` (binary
split: digits 0–4 against 5–9, 1797 × 64), ``wine`` (class 0 against the other two, 178 × 13),
``iris`` (versicolor against the other two — not linearly separable, 150 × 4). Splits: a seeded
permutation, the first n_train samples for training, the next n_val for validation, all the rest
for test. :func:`accuracies` gives the validation and test accuracy of a result's (w, b).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optkit.problems_api import Instance, SimpleLibrary

DATASETS = ("breast_cancer", "digits", "wine", "iris")


@dataclass
class Split:
    """Standardised features and ±1 labels of one seeded train/validation/test split."""

    Z_train: np.ndarray
    y_train: np.ndarray
    Z_val: np.ndarray
    y_val: np.ndarray
    Z_test: np.ndarray
    y_test: np.ndarray
    clean_train: np.ndarray  # the labels before corruption (hyper-cleaning)
    corrupted: np.ndarray  # bool mask of flipped training labels


def load(dataset: str):
    """(features, ±1 labels) of one of :data:`DATASETS` with the binary split of the module
    docstring."""
    from sklearn import datasets as skd

    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    data = getattr(skd, f"load_{dataset}")()
    X, t = np.asarray(data.data, float), np.asarray(data.target)
    if dataset == "breast_cancer":
        y = np.where(t == 1, 1.0, -1.0)
    elif dataset == "digits":
        y = np.where(t <= 4, 1.0, -1.0)
    elif dataset == "wine":
        y = np.where(t == 0, 1.0, -1.0)
    else:
        y = np.where(t == 1, 1.0, -1.0)
    return X, y


def split(dataset: str, n_train: int, n_val: int, seed: int = 0, corrupt: float = 0.0) -> Split:
    """A seeded split (module docstring); ``corrupt`` flips that fraction of training labels."""
    X, y = load(dataset)
    if n_train + n_val >= len(y):
        raise ValueError(f"{dataset}: n_train + n_val = {n_train + n_val} leaves no test samples "
                         f"(the set has {len(y)})")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    tr, va, te = idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd
    ytr = y[tr].copy()
    bad = np.zeros(n_train, bool)
    if corrupt > 0:
        flip = rng.choice(n_train, size=round(corrupt * n_train), replace=False)
        bad[flip] = True
        ytr[flip] = -ytr[flip]
    return Split(Z[tr], ytr, Z[va], y[va], Z[te], y[te], y[tr].copy(), bad)


def weighted_svm(s: Split, u_lo: float, u_hi: float, reg: float = 1.0, name: str = "weighted-svm",
                 u0: float | None = None, upper_loss: str = "hinge"):
    """The bilevel model of the module docstring on split ``s``; variables in ``bl.meta``.
    ``upper_loss="squared"`` replaces the validation hinge loss by Σⱼ (1 − ŷⱼ(wᵀẑⱼ + b))² (a
    quadratic upper level without the slacks t, whose gradient reaches (w, b) directly)."""
    if upper_loss not in ("hinge", "squared"):
        raise ValueError(f"upper_loss must be 'hinge' or 'squared', got {upper_loss!r}")
    import cvxpy as cp

    import optkit as ok

    n, p = s.Z_train.shape
    nv = s.Z_val.shape[0]
    u = cp.Variable(n, bounds=[u_lo, u_hi], name="u")
    t: Any = cp.Variable(nv, bounds=[0.0, None], name="t")
    w, b = cp.Variable(p, name="w"), cp.Variable(name="b")
    xi = cp.Variable(n, bounds=[0.0, None], name="xi")
    val_margin = cp.multiply(s.y_val, s.Z_val @ w + b)
    if upper_loss == "hinge":
        upper = ok.Level(cp.Minimize(cp.sum(t)), [1 - val_margin - t <= 0], variables=[u, t])
    else:
        t = None
        upper = ok.Level(cp.Minimize(cp.sum_squares(1 - val_margin)), [], variables=[u])
    lower = ok.Level(cp.Minimize(0.5 * reg * cp.sum_squares(w) + u @ xi),
                     [1 - xi - cp.multiply(s.y_train, s.Z_train @ w + b) <= 0],
                     variables=[w, b, xi])
    bl = ok.Bilevel(upper, lower, name=name)
    start = u_hi if u0 is None else u0
    bl.start_point = {u: np.full(n, start), w: np.zeros(p), b: 0.0, xi: np.ones(n)}
    if t is not None:
        bl.start_point[t] = np.ones(nv)
    bl.meta = {"split": s, "u": u, "t": t, "w": w, "b": b, "xi": xi}
    return bl


def svm_hyper(dataset: str = "breast_cancer", n_train: int = 50, n_val: int = 50, seed: int = 0,
              u_lo: float = 0.0, u_hi: float = 1.0, upper_loss: str = "hinge"):
    """SVM hyperparameter selection, one weight uᵢ ∈ [u_lo, u_hi] per training sample (module
    docstring)."""
    s = split(dataset, n_train, n_val, seed)
    return weighted_svm(s, u_lo, u_hi, 1.0, name=f"svm-hyper-{dataset}", upper_loss=upper_loss)


def hyper_clean(dataset: str = "digits", n_train: int = 60, n_val: int = 60, seed: int = 0,
                corrupt: float = 0.3, reg: float = 1.0):
    """Data hyper-cleaning: ``corrupt`` of the training labels flipped, weights uᵢ ∈ [0, 1] (module
    docstring)."""
    s = split(dataset, n_train, n_val, seed, corrupt=corrupt)
    return weighted_svm(s, 0.0, 1.0, reg, name=f"hyper-clean-{dataset}")


def accuracies(bl, result) -> dict:
    """Validation and test accuracy of sign(wᵀz + b) at a result's (w, b); for hyper-cleaning also
    the share of corrupted samples given weight < 0.5 ("caught") and of clean ones kept (≥ 0.5)."""
    s: Split = bl.meta["split"]
    w = np.asarray(result.value(bl.meta["w"]), float)
    b = float(np.asarray(result.value(bl.meta["b"]), float))
    out = {"val_accuracy": float(np.mean(np.sign(s.Z_val @ w + b) == s.y_val)),
           "test_accuracy": float(np.mean(np.sign(s.Z_test @ w + b) == s.y_test))}
    if s.corrupted.any():
        u = np.asarray(result.value(bl.meta["u"]), float)
        out["caught"] = float(np.mean(u[s.corrupted] < 0.5))
        out["kept"] = float(np.mean(u[~s.corrupted] >= 0.5))
    return out


def plain_svm_accuracy(bl, C: float = 1.0) -> dict:
    """Validation and test accuracy of the plain SVM (all weights equal to C) on the same split:
    the baseline that the bilevel weights should beat. Solved with cvxpy."""
    import cvxpy as cp

    s: Split = bl.meta["split"]
    p = s.Z_train.shape[1]
    w, b = cp.Variable(p), cp.Variable()
    xi = cp.pos(1 - cp.multiply(s.y_train, s.Z_train @ w + b))
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C * cp.sum(xi))).solve()
    wv, bv = np.asarray(w.value, float), float(np.asarray(b.value, float))
    return {"val_accuracy": float(np.mean(np.sign(s.Z_val @ wv + bv) == s.y_val)),
            "test_accuracy": float(np.mean(np.sign(s.Z_test @ wv + bv) == s.y_test))}


def make_instances(datasets=DATASETS, seed: int = 0) -> list[Instance]:
    """SVM hyperparameter selection on each data set and hyper-cleaning on digits."""
    out = []

    def builder(ds: str):
        return lambda: svm_hyper(ds, seed=seed)

    for ds in datasets:
        out.append(Instance(name=f"svm-hyper-{ds}", build=builder(ds),
                            problem_class="bilevel", expected="optimal",
                            source="Yao et al. ICLR 2024 §5 (linear weights, see module docstring)",
                            meta={"lower": "qp", "dataset": ds}))
    out.append(Instance(name="hyper-clean-digits", build=lambda: hyper_clean("digits", seed=seed),
                        problem_class="bilevel", expected="optimal",
                        source="Franceschi et al. 2017 (hinge loss, see module docstring)",
                        meta={"lower": "qp", "dataset": "digits"}))
    return out


library = SimpleLibrary("bilevel-ml", "bilevel ML problems on scikit-learn's bundled data: SVM "
                        "per-sample weight selection, data hyper-cleaning", make_instances)
