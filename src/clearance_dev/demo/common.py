"""Shared constants and records of the demo (names, timeouts, the Build record)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from clearance.contract.errors import ClearanceError
from clearance.contract.reports import (
    REPORT_CONTENT_TYPE,
    REPORT_FILES,
    TABULAR_KINDS,
    primary_slot,
)

LOGGER = logging.getLogger("clearance_dev.demo")

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = Path("build/demo")
PIPELINE_NAME = "clearance-approval"
GOVERNANCE_BUCKET = "clearance-governance-demo"
APPROVAL_ROLE = "arn:aws:iam::{account}:role/clearance-approval-pipeline"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
EVENT_SOURCE = "aws.sagemaker"
FAIR_BIAS = 0.0
# At 0.5 the disadvantaged group gets markedly fewer favourable labels; the README (demo) lists the
# metric values this produces and the default policy's bounds they cross.
BIASED_BIAS = 0.5
BUILD_TIMEOUT_S = 600
STEP_TIMEOUT_S = 300

# Where `make local` writes each report (baked repo contract) and the ModelMetrics slot it fills.
REPORTS = tuple(
    # (ModelMetrics section, key, file under OUT/reports, content type)
    (*primary_slot(kind), REPORT_FILES[kind], REPORT_CONTENT_TYPE)
    for kind in TABULAR_KINDS
)


class DemoError(ClearanceError):
    """A demo step could not complete; ``str()`` is the one line shown to the user."""

    def __init__(self, message: str) -> None:
        self.field, self.problem, self.fix = "demo", message, ""
        Exception.__init__(self, message)


@dataclass
class Build:
    """One local build of the baked repo and, later, its registered package."""

    label: str
    bias: float
    out_dir: Path
    log: Path
    rows: int = 2000
    package_arn: str | None = None
    version: int | None = None
    execution_arn: str | None = None
    steps: dict[str, int] = field(default_factory=dict)

    @property
    def reports_dir(self) -> Path:
        return self.out_dir / "reports"


# --------------------------------------------------------------------------------------- bake
