"""optkit.multiobjective (see docs/)."""
