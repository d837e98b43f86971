"""optkit.testing (see docs/)."""
