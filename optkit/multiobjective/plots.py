"""Matplotlib plots of Pareto fronts: 2-D/3-D scatter with a reference front, parallel
coordinates (normalised columns, for m > 3), attainment-style overlays of several runs.

Each function returns the matplotlib ``Figure`` it drew on, so a notebook displays it. Without
``ax`` the figure is a fresh ``matplotlib.figure.Figure`` not registered with pyplot (no global
state, no second copy shown by an inline backend); with ``ax`` it draws there and returns
``ax.figure``. ``path`` also writes the figure to a file (PNG, PDF, SVG by extension).
"""
from __future__ import annotations

import numpy as np


def _new_figure(figsize: tuple[float, float]):
    from ..extras import require

    require("matplotlib", "plot", "Pareto-front plots")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(fig, path) -> None:
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=110)


def plot_front(res, reference=None, ax=None, path=None, title=None, label=None, **kw):
    """Scatter of ``res.F`` (2-D or 3-D) over an optional reference front (user units); more
    than three objectives go to :func:`plot_parallel`. Returns the Figure."""
    F = np.asarray(res.F, float)
    m = F.shape[1]
    names = res.names or [f"f{i+1}" for i in range(m)]
    if m > 3:
        return plot_parallel(res, ax=ax, path=path)
    if ax is None:
        fig = _new_figure((5.2, 4.2))
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
    _save(ax.figure, path)
    return ax.figure


def plot_parallel(res, ax=None, path=None):
    """Parallel coordinates of the front, each objective scaled to [0, 1] by ideal/nadir.
    Returns the Figure."""
    F = np.asarray(res.F, float)
    lo, hi = F.min(axis=0), F.max(axis=0)
    Z = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    if ax is None:
        ax = _new_figure((6, 3.5)).subplots()
    for row in Z:
        ax.plot(range(F.shape[1]), row, color="C0", alpha=0.35, lw=0.8)
    ax.set_xticks(range(F.shape[1]))
    ax.set_xticklabels(res.names or [f"f{i+1}" for i in range(F.shape[1])])
    ax.set_ylabel("normalised value")
    _save(ax.figure, path)
    return ax.figure


def plot_runs(results, reference=None, path=None, title=None):
    """Overlay the fronts of several runs (e.g. seeds or methods) in one 2-D or 3-D plot.
    Returns the Figure."""
    m = np.asarray(results[0].F).shape[1]
    fig = _new_figure((5.2, 4.2))
    ax = fig.add_subplot(111, projection="3d" if m == 3 else None)
    for i, r in enumerate(results):
        plot_front(r, reference=reference if i == 0 else None, ax=ax, s=8)
    if title:
        ax.set_title(title)
    _save(fig, path)
    return fig
