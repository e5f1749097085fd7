"""How numbers and rule bounds are written for people (one copy; every surface imports it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(value: float) -> str:
    """Shortest general form (``0.25``, ``1e-06``): reasons, policy errors, tables."""
    return f"{value:g}"


def display(value: float | None, digits: int = 6) -> str:
    """A measured value on a page: ``digits`` significant digits, ``n/a`` for none."""
    return "n/a" if value is None else format(value, f".{digits}g")


def _parts(bounds: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return bounds.get("min"), bounds.get("max"), bounds.get("abs_max")


def bounds_expression(bounds: Mapping[str, Any]) -> str:
    """``-0.5 <= v <= 0.8, |v| <= 0.8``: the policy's and checks.json reasons' form."""
    lo, hi, amax = _parts(bounds)
    parts = []
    if lo is not None and hi is not None:
        parts.append(f"{number(lo)} <= v <= {number(hi)}")
    elif lo is not None:
        parts.append(f"v >= {number(lo)}")
    elif hi is not None:
        parts.append(f"v <= {number(hi)}")
    if amax is not None:
        parts.append(f"|v| <= {number(amax)}")
    return ", ".join(parts)


def bounds_compact(bounds: Mapping[str, Any]) -> str:
    """``-0.5..0.8, |v| <= 0.8``: a table column."""
    lo, hi, amax = _parts(bounds)
    parts = []
    if lo is not None and hi is not None:
        parts.append(f"{number(lo)}..{number(hi)}")
    elif lo is not None:
        parts.append(f">= {number(lo)}")
    elif hi is not None:
        parts.append(f"<= {number(hi)}")
    if amax is not None:
        parts.append(f"|v| <= {number(amax)}")
    return ", ".join(parts)


def bounds_labelled(bounds: Mapping[str, Any]) -> str:
    """``min 0.1, max 0.8``: the evidence page (values in :func:`display` form)."""
    items = [
        f"{k} {display(v)}"
        for k, v in zip(("min", "max", "abs_max"), _parts(bounds), strict=True)
        if v is not None
    ]
    return ", ".join(items) or "none"
