"""Matplotlib plots of Pareto fronts: 2-D/3-D scatter with a reference front, parallel
coordinates (normalised columns, for m > 3), attainment-style overlays of several runs."""
from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1")


def plot_front(res, reference=None, ax=None, path=None, title=None, label=None, **kw):
    """Scatter of ``res.F`` (2-D or 3-D) over an optional reference front (user units)."""
    plt = _plt()
    F = np.asarray(res.F, float)
    m = F.shape[1]
    names = res.names or [f"f{i+1}" for i in range(m)]
    if m > 3:
        return plot_parallel(res, ax=ax, path=path)
    fig = None
    if ax is None:
        fig = plt.figure(figsize=(5.2, 4.2))
        ax = fig.add_subplot(111, projection="3d" if m == 3 else None)
    if reference is not None:
        R = np.asarray(reference, float)
        if m == 2:
            o = np.argsort(R[:, 0])
            ax.plot(R[o, 0], R[o, 1], ".", ms=1.5, color="0.6", label="reference front")
        else:
            ax.scatter(R[:, 0], R[:, 1], R[:, 2], s=1, color="0.7", alpha=0.4, label="reference")
    lab = label or f"{res.method} ({len(res)} pts)"
    if m == 2:
        ax.scatter(F[:, 0], F[:, 1], s=kw.get("s", 14), label=lab, zorder=3)
    else:
        ax.scatter(F[:, 0], F[:, 1], F[:, 2], s=kw.get("s", 10), label=lab)
        ax.set_zlabel(names[2])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    if path is not None:
        (fig or ax.figure).tight_layout()
        (fig or ax.figure).savefig(path, dpi=110)
        plt.close(fig or ax.figure)
    return ax


def plot_parallel(res, ax=None, path=None):
    """Parallel coordinates of the front, each objective scaled to [0, 1] by ideal/nadir."""
    plt = _plt()
    F = np.asarray(res.F, float)
    lo, hi = F.min(axis=0), F.max(axis=0)
    Z = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    for row in Z:
        ax.plot(range(F.shape[1]), row, color="C0", alpha=0.35, lw=0.8)
    ax.set_xticks(range(F.shape[1]))
    ax.set_xticklabels(res.names or [f"f{i+1}" for i in range(F.shape[1])])
    ax.set_ylabel("normalised value")
    if path is not None:
        (fig or ax.figure).tight_layout()
        (fig or ax.figure).savefig(path, dpi=110)
        plt.close(fig or ax.figure)
    return ax


def plot_runs(results, reference=None, path=None, title=None):
    """Overlay the fronts of several runs (e.g. seeds or methods) in one 2-D or 3-D plot."""
    plt = _plt()
    m = np.asarray(results[0].F).shape[1]
    fig = plt.figure(figsize=(5.2, 4.2))
    ax = fig.add_subplot(111, projection="3d" if m == 3 else None)
    for i, r in enumerate(results):
        plot_front(r, reference=reference if i == 0 else None, ax=ax, s=8)
    if title:
        ax.set_title(title)
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return ax
