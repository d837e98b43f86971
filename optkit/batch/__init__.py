"""optkit.batch (see docs/)."""
