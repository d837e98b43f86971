"""optkit.bilevel (see docs/)."""
