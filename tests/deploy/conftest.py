"""A two-account registry on moto for the deploy tests: governance approves, the team deploys.

Team account 111111111111, governance account 222222222222 (PLAN.md). The governance approval role
and a team admin role are real moto roles entered with sts:AssumeRole, so the stand-in shim records
the true caller in LastModifiedBy.IamIdentity.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import xgboost as xgb
from moto import mock_aws

from clearance.contract import names
from clearance.deploy.gate import GateConfig, parse_accepted_policies
from clearance_dev.standin_shims import deploy_shims

TEAM = "111111111111"
GOVERNANCE = "222222222222"
REGION = "us-east-1"
GROUP = f"{TEAM}-credit-risk-p-abc123"
GOV_BUCKET = "clearance-governance-222222222222"
APPROVAL_ROLE = f"arn:aws:iam::{GOVERNANCE}:role/clearance-approval-pipeline-role"
# Any other principal able to call UpdateModelPackage (a governance admin, or a team admin given
# the permission by mistake): in moto the package lives in the governance account's backend.
ADMIN_ROLE = f"arn:aws:iam::{GOVERNANCE}:role/governance-admin"
POLICY = {"id": "default", "version": "1", "sha256": "ab" * 32}
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def session_for(role_arn: str, name: str = "s") -> boto3.Session:
    """A boto3 session of role_arn (moto's STS: the role's account becomes the caller's)."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role_arn, RoleSessionName=name
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


MODEL_DATA_URL = "s3://team-bucket/p/model/model.tar.gz"
# copy-artifacts' destination for MODEL_DATA_URL (clearance.contract.names.copies_prefix).
MODEL_COPIES = "artifacts/team-bucket/p/model/model.tar.gz/"


def checks_bytes(
    arn: str, decision: str = "Approved", policy: dict | None = None, model: dict | None = None
) -> bytes:
    """checks.json; MODEL is verification's model pin (model_read_from, model_version_id,
    model_sha256), absent as in checks.json from before Verify recorded it."""
    doc = {
        "model_package_arn": arn,
        "policy": policy or POLICY,
        "decision": decision,
        "checks": [{"id": "auc", "passed": decision == "Approved"}],
    }
    if model is not None:
        doc["verification"] = {"manifest_sha256": "cd" * 32, **model}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


@dataclass
class World:
    """The governance registry and bucket, and helpers to approve packages in several ways."""

    gov_sm: Any
    gov_s3: Any
    admin_sm: Any
    reader_sm: Any
    reader_s3: Any
    config: GateConfig
    calls: list[str] = field(default_factory=list)
    # package ARN -> the verification pin of its model's governance copy (see copy_model)
    models: dict[str, dict[str, str]] = field(default_factory=dict)

    def copy_model(self, source_version: str, body: bytes) -> dict[str, str]:
        """What copy-artifacts does for one PUT of model.tar.gz; the pin Verify would record."""
        key = MODEL_COPIES + source_version
        version = self.gov_s3.put_object(Bucket=GOV_BUCKET, Key=key, Body=body)["VersionId"]
        return {
            "model_read_from": f"s3://{GOV_BUCKET}/{key}",
            "model_version_id": version,
            "model_sha256": hashlib.sha256(body).hexdigest(),
        }

    def register(self, drift: dict | None = None) -> str:
        arn = self.gov_sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": MODEL_DATA_URL}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            DriftCheckBaselines=drift or {},
        )["ModelPackageArn"]
        version = f"team-v{len(self.models) + 1}"
        self.models[arn] = self.copy_model(version, f"model of {arn}".encode())
        return arn

    def checks_key(self, arn: str) -> str:
        group, version = arn.split("model-package/")[1].split("/")
        return self.config.checks_key.format(group=group, version=version)

    def put_checks(self, arn: str, body: bytes) -> str:
        return self.gov_s3.put_object(Bucket=GOV_BUCKET, Key=self.checks_key(arn), Body=body)[
            "VersionId"
        ]

    def record(self, arn: str, body: bytes, version_id: str | None, decision: str = "Approved"):
        doc = json.loads(body)
        metadata = {
            "clearance:decision": decision,
            "clearance:policy-id": doc["policy"]["id"],
            "clearance:policy-version": doc["policy"]["version"],
            "clearance:policy-sha256": doc["policy"]["sha256"],
            "clearance:checks-sha256": hashlib.sha256(body).hexdigest(),
        }
        if version_id:
            metadata["clearance:checks-version-id"] = version_id
        return metadata

    def approve(self, arn: str, body: bytes | None = None, **overrides: str) -> dict[str, str]:
        """The governance Update step: checks.json in the governance bucket, then the record."""
        body = body or checks_bytes(arn, model=self.models.get(arn))
        version_id = self.put_checks(arn, body)
        metadata = {**self.record(arn, body, version_id), **overrides}
        self.gov_sm.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus="Approved",
            ApprovalDescription="Approved by Clearance policy default v1",
            CustomerMetadataProperties=metadata,
        )
        return metadata


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws(), deploy_shims():
        gov = session_for(APPROVAL_ROLE, "SageMaker")
        admin = session_for(ADMIN_ROLE, "console")
        reader = session_for(f"arn:aws:iam::{TEAM}:role/team-deploy", "gate")
        gov_sm, gov_s3 = gov.client("sagemaker"), gov.client("s3")
        gov_s3.create_bucket(Bucket=GOV_BUCKET)
        gov_s3.put_bucket_versioning(
            Bucket=GOV_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        gov_sm.create_model_package_group(ModelPackageGroupName=GROUP)
        config = GateConfig(
            approval_role_arn=APPROVAL_ROLE,
            governance_bucket=GOV_BUCKET,
            accepted_policies=parse_accepted_policies("default@1 default@2"),
            model_package_group=GROUP,
        )
        # The deploy reads the governance registry: in moto, a client of the governance account.
        reader_sm = gov.client("sagemaker")
        reader_s3 = reader.client("s3")
        world = World(gov_sm, gov_s3, admin.client("sagemaker"), reader_sm, reader_s3, config)
        for name, body in BASELINE.items():  # copy-artifacts' copies of the registered baseline
            gov_s3.put_object(Bucket=GOV_BUCKET, Key=BASELINE_COPIES[name], Body=body)

        def record(params: Any, model: Any, **_: Any) -> None:
            world.calls.append(model.name)

        for client in (reader_sm, reader_s3):
            client.meta.events.register("before-call.*.*", record)
        yield world


N_FEATURES = 5
# The data-quality baseline the team pipeline registers (DriftCheckBaselines.ModelDataQuality), in
# the project's own bucket, each file with its ContentDigest; copy-artifacts' governance copies of
# it are BASELINE_COPIES (version "team-v1" of each source object).
TEAM_BUCKET = "sagemaker-p-abc123-111111111111-artifacts"  # GROUP's project bucket
BASELINE = {
    "Statistics": b'{"version": 0.0, "dataset": {"item_count": 300}, "features": []}\n',
    "Constraints": b'{"version": 0.0, "features": [{"name": "_c1", "inferred_type": '
    b'"Fractional", "completeness": 1.0}]}\n',
}
BASELINE_KEYS = {name: f"credit-risk/run1/data-quality/{name.lower()}.json" for name in BASELINE}
DRIFT = {
    "ModelDataQuality": {
        name: {
            "ContentType": "application/json",
            "S3Uri": f"s3://{TEAM_BUCKET}/{BASELINE_KEYS[name]}",
            "ContentDigest": f"sha256:{hashlib.sha256(body).hexdigest()}",
        }
        for name, body in BASELINE.items()
    }
}
BASELINE_COPIES = {
    name: names.copy_key(TEAM_BUCKET, BASELINE_KEYS[name], "team-v1") for name in BASELINE
}


class FakeS3:
    """A governance bucket of objects for the endpoint check's baseline reads (ListObjectsV2,
    GetObject), recording the calls; no moto needed for the checks against the local endpoint."""

    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        self.calls: list[str] = []

    def list_objects_v2(self, Bucket: str, Prefix: str = "", **_: Any) -> dict[str, Any]:  # noqa: N803
        self.calls.append("ListObjectsV2")
        keys = sorted(k for b, k in self.objects if b == Bucket and k.startswith(Prefix))
        return {"Contents": [{"Key": k, "LastModified": f"2026-11-28T09:{i:02d}"}
                             for i, k in enumerate(keys)]}  # fmt: skip

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.calls.append("GetObject")
        if (Bucket, Key) not in self.objects:
            raise RuntimeError(f"NoSuchKey: {Key}")
        body = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(body), "ContentLength": len(body), "VersionId": "gov-v1"}


def baseline_s3(**changes: bytes) -> FakeS3:
    """The governance copies of the registered baseline; CHANGES replace a copy's bytes."""
    return FakeS3(
        {(GOV_BUCKET, BASELINE_COPIES[n]): changes.get(n, body) for n, body in BASELINE.items()}
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """model.tar.gz as `make local` writes it (member xgboost-model), and some rows."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, N_FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, y), 10)
    raw = bytes(booster.save_raw("json"))
    path = tmp_path_factory.mktemp("model") / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return path, x, booster.predict(xgb.DMatrix(x[:10]))


def rows_of(x: np.ndarray) -> list[str]:
    return [",".join(repr(float(v)) for v in row) for row in x]
