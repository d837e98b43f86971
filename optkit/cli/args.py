"""Argument types and values of the ``optkit`` command line: each refuses a bad value in one line.

``-o key=value`` values are read as int (``12``), float (``1e-8``, ``0.5``), bool (``true`` /
``false``, any case) or else kept as text (``ipm``, ``off``): ``parse_value``.
"""
from __future__ import annotations

import argparse
import json
import math
import re
from typing import Any, NoReturn

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_value(text: str) -> Any:
    """int, float, bool (true/false) or the text itself."""
    t = text.strip()
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return text


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` → (key, parse_value(value))."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    k, v = text.split("=", 1)
    k = k.strip()
    if not k:
        raise argparse.ArgumentTypeError(f"expected key=value with a key, got {text!r}")
    return k, parse_value(v)


def library_param(text: str) -> tuple[str, Any]:
    """``key=value`` for a library parameter: the value as JSON when it is JSON
    (``names=["afiro","chip"]``), else as :func:`parse_value` reads it."""
    k, _ = key_value(text)
    v = text.split("=", 1)[1]
    try:
        return k, json.loads(v)
    except json.JSONDecodeError:
        return k, parse_value(v)


def _number(text: str, kind: type, what: str) -> float:
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}") from None
    if isinstance(v, float) and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return v


def positive_float(text: str) -> float:
    v = _number(text, float, "must be a finite positive number")
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text!r}")
    return v


def positive_int(text: str) -> int:
    v = _number(text, int, "must be a positive integer")
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(v)


def int_list(text: str) -> list[int]:
    """``1,2,3`` → [1, 2, 3]."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not _INT.match(part):
            raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}")
        out.append(int(part))
    return out


def name_list(text: str) -> list[str]:
    """``highs, cvxpy`` → ["highs", "cvxpy"] (at least one name)."""
    out = [s.strip() for s in text.split(",") if s.strip()]
    if not out:
        raise argparse.ArgumentTypeError(f"must name at least one solver, got {text!r}")
    return out


def json_settings(text: str) -> Any:
    try:
        v = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at character {exc.pos}): "
                                         f"{text!r}") from None
    if not isinstance(v, (dict, list)):
        raise argparse.ArgumentTypeError(f"must be a JSON object or list, got {text!r}")
    return v


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line on stderr (exit status 2), no usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
