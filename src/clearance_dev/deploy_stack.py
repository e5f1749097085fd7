"""Stand-in for the deploy pipeline's CloudFormation actions: one stage's endpoint stack on moto.

On AWS the team repo's ``deploy/endpoint-config-template.yml`` is deployed once per stage with the
stage's ``<stage>-config.json`` parameters. This module does what that stack update does, with the
same parameters, through the SageMaker API on the stand-in:

1. a new Model and a new EndpointConfig named after the build (CloudFormation replaces both on a
   new package, since their properties are immutable). The Model is the package's image and the
   GOVERNANCE COPY of its model the gate checked (``facts["model_copy"]``, the stack's
   ``ModelDataUrl`` parameter), tagged with the package ARN; never the team's ModelDataUrl;
2. CreateEndpoint the first time, UpdateEndpoint afterwards.

And it keeps CloudFormation's failure semantics, which is the rollback guarantee: when the update
fails (``fail_update`` injects what a failed health check of the new fleet does), the stack rolls
back: the new config and model are deleted and the endpoint keeps serving the previous config.
SageMaker itself keeps the old fleet in service until the new one is healthy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAPTURE_CONTENT_TYPES = {"CsvContentTypes": ["text/csv"]}
# endpoint-config-template.yml's lineage tag on the Model (which package's cleared bytes it serves).
PACKAGE_TAG = "clearance:model-package-arn"


class StageFailure(Exception):
    """The new endpoint configuration did not come into service."""


@dataclass
class DeployOutcome:
    stage: str
    endpoint_name: str
    status: str  # "created" | "updated" | "rolled-back"
    endpoint_config: str  # the config serving after the deploy
    previous_config: str | None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_stage_parameters(path: Path) -> dict[str, str]:
    """The ``Parameters`` of a team repo ``deploy/<stage>-config.json``."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    params = doc.get("Parameters") if isinstance(doc, dict) else None
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise ValueError(f"{path}: expected {{'Parameters': {{name: string}}}}")
    return params


def _endpoint_config_request(
    name: str, model_name: str, params: Mapping[str, str], capture_uri: str, kms_key: str
) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": int(params["EndpointInstanceCount"]),
                "InstanceType": params["EndpointInstanceType"],
                "InitialVariantWeight": 1.0,
            }
        ],
        "DataCaptureConfig": {
            "EnableCapture": params["EnableDataCapture"] == "true",
            "InitialSamplingPercentage": int(params["SamplingPercentage"]),
            "DestinationS3Uri": capture_uri,
            "KmsKeyId": kms_key,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": CAPTURE_CONTENT_TYPES,
        },
    }


def deploy_stage(
    sm: Any,
    params: Mapping[str, str],
    *,
    project: str,
    build_id: str,
    facts: Mapping[str, Any],
    role_arn: str,
    capture_uri: str,
    kms_key: str = "alias/clearance-team-artifacts",
    fail_update: bool = False,
    package_arn: str = "",
) -> DeployOutcome:
    """One stage's stack create/update with CloudFormation's rollback on failure."""
    stage = params["StageName"]
    endpoint = f"{project}-{stage}"[:63]
    resource = f"{endpoint[:50]}-{build_id}"[:63]
    try:
        previous = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except sm.exceptions.ClientError:
        previous = None
    sm.create_model(
        ModelName=resource,
        PrimaryContainer={"Image": facts["image"], "ModelDataUrl": facts["model_copy"]["s3_uri"]},
        ExecutionRoleArn=role_arn,
        Tags=[{"Key": PACKAGE_TAG, "Value": package_arn}] if package_arn else [],
    )
    sm.create_endpoint_config(
        **_endpoint_config_request(resource, resource, params, capture_uri, kms_key)
    )
    try:
        if fail_update:
            raise StageFailure("the new endpoint configuration failed its health checks")
        if previous is None:
            sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=resource)
            status = "created"
        else:
            sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=resource)
            status = "updated"
    except (StageFailure, sm.exceptions.ClientError) as exc:
        # CloudFormation rollback: delete what this update created; the endpoint is unchanged.
        sm.delete_endpoint_config(EndpointConfigName=resource)
        sm.delete_model(ModelName=resource)
        serving = previous or "(none)"
        return DeployOutcome(stage, endpoint, "rolled-back", serving, previous, str(exc)[:300])
    return DeployOutcome(stage, endpoint, status, resource, previous)
