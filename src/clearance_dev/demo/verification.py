"""Stage: the two verification builds of issue 10, and how the demo shows intervals.

Beside the fair (Approved) and biased (Rejected) builds, the demo registers:

- **forged**: the biased build's model and evaluation split, registered with the *fair* build's
  reports, i.e. reports edited to pass. On the reports alone it would be Approved; the Verify step
  scores the split with the registered model, recomputes, and rejects it ("reported DI 1.081,
  recomputed 0.206").
- **small-sample**: a fair model built from 600 rows, so its test split has 90 rows. The
  default policy decides the bias rules on 95 % intervals: they straddle the bounds, the rules are
  inconclusive, and the package is Rejected for insufficient evidence with the rows per group that
  would decide.

The fair and biased builds use 10,000 rows (a 1,500-row test split): at the template's default
2,000 rows (300 test rows) several bias intervals of a fair model still straddle the bounds, which
is the issue's point about deciding on point estimates from small samples.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from clearance.contract.status import APPROVED, REJECTED
from clearance_dev import wheels as dev_wheels
from clearance_dev.demo.common import Build

DECIDING_ROWS = 10_000
SMALL_ROWS = 600
# What each build must end as for the demo to succeed.
EXPECTED = {"fair": APPROVED, "biased": REJECTED, "forged": REJECTED, "small-sample": REJECTED}


def upload_wheels(s3: Any, bucket: str, code_key: str, scratch: Path) -> str:
    """The Verify step's `wheels` input: the pinned xgboost-cpu wheel beside the code bundle at
    CODE_KEY, uploaded by publish.py's own upload (as `make publish` does). The real wheel when an
    offline copy is at hand (CLEARANCE_WHEEL_DIR, or build/wheels/ once `make package` ran),
    checked against the pinned sha256; otherwise a small stand-in wheel of the same name, which the
    demo's Verify never installs (this venv has XGBoost). Returns a line saying which it was."""
    env = os.environ.get("CLEARANCE_WHEEL_DIR")
    real = dev_wheels.find_offline(Path(env) if env else None, dev_wheels.CACHE_DIR)
    wheel = real or dev_wheels.stand_in_wheel(scratch)
    key, _ = dev_wheels.publish_wheel(s3, bucket, code_key, wheel)
    what = "PyPI's wheel, sha256 checked" if real else "a STAND-IN (no offline real copy)"
    return f"s3://{bucket}/{key}: {what}"


def builds(out: Path, fair_bias: float, biased_bias: float) -> list[Build]:
    """The builds `make local` runs (forged is made from two of them afterwards)."""

    def build(label: str, bias: float, rows: int) -> Build:
        return Build(
            label, bias, out / "builds" / label, out / "logs" / f"build-{label}.log", rows=rows
        )

    return [
        build("fair", fair_bias, DECIDING_ROWS),
        build("biased", biased_bias, DECIDING_ROWS),
        build("small-sample", fair_bias, SMALL_ROWS),
    ]


def forge(fair: Build, biased: Build, out: Path) -> Build:
    """The biased build's model and split with the fair build's reports (edited to pass)."""
    forged = Build("forged", biased.bias, out / "builds" / "forged", biased.log, rows=biased.rows)
    if forged.out_dir.exists():
        shutil.rmtree(forged.out_dir)
    shutil.copytree(biased.out_dir, forged.out_dir)
    shutil.rmtree(forged.reports_dir)
    shutil.copytree(fair.reports_dir, forged.reports_dir)
    return forged


def check_lines(document: dict[str, Any]) -> list[str]:
    """One line per check that did not pass: outcome, value, interval, group sizes, rows needed."""
    lines = []
    for check in document.get("checks", []):
        if check.get("passed"):
            continue
        interval = check.get("interval") or {}
        span = (
            f" 95% [{interval['lower']:.3g}, {interval['upper']:.3g}]"
            if "lower" in interval
            else ""
        )
        sizes = check.get("group_sizes") or {}
        groups = f" n={sizes}" if sizes else ""
        needed = check.get("needed_n")
        more = f" needed_n={needed}" if needed else ""
        lines.append(
            f"{check.get('outcome', 'fail')} {check['id']}:{span}{groups}{more}: {check['reason']}"
        )
    return lines
