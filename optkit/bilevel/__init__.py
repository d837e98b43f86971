"""Bilevel problems: ``ok.Level``, ``ok.Bilevel`` and ``BilevelResult`` (methods: lv-hba, kkt, vf-penalty)."""
from .model import Bilevel, BilevelData, Level
from .result import BilevelResult

__all__ = ["Bilevel", "Level", "BilevelData", "BilevelResult"]
