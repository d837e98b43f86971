"""Every single-level backend passes the shared conformance suite (optkit.testing.conformance)."""
import pytest

from conftest import require_backend
from optkit.testing import conformance

BACKENDS = ["highs", "ipopt", "scipy", "cvxpy", "pyomo"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_conformance(backend):
    require_backend(backend)
    outcomes = conformance.check(backend)
    solved = [o for o in outcomes if o.result is not None]
    assert solved, f"{backend} accepted no conformance case"


def test_rosenbrock_reference_is_a_minimum_on_the_line():
    # the known answer itself: a 1-D grid never beats the root-based optimum
    import numpy as np

    t = np.linspace(-2, 2, 400001)
    g = 100 * (1.5 - t - t ** 2) ** 2 + (1 - t) ** 2
    assert conformance._rosenbrock_on_line_optimum() == pytest.approx(g.min(), abs=1e-8)
