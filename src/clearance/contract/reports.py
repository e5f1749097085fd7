"""Report kinds, where each sits in a model package's ModelMetrics, and the size Clearance reads.

Formats (samples in tests/fixtures/aws-formats/): Clarify ``analysis.json`` (bias, explainability),
Model Monitor ``statistics.json`` (model quality), Clearance's LLM ``evaluation.json``.
"""

from __future__ import annotations

REPORT_KINDS: tuple[str, ...] = (
    "bias_pre_training",
    "bias_post_training",
    "explainability",
    "model_quality",
    "llm_evaluation",
)
BIAS_KINDS: tuple[str, ...] = ("bias_pre_training", "bias_post_training")
# What a package is, as its quality evidence says: Model Monitor's problem-type section, or an LLM
# evaluation. Rules may be limited to some kinds (policy key ``applies_to``).
MODEL_KINDS: tuple[str, ...] = (
    "binary_classification",
    "multiclass_classification",
    "regression",
    "llm",
)
BIAS_SECTIONS = {
    "bias_pre_training": "pre_training_bias_metrics",
    "bias_post_training": "post_training_bias_metrics",
}
# Clarify's metric names
# (https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html and
# clarify-measure-post-training-bias.html). A policy naming anything else is a typo that would
# reject every model.
BIAS_METRICS: dict[str, tuple[str, ...]] = {
    "bias_pre_training": ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"),
    "bias_post_training": (
        "DPPL",
        "DI",
        "DCA",
        "DCR",
        "RD",
        "DAR",
        "DRR",
        "AD",
        "CDDPL",
        "TE",
        "FT",
        "GE",
    ),
}
# A report larger than this is not a Clarify or Model Monitor output; refuse it rather than fill
# memory.
MAX_REPORT_BYTES = 20 * 1024 * 1024
# The report kind of the endpoint checks (issue 13). Not a ModelMetrics report and not in
# REPORT_KINDS: it is judged after deployment, on the staging endpoint, by
# clearance.deploy.endpoint_checks against its own policy section (deploy/endpoint_policy.yaml).
ENDPOINT_KIND = "endpoint"

# The ModelMetrics slot table. Report kind -> the slots that may hold it, in order of preference.
# The first slot is where producers (the team pipeline, the demo, the bench) write the kind. The
# combined Bias.Report is only a fallback when the dedicated slot is absent (or an empty {} the SDK
# wrote), never when the dedicated slot is present but broken: that would let a bad report be
# bypassed. ModelQuality.Statistics carries either Model Monitor statistics or an LLM evaluation.
METRIC_SLOTS: dict[str, tuple[tuple[str, str], ...]] = {
    "bias_pre_training": (("Bias", "PreTrainingReport"), ("Bias", "Report")),
    "bias_post_training": (("Bias", "PostTrainingReport"), ("Bias", "Report")),
    "explainability": (("Explainability", "Report"),),
    "model_quality": (("ModelQuality", "Statistics"),),
    "llm_evaluation": (("ModelQuality", "Statistics"),),
}
# The verification bundle's manifest (issue 10, docs/verification.md): the one ModelMetrics slot a
# tabular package leaves free. The files the manifest lists sit under the manifest's own S3 prefix.
EVIDENCE_SLOT: tuple[str, str] = ("ModelDataQuality", "Statistics")
# The tabular kinds (everything a tabular package registers).
TABULAR_KINDS: tuple[str, ...] = REPORT_KINDS[:4]


def primary_slot(kind: str) -> tuple[str, str]:
    """(section, key) a producer writes ``kind`` to, e.g. ``("Bias", "PreTrainingReport")``."""
    return METRIC_SLOTS[kind][0]


def slot_order(kinds: tuple[str, ...] = REPORT_KINDS) -> tuple[tuple[str, str, str], ...]:
    """(section, key, kind) for ``kinds``, each kind's slots in preference order."""
    return tuple((section, key, kind) for kind in kinds for section, key in METRIC_SLOTS[kind])


# Where the baked repo's ``make local`` writes each report, relative to its reports directory.
REPORT_FILES: dict[str, str] = {
    "bias_pre_training": "data_bias/analysis.json",
    "bias_post_training": "model_bias/analysis.json",
    "explainability": "explainability/analysis.json",
    "model_quality": "model_quality/statistics.json",
    "llm_evaluation": "llm_evaluation/evaluation.json",
}
REPORT_CONTENT_TYPE = "application/json"
