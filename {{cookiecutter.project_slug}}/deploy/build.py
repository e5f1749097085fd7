"""Deploy build step: pick the package to deploy and write each stage's CloudFormation parameters.

The SageMaker "model deploy" seed-code convention: CodeBuild runs this file, CloudFormation deploys
endpoint-config-template.yml once per stage with the files it writes.

    python deploy/build.py --model-package-group-name G --model-execution-role-arn R \
        --sagemaker-project-name N --sagemaker-project-id I \
        --data-capture-uri s3://bucket/datacapture --kms-key-id arn:aws:kms:... \
        [--model-package-arn ARN] [--gate-result gate.json] [--export-dir .]

It runs twice in the Build stage (deploy/buildspec.yml), around the deploy gate:

1. without --gate-result: it takes --model-package-arn, or else the newest Approved package of the
   group (what the Approved state-change event that started the pipeline points at), checks both
   stage configs and writes ``model-package-arn.txt``: the package the gate checks;
2. with --gate-result (``clearance deploy-gate --json``'s output, which must allow that package):
   it writes the stage parameters. The Model is created from the package's image and the
   GOVERNANCE COPY of its model the gate checked against what the approval verified
   (``facts.model_copy.s3_uri``), never from the team's ModelDataUrl, which the team can overwrite:

    staging-config-export.json     {"Parameters": {...}, "Tags": {...}} for the staging stack
                                   (endpoint <project name>-<project id>-staging)
    prod-config-export.json        the same for production

The stage settings (instance type and count, autoscaling, data capture) come from
deploy/<stage>-config.json: endpoint configuration as code. Errors are one line
`ERROR: <field>: <problem>. <fix>` and exit 2 (usage) or 3 (AWS).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STAGES = ("staging", "prod")
# The parameters each <stage>-config.json must set (the rest come from the command line).
STAGE_PARAMETERS = (
    "StageName",
    "EndpointInstanceType",
    "EndpointInstanceCount",
    "AutoScalingMinCapacity",
    "AutoScalingMaxCapacity",
    "AutoScalingTargetInvocationsPerInstance",
    "EnableDataCapture",
    "SamplingPercentage",
)
PACKAGE_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+")
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")


class ConfigError(Exception):
    """A stage configuration or argument that cannot deploy."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")


def load_stage(stage: str, config_dir: Path = HERE) -> dict[str, str]:
    """deploy/<stage>-config.json's Parameters, checked (fail before CloudFormation does)."""
    path = config_dir / f"{stage}-config.json"
    field = f"deploy/{path.name}"
    try:
        params = json.loads(path.read_text(encoding="utf-8"))["Parameters"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(field, f"cannot be read ({exc})", "Restore it from the template") from exc
    missing = [name for name in STAGE_PARAMETERS if name not in params]
    if missing:
        raise ConfigError(field, f"lacks {', '.join(missing)}", "Add them")
    if not all(isinstance(v, str) for v in params.values()):
        raise ConfigError(field, "has a non-string value", "CloudFormation parameters are strings")
    if params["StageName"] != stage:
        raise ConfigError(field, f"StageName is {params['StageName']!r}", f"Set it to {stage}")
    if not INSTANCE_TYPE.fullmatch(params["EndpointInstanceType"]):
        raise ConfigError(field, "EndpointInstanceType is not ml.<family>.<size>", "Fix it")
    counts = {}
    for name in ("EndpointInstanceCount", "AutoScalingMinCapacity", "AutoScalingMaxCapacity"):
        if not params[name].isdigit() or int(params[name]) < 1:
            raise ConfigError(field, f"{name} is not a positive integer", "Fix it")
        counts[name] = int(params[name])
    if not (
        counts["AutoScalingMinCapacity"]
        <= counts["EndpointInstanceCount"]
        <= counts["AutoScalingMaxCapacity"]
    ):
        raise ConfigError(
            field,
            "EndpointInstanceCount is outside [AutoScalingMinCapacity, AutoScalingMaxCapacity]",
            "Make min <= count <= max",
        )
    if params["EnableDataCapture"] != "true":
        raise ConfigError(
            field, "EnableDataCapture is not true", "Data capture is part of the clearance"
        )
    sampling = params["SamplingPercentage"]
    if not sampling.isdigit() or not 1 <= int(sampling) <= 100:
        raise ConfigError(field, "SamplingPercentage is not 1-100", "Fix it")
    return params


def served_model(gate_result: dict[str, Any], package_arn: str) -> dict[str, str]:
    """Image and ModelDataUrl (the verified governance copy) from the gate's allowing result."""
    field = "--gate-result"
    if not isinstance(gate_result, dict) or gate_result.get("allowed") is not True:
        raise ConfigError(field, "the deploy gate did not allow a package", "Deploy nothing")
    if gate_result.get("model_package_arn") != package_arn:
        raise ConfigError(
            field, f"is for {gate_result.get('model_package_arn')!r}, not {package_arn}", "Re-run"
        )
    facts = gate_result.get("facts") or {}
    image = facts.get("image")
    copy = (facts.get("model_copy") or {}).get("s3_uri")
    if not isinstance(image, str) or not image:
        raise ConfigError(field, "names no container image", "Re-run the gate")
    if not isinstance(copy, str) or not copy.startswith("s3://"):
        raise ConfigError(field, "names no verified model copy", "Re-run the gate")
    return {"Image": image, "ModelDataUrl": copy}


def export(
    stage: str,
    package_arn: str,
    common: dict[str, str],
    served: dict[str, str],
    config_dir: Path = HERE,
) -> dict:
    """One stage's CloudFormation template configuration file (CodePipeline's format)."""
    if not PACKAGE_ARN.fullmatch(package_arn):
        raise ConfigError("--model-package-arn", f"{package_arn!r} is not versioned", "Fix it")
    params = {
        **load_stage(stage, config_dir),
        **common,
        "ModelPackageName": package_arn,
        "Image": served["Image"],
        "ModelDataUrl": served["ModelDataUrl"],
    }
    # New package or new settings -> new Model/EndpointConfig names (CloudFormation replaces
    # custom-named resources only under a new name); the same inputs redeploy as a no-op.
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    params["DeployId"] = digest[:12]
    tags = {
        "sagemaker:project-name": common["SageMakerProjectName"],
        "sagemaker:project-id": common["SageMakerProjectId"],
        "clearance:model-package-arn": package_arn,
    }
    return {"Parameters": params, "Tags": tags}


def latest_approved(sm: Any, group: str) -> str:
    """The newest Approved package of the group."""
    response = sm.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = response.get("ModelPackageSummaryList") or []
    if not summaries:
        raise ConfigError(
            "--model-package-group-name", f"{group} has no Approved package", "Nothing to deploy"
        )
    return summaries[0]["ModelPackageArn"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--model-package-arn", default=None)
    parser.add_argument("--model-execution-role-arn", required=True)
    parser.add_argument("--sagemaker-project-name", required=True)
    parser.add_argument("--sagemaker-project-id", required=True)
    parser.add_argument("--data-capture-uri", required=True)
    parser.add_argument("--kms-key-id", required=True)
    parser.add_argument("--export-dir", type=Path, default=Path("."))
    parser.add_argument(
        "--gate-result", type=Path, default=None, help="clearance deploy-gate --json output"
    )
    args = parser.parse_args(argv)
    try:
        arn = args.model_package_arn
        if arn is None:
            import boto3

            arn = latest_approved(boto3.client("sagemaker"), args.model_package_group_name)
        common = {
            "SageMakerProjectName": args.sagemaker_project_name,
            "SageMakerProjectId": args.sagemaker_project_id,
            "ModelExecutionRoleArn": args.model_execution_role_arn,
            "DataCaptureUploadPath": args.data_capture_uri,
            "KmsKeyId": args.kms_key_id,
        }
        for stage in STAGES:
            load_stage(stage)  # fail before the gate runs, not after
        exports = {}
        if args.gate_result is not None:
            try:
                gate_result = json.loads(args.gate_result.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError("--gate-result", f"cannot be read ({exc})", "Re-run") from exc
            served = served_model(gate_result, arn)
            exports = {stage: export(stage, arn, common, served) for stage in STAGES}
    except ConfigError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - an AWS error is one line too
        print(f"ERROR: model registry: {exc}. Check the deploy role and the group", file=sys.stderr)
        return 3
    args.export_dir.mkdir(parents=True, exist_ok=True)
    (args.export_dir / "model-package-arn.txt").write_text(arn + "\n", encoding="utf-8")
    for stage, doc in exports.items():
        path = args.export_dir / f"{stage}-config-export.json"
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"deploying {arn}" if exports else f"checking {arn} (the deploy gate runs next)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
