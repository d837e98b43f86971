"""optkit.multiobjective: multiobjective models, Pareto-front results, indicators and plots.

``MultiObjective`` (cvxpy algebra or callbacks), ``ParetoResult``, the scalarisation template and
run machinery used by the Pareto backends (``optkit.solvers.pareto``, ``pareto_exact``, ``nsga2``),
and indicators (hypervolume, IGD, IGD⁺, additive ε via moocore; sparsity; crowding distance).
See docs/multiobjective.md.
"""
from .model import BudgetExhausted, MultiObjective
from .result import ParetoResult
from . import indicators
from .indicators import (crowding_distance, epsilon_additive, hypervolume, igd, igd_plus,
                         nondominated_mask, normalised_hypervolume, sparsity)

__all__ = ["MultiObjective", "ParetoResult", "BudgetExhausted", "indicators", "hypervolume",
           "normalised_hypervolume", "igd", "igd_plus", "epsilon_additive", "sparsity",
           "crowding_distance", "nondominated_mask"]
