"""Recorded requests -> the IAM authorizations they need (action, resource ARN, context keys).

Input: :class:`clearance_dev.requests.Request` records (principal, service, operation, params,
response). Output: one :class:`Needed` per authorization, in the form the authorization harness
(tests/authz/authz_harness.py ``Call``) decides. Calls made by ``setup`` (the stand-in's
administrators) and the demo's plumbing (STS, EventBridge/SQS in place of Lambda targets) are not
the flow's and are left out; an operation this table does not know is an error, so a new call in
the code cannot slip past the coverage suite.

Not derivable offline (stated in docs/development.md): the KMS calls S3 makes on the caller's
behalf for SSE-KMS objects (kms:GenerateDataKey / kms:Decrypt on a key moto does not model), and
the calls SageMaker makes with a role (listed by the harness's flow table instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clearance_dev.requests import Request

__all__ = ["IGNORED_PRINCIPALS", "Needed", "UnknownOperation", "needed"]

IGNORED_PRINCIPALS = frozenset({"setup"})
# The stand-in's plumbing: a queue drained by the demo replaces the Lambda targets.
PLUMBING = {("sts", "AssumeRole"), ("events", "PutEvents"), ("sqs", "ReceiveMessage")}


class UnknownOperation(KeyError):
    """A recorded operation the table below does not map (add it, with its IAM action)."""


@dataclass(frozen=True)
class Needed:
    principal: str
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""


def _arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name}"


def _group_arn(value: str, region: str, account: str) -> str:
    if value.startswith("arn:"):
        return value
    return _arn(region, account, "model-package-group", value.lower())


def _s3(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def _metadata_context(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if params.get("ModelApprovalStatus"):
        out["sagemaker:ModelApprovalStatus"] = params["ModelApprovalStatus"]
    for key, value in (params.get("CustomerMetadataProperties") or {}).items():
        out[f"sagemaker:CustomerMetadataProperties/{key}"] = value
    return out


def _sagemaker(r: Request, region: str, account: str) -> list[tuple[str, str, dict[str, Any]]]:
    p, op = r.params, r.operation
    response = r.response or {}
    if op == "CreateModelPackage":
        resource = response.get("ModelPackageArn") or (
            _group_arn(p["ModelPackageGroupName"], region, account).replace(
                ":model-package-group/", ":model-package/"
            )
            + "/1"
        )
        return [("sagemaker:CreateModelPackage", resource, _metadata_context(p))]
    if op in ("DescribeModelPackage", "UpdateModelPackage"):
        arn = p.get("ModelPackageName") or p.get("ModelPackageArn")
        context = _metadata_context(p) if op == "UpdateModelPackage" else {}
        return [(f"sagemaker:{op}", arn, context)]
    if op in (
        "ListModelPackages",
        "DescribeModelPackageGroup",
        "CreateModelPackageGroup",
        "PutModelPackageGroupPolicy",
    ):
        return [(f"sagemaker:{op}", _group_arn(p["ModelPackageGroupName"], region, account), {})]
    if op in ("CreateModelCard", "DescribeModelCard", "UpdateModelCard", "ListModelCardVersions"):
        name = p["ModelCardName"]
        arn = name if name.startswith("arn:") else _arn(region, account, "model-card", name.lower())
        return [(f"sagemaker:{op}", arn, {})]
    if op in ("AddTags", "ListTags"):
        return [(f"sagemaker:{op}", p["ResourceArn"], {})]
    if op in ("StartPipelineExecution", "DescribePipeline", "ListPipelineExecutions"):
        return [
            (f"sagemaker:{op}", _arn(region, account, "pipeline", p["PipelineName"].lower()), {})
        ]
    if op == "ListPipelineParametersForExecution":
        return [(f"sagemaker:{op}", p["PipelineExecutionArn"], {})]
    raise UnknownOperation(f"sagemaker {op}")


def _s3_calls(r: Request) -> list[tuple[str, str, dict[str, Any]]]:
    p, op = r.params, r.operation
    if op in ("GetObject", "HeadObject", "GetObjectAttributes"):
        action = "s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject"
        if op == "GetObjectAttributes":
            action = (
                "s3:GetObjectVersionAttributes" if p.get("VersionId") else "s3:GetObjectAttributes"
            )
        return [(action, _s3(p["Bucket"], p["Key"]), {})]
    if op == "PutObject":
        return [("s3:PutObject", _s3(p["Bucket"], p["Key"]), {})]
    if op == "CopyObject":
        source = p["CopySource"]
        if isinstance(source, str):
            bucket, _, key = source.lstrip("/").partition("/")
            version = None
        else:
            bucket, key, version = source["Bucket"], source["Key"], source.get("VersionId")
        read = "s3:GetObjectVersion" if version else "s3:GetObject"
        items = [
            (read, _s3(bucket, key), {}),
            ("s3:PutObject", _s3(p["Bucket"], p["Key"]), {}),
        ]
        if p.get("TaggingDirective", "COPY") == "COPY":
            # The default directive copies the source's tags: S3 reads them as the caller.
            tagging = "s3:GetObjectVersionTagging" if version else "s3:GetObjectTagging"
            items.append((tagging, _s3(bucket, key), {}))
        return items
    if op in ("ListObjectsV2", "ListObjects"):
        context = {"s3:prefix": p["Prefix"]} if p.get("Prefix") else {}
        return [("s3:ListBucket", _s3(p["Bucket"]), context)]
    if op == "ListObjectVersions":
        context = {"s3:prefix": p["Prefix"]} if p.get("Prefix") else {}
        return [("s3:ListBucketVersions", _s3(p["Bucket"]), context)]
    raise UnknownOperation(f"s3 {op}")


def needed(requests: Iterable[Request], region: str, accounts: Mapping[str, str]) -> list[Needed]:
    """The authorizations of every flow request; ``accounts`` maps principal -> its account."""
    out: list[Needed] = []
    for r in requests:
        if r.principal in IGNORED_PRINCIPALS or (r.service, r.operation) in PLUMBING:
            continue
        if r.service == "sagemaker":
            # Resources named by ARN carry their account; names resolve in the caller's account.
            items = _sagemaker(r, region, accounts[r.principal])
        elif r.service == "s3":
            items = _s3_calls(r)
        else:
            raise UnknownOperation(f"{r.service} {r.operation}")
        if r.service == "sagemaker" and r.operation.startswith("Create") and r.params.get("Tags"):
            # Tagging on create needs sagemaker:AddTags on the new resource too (AWS docs).
            items = [*items, ("sagemaker:AddTags", items[0][1], {})]
        why = f"{r.service}:{r.operation}"
        out.extend(Needed(r.principal, a, res, ctx, why) for a, res, ctx in items)
    return out
