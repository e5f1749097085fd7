"""The approval pipeline's definition sends only requests botocore's shapes accept (patterns,
lengths, enums): each step's CreateProcessingJob, and the CreatePipeline request that carries it."""

from __future__ import annotations

import json

from clearance.pipeline.definition import render_definition
from clearance_dev.accounts import governance_bucket, role_arn
from clearance_dev.requests import definition_problems, validate


def test_rendered_approval_pipeline_sends_only_valid_requests() -> None:
    bucket = governance_bucket("us-east-1")
    text = render_definition(
        "us-east-1",
        role_arn("approval-role"),
        bucket,
        pipeline_name="clearance-approval",
        allowed_buckets=[bucket, "sagemaker-*"],
        evidence_bucket=bucket,
    )
    definition = json.loads(text)
    problems = definition_problems(definition)
    assert set(problems) == {"Evaluate", "Verify", "Update"}
    assert not any(problems.values()), problems
    evaluate = definition["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert evaluate[evaluate.index("--evidence-bucket") + 1] == bucket
    request = {
        "PipelineName": "clearance-approval",
        "PipelineDefinition": text,
        "RoleArn": role_arn("approval-role"),
    }
    assert validate("sagemaker", "CreatePipeline", request) == []
