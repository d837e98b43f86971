"""Testing utilities: the backend conformance suite (:mod:`optkit.testing.conformance`)."""
from . import conformance

__all__ = ["conformance"]
