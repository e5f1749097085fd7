"""The endpoint report (kind ``endpoint``) and its policy: shapes shared by the checks, the
schedule builder and the recording (clearance.deploy.endpoint_checks re-exports them)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearance.contract.reports import ENDPOINT_KIND

KIND = ENDPOINT_KIND
POLICY_FILE = Path(__file__).with_name("endpoint_policy.yaml")
TAG_PREFIX = "clearance-endpoint:"
PASS, FAIL = "pass", "fail"
CSV = "text/csv"
Invoker = Callable[[bytes, str], tuple[int, bytes]]


class EndpointPolicyError(ValueError):
    """The endpoint policy file is invalid."""


@dataclass(frozen=True)
class EndpointPolicy:
    id: str
    version: str
    sha256: str
    requests: int
    rows_per_request: int
    p50_ms_max: float
    p95_ms_max: float
    error_rate_max: float
    score_range: tuple[float, float] | None
    capture_required: bool
    min_sampling_percentage: int
    monitoring_required: bool
    schedule_expression: str
    monitor_instance_type: str

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def _number(doc: Mapping[str, Any], path: str, low: float, high: float) -> float:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, bool) or not isinstance(node, int | float) or not low <= node <= high:
        raise EndpointPolicyError(f"{path}: {node!r} is not a number in [{low}, {high}]")
    return float(node)


def load_policy(path: Path | None = None) -> EndpointPolicy:
    """Read and validate the endpoint policy (default: the shipped endpoint_policy.yaml)."""
    import yaml

    raw = (path or POLICY_FILE).read_bytes()
    doc = yaml.safe_load(raw)
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise EndpointPolicyError(f"kind: must be {KIND!r}")
    score = doc.get("score_range")
    if score is not None and not (
        isinstance(score, list)
        and len(score) == 2
        and all(isinstance(v, int | float) for v in score)
    ):
        raise EndpointPolicyError("score_range: must be [low, high] or null")
    capture, monitoring = doc.get("data_capture") or {}, doc.get("monitoring") or {}
    return EndpointPolicy(
        id=str(doc.get("id") or ""),
        version=str(doc.get("version") or ""),
        sha256=hashlib.sha256(raw).hexdigest(),
        requests=int(_number(doc, "requests", 1, 100_000)),
        rows_per_request=int(_number(doc, "rows_per_request", 1, 10_000)),
        p50_ms_max=_number(doc, "latency_ms.p50_max", 0, 600_000),
        p95_ms_max=_number(doc, "latency_ms.p95_max", 0, 600_000),
        error_rate_max=_number(doc, "error_rate_max", 0, 1),
        score_range=(float(score[0]), float(score[1])) if score else None,
        capture_required=bool(capture.get("required", True)),
        min_sampling_percentage=int(_number(doc, "data_capture.min_sampling_percentage", 0, 100)),
        monitoring_required=bool(monitoring.get("required", True)),
        schedule_expression=str(monitoring.get("schedule_expression") or "cron(0 * ? * * *)"),
        monitor_instance_type=str(monitoring.get("instance_type") or "ml.m5.xlarge"),
    )


@dataclass
class EndpointReport:
    """The ``kind: endpoint`` report (JSON shape in :meth:`to_json`)."""

    endpoint_name: str
    model_package_arn: str
    stage: str
    policy: dict[str, Any]
    checks: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: dict[str, Any] = field(default_factory=dict)
    error_rate: dict[str, Any] = field(default_factory=dict)
    data_capture: dict[str, Any] = field(default_factory=dict)
    monitoring: dict[str, Any] = field(default_factory=dict)
    checked_at: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    @property
    def outcome(self) -> str:
        return PASS if self.checks and all(c["outcome"] == PASS for c in self.checks) else FAIL

    def check(self, check_id: str, passed: bool, reason: str, **measured: Any) -> None:
        self.checks.append(
            {"id": check_id, "outcome": PASS if passed else FAIL, "reason": reason, **measured}
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "schema_version": 1,
            "stage": self.stage,
            "endpoint_name": self.endpoint_name,
            "model_package_arn": self.model_package_arn,
            "policy": self.policy,
            "checked_at": self.checked_at,
            "outcome": self.outcome,
            "checks": self.checks,
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "data_capture": self.data_capture,
            "monitoring": self.monitoring,
        }
