"""Does a reported value agree with the recomputed one? The stated tolerance, and the reason.

A reported value agrees when |reported - recomputed| <= TOLERANCE (1e-4), or, for the
scale-dependent regression errors (mse, rmse, mae), within RELATIVE_TOLERANCE (1e-6) relative;
global SHAP values within SHAP_TOLERANCE + SHAP_RELATIVE x recomputed (team and governance explain
different samples, see decide.shapley). Pure Python: the Evaluate step and the Lambda never need
numpy to read a decision.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clearance.decide.measure import Measured

TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-6
SCALE_METRICS = frozenset({"mse", "rmse", "mae"})
SHAP_TOLERANCE, SHAP_RELATIVE = 0.02, 0.5


def compare(
    metric: str,
    reported: float | None,
    recomputed: Measured | None,
    kind: str | None = None,
) -> str | None:
    """None when REPORTED agrees with the recomputation, else the reason it does not."""
    if recomputed is None:
        return f"{metric} cannot be recomputed from the package's evaluation split"
    mine = recomputed.value
    if reported is None and mine is None:
        return None
    if reported is None or mine is None:
        return _differ(metric, reported, mine)
    if math.isinf(reported) or math.isinf(mine):
        return None if reported == mine else _differ(metric, reported, mine)
    limit = RELATIVE_TOLERANCE * max(abs(mine), 1.0) if metric in SCALE_METRICS else TOLERANCE
    if kind == "explainability":
        limit = SHAP_TOLERANCE + SHAP_RELATIVE * abs(mine)
    return None if abs(reported - mine) <= limit else _differ(metric, reported, mine)


def _differ(metric: str, reported: float | None, mine: float | None) -> str:
    """ "reported DPL 0.012, recomputed 0.220", with as many decimals as it takes to differ."""
    for digits in range(3, 10):
        shown = [_show(value, digits) for value in (reported, mine)]
        if shown[0] != shown[1]:
            break
    return f"reported {metric} {shown[0]}, recomputed {shown[1]}"


def _show(value: float | None, digits: int) -> str:
    if value is None:
        return "undefined"
    if math.isinf(value) or value == 0 or abs(value) >= 1e-3:
        return f"{value:.{digits}f}"
    return f"{value:.{digits - 1}e}"
