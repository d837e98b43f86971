"""``python -m optkit.cli``."""
import sys

from . import main

sys.exit(main())
