"""The stand-in's ModelLifeCycle shim, checked against botocore's shapes, and pending decisions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from clearance.contract.checks import Check, Decision
from clearance.contract.status import PENDING
from clearance.registry.apply import apply_decision, lifecycle
from clearance_dev.lifecycle_shim import validate
from clearance_dev.standin import LocalAWS

GROUP = "credit-risk-models"


def _pending_decision(arn: str) -> Decision:
    check = Check(
        "disparate-impact",
        "bias_post_training",
        "DI",
        False,
        (0.9,),
        {"min": 0.8, "max": 1.25, "abs_max": None},
        "insufficient evidence: DI 0.9: the 95% interval [0.6, 1.2] straddles [0.8, 1.25]",
        outcome="inconclusive",
        measured={"needed_n": {"facet": 400, "rest": 400}},
    )
    return Decision(arn, {"id": "p", "version": 1, "sha256": "0" * 64}, PENDING, (check,))


@pytest.fixture(scope="module")
def sagemaker():
    with LocalAWS() as aws:
        sm = aws.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        yield sm


def _package(sm) -> str:
    return sm.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=PENDING,
    )["ModelPackageArn"]


def test_lifecycle_we_send_fits_botocores_shape() -> None:
    assert validate(lifecycle(_pending_decision("arn"))) is None
    assert validate({"Stage": "Governance", "StageStatus": "Pending Review"}) is not None
    assert validate({"Stage": "Governance"}) == "ModelLifeCycle.StageStatus is required"
    assert validate({"Stage": "G", "StageStatus": "S", "StageDescription": "x" * 1025})


def test_pending_decision_keeps_the_status_and_records_the_lifecycle(sagemaker) -> None:
    arn = _package(sagemaker)
    result = apply_decision(sagemaker, _pending_decision(arn))
    assert result.updated and result.status_after == PENDING
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == PENDING
    assert described["ModelLifeCycle"]["Stage"] == "Governance"
    assert described["ModelLifeCycle"]["StageStatus"] == "PendingHumanReview"
    assert "disparate-impact" in described["ModelLifeCycle"]["StageDescription"]
    assert described["CustomerMetadataProperties"]["clearance:decision"] == PENDING


def test_the_shim_refuses_what_aws_refuses(sagemaker) -> None:
    arn = _package(sagemaker)
    with pytest.raises(ClientError, match="StageStatus does not match"):
        sagemaker.update_model_package(
            ModelPackageArn=arn, ModelLifeCycle={"Stage": "Gov", "StageStatus": "not valid!"}
        )
