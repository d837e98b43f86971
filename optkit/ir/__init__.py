"""Compiled forms that backends consume: :class:`NLPForm` and :class:`LinearForm`."""
from .nlp_form import NLPForm
from .linear_form import LinearForm

__all__ = ["NLPForm", "LinearForm"]
