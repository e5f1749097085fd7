"""smclarify (Clarify's own library) as the reference for the recomputation tests.

`reference(...)` runs smclarify's `bias_report` on a frame exactly as the team template's
reports.py does and returns {metric: value}, value None where smclarify reports an error.
`agreement(...)` compares it with clearance.decide.recompute and returns the absolute difference
per metric (0.0 when both are the same infinity or both undefined; inf on any disagreement).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from clearance.decide import recompute

PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE"]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value)


def reference(
    frame: pd.DataFrame,
    facet: str,
    facet_values: list[Any],
    label: str,
    label_values: list[Any],
    stage: str,
    predicted: pd.Series | None = None,
    group: pd.Series | None = None,
) -> dict[str, float | None]:
    from smclarify.bias.report import FacetColumn, LabelColumn, StageType, bias_report

    logging.getLogger("smclarify").setLevel(logging.CRITICAL)
    kwargs: dict[str, Any] = {}
    if predicted is not None:
        kwargs["predicted_label_column"] = LabelColumn(
            "predicted_label", predicted.reset_index(drop=True), list(label_values)
        )
    if group is not None:
        kwargs["group_variable"] = group.reset_index(drop=True)
    frame = frame.reset_index(drop=True)
    result = bias_report(
        frame,
        FacetColumn(facet, list(facet_values)),
        LabelColumn(label, frame[label], list(label_values)),
        StageType(stage),
        metrics=PRE if stage == "pre_training" else POST,
        **kwargs,
    )
    (facet_report,) = result
    return {m["name"]: _number(m.get("value")) for m in facet_report["metrics"]}


def difference(ours: float | None, theirs: float | None) -> float:
    """|ours - theirs|; 0 when both undefined or the same infinity; inf when they disagree."""
    if ours is None or theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        both_missing = ours is None and (theirs is None or math.isnan(theirs))
        return 0.0 if both_missing else math.inf
    if math.isinf(ours) or math.isinf(theirs):
        return 0.0 if ours == theirs else math.inf
    return abs(ours - theirs)


def agreement(
    frame: pd.DataFrame,
    facet: str,
    facet_values: list[Any],
    facet_threshold: bool,
    label: str,
    label_values: list[Any],
    label_threshold: bool,
    predicted: pd.Series | None = None,
    group: pd.Series | None = None,
) -> dict[str, tuple[float, float | None, float | None]]:
    """{metric: (abs difference, ours, smclarify's)} for pre-training and (with PREDICTED) post."""
    features = frame.drop(columns=[facet, label])
    data = recompute.BiasData(
        facet=recompute.positive_mask(frame[facet].to_numpy(), facet_values, facet_threshold),
        label=recompute.positive_mask(frame[label].to_numpy(), label_values, label_threshold),
        predicted=None
        if predicted is None
        else recompute.positive_mask(predicted.to_numpy(), label_values, label_threshold),
        group=None if group is None else group.to_numpy(),
        features=features.to_numpy(dtype=np.float64),
    )
    out: dict[str, tuple[float, float | None, float | None]] = {}
    stages = ["pre_training"] + (["post_training"] if predicted is not None else [])
    for stage in stages:
        theirs = reference(frame, facet, facet_values, label, label_values, stage, predicted, group)
        ours = recompute.point_metrics(data, stage)
        for name, their_value in theirs.items():
            our_value = ours[name][0]
            out[name] = (difference(our_value, their_value), our_value, their_value)
    return out
