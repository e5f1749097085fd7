"""Stand-in scaffolding: a registry and bucket on the local AWS stand-in; steps run in process."""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from clearance.contract.status import APPROVED, PENDING, REJECTED
from clearance.pipeline.steps import evaluate as evaluate_step
from clearance.pipeline.steps import update as update_step
from clearance.policy import DEFAULT_POLICY_PATH
from clearance_dev.bench.reports import BUCKET, GROUP, PIPELINE_NAME, SLOTS, realistic_reports
from clearance_dev.demo.events import deliver_event, state_change_event
from clearance_dev.demo.runner import pending_executions

# ----------------------------------------------------------------------- stand-in scaffolding


class Registry:
    """Packages on the stand-in, their events, and the approval steps run in process."""

    def __init__(self, sm: Any, s3: Any, workdir: Path, account: str, region: str) -> None:
        self.sm = sm
        self.s3 = s3
        self.workdir = workdir
        self.account = account
        self.region = region
        self.policy_dir = workdir / "policy"
        self.metrics: dict[str, dict[str, Any]] = {}
        self.done: set[str] = set()

    def setup(self, definition: str) -> None:
        self.s3.create_bucket(Bucket=BUCKET)
        self.sm.create_model_package_group(ModelPackageGroupName=GROUP)
        self.sm.create_pipeline(
            PipelineName=PIPELINE_NAME,
            PipelineDefinition=definition,
            RoleArn=f"arn:aws:iam::{self.account}:role/clearance-approval-pipeline",
        )
        self.policy_dir.mkdir(parents=True, exist_ok=True)
        (self.policy_dir / "policy.yaml").write_text(point_policy_text(), encoding="utf-8")
        # One uploaded report set per kind: packages share them (as retrained versions with the
        # same numbers would); the registry round trip per package is what is measured.
        for kind in ("fair", "biased"):
            slots: dict[str, dict[str, Any]] = {}
            for report, data in realistic_reports(kind).items():
                section, key = SLOTS[report]
                object_key = f"bench/{kind}/{report}.json"
                self.s3.put_object(Bucket=BUCKET, Key=object_key, Body=data)
                slots.setdefault(section, {})[key] = {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{BUCKET}/{object_key}",
                    "ContentDigest": "sha256:" + hashlib.sha256(data).hexdigest(),
                }
            self.metrics[kind] = slots

    def register(self, kind: str) -> str:
        return self.sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelPackageDescription=f"bench {kind}",
            InferenceSpecification={
                "Containers": [
                    {"Image": f"683313688378.dkr.ecr.{self.region}.amazonaws.com/xgb:1.7-1"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus=PENDING,
            ModelMetrics=self.metrics[kind],
            CustomerMetadataProperties={"team:project": "bench"},
        )["ModelPackageArn"]

    def deliver(self, package_arn: str) -> None:

        described = self.sm.describe_model_package(ModelPackageName=package_arn)
        deliver_event(state_change_event(described, self.account, self.region), self.sm,
                      PIPELINE_NAME)  # fmt: skip

    def started(self) -> list[tuple[str, str]]:
        """(execution ARN, ModelPackageArn) of executions not run yet."""

        found = pending_executions(self.sm, PIPELINE_NAME, self.done)
        return [(arn, params["ModelPackageArn"]) for arn, params in found]

    def run_steps(self, execution_arn: str, package_arn: str) -> None:
        """Evaluate then Update in process, with the argv the pipeline definition gives them."""
        out = self.workdir / "executions" / execution_arn.rsplit("/", 1)[-1]
        # The step's own client creation (a fresh process on SageMaker) is left out: the clients
        # are reused, so the figure is the decision path itself.
        clients = (self.sm, self.s3)
        with _quiet():
            code = evaluate_step.main(
                ["--model-package-arn", package_arn, "--policy", str(self.policy_dir),
                 "--output-dir", str(out), "--allowed-buckets", BUCKET],
                clients,
            )  # fmt: skip
            if code == 0:
                code = update_step.main(["--checks", str(out / "checks.json")], clients)
        self.done.add(execution_arn)
        if code != 0:
            raise RuntimeError(f"approval steps failed (exit {code}) for {package_arn}")

    def count(self) -> dict[str, int]:
        counts = {}
        paginator = self.sm.get_paginator("list_model_packages")
        for status in (APPROVED, REJECTED, PENDING):
            counts[status] = sum(
                len(page["ModelPackageSummaryList"])
                for page in paginator.paginate(
                    ModelPackageGroupName=GROUP, ModelApprovalStatus=status
                )
            )
        return counts


def point_policy_text() -> str:
    """The default policy with its rules decided on the reported point values.

    (b) and (c) measure the registry round trip (event, Evaluate, Update) without the Verify step,
    whose recomputed intervals the default policy's interval rules need: without them every fair
    package would be inconclusive and Rejected. The verification's own cost is figure (e).
    """
    doc = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    doc.pop("min_group_size", None)
    for rule in doc.get("rules", []):
        rule.pop("decide_on", None)
        rule.pop("min_group_size", None)
    return yaml.safe_dump(doc, sort_keys=False)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # The entry points print one line per decision for CloudWatch; the bench prints figures.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[index]
