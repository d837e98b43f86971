"""Testing utilities: the backend conformance suite (:mod:`optkit.testing.conformance`), the
status tables generated from the backends' declarations (:mod:`optkit.testing.status_tables`),
and misbehaving backends for isolation tests (:mod:`optkit.testing.faulty`, loaded by name)."""
from . import conformance, status_tables

__all__ = ["conformance", "status_tables"]
