"""The registry-groups Lambda (inline in governance-product.yaml): one central-registry group per
team project, created at launch, with the policy that lets the team register pending packages only.

The function's own code is taken from the template and run against moto (moto has no model package
group policies: the put call is recorded instead, and the policy itself is proven by the
authorization matrix in tests/authz).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sc_helpers import TEMPLATE_DIR, load_template

GOVERNANCE = "123456789012"  # moto's account plays the governance account
TEAM = "111111111111"
ORG = "o-exampleorg01"
APPROVAL = f"arn:aws:iam::{GOVERNANCE}:role/clearance-approval-pipeline-role"
REGISTRY = f"arn:aws:iam::{GOVERNANCE}:role/clearance-registry-groups-role"
STACK = f"arn:aws:cloudformation:us-east-1:{TEAM}:stack/SC-{TEAM}-pp-abc/0000-1111"


def _code() -> str:
    template = load_template(TEMPLATE_DIR / "governance-product.yaml")
    return template["Resources"]["RegistryGroupsFunction"]["Properties"]["Code"]["ZipFile"]


class _Recorder:
    """The real (moto) SageMaker client, with put_model_package_group_policy recorded."""

    def __init__(self, policies: dict[str, Any]) -> None:
        self._client = boto3.client("sagemaker", region_name="us-east-1")
        self._policies = policies

    def put_model_package_group_policy(
        self, ModelPackageGroupName: str, ResourcePolicy: str
    ) -> dict:  # noqa: N803
        self._client.describe_model_package_group(ModelPackageGroupName=ModelPackageGroupName)
        self._policies[ModelPackageGroupName] = json.loads(ResourcePolicy)
        return {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    env = {
        "PARTITION": "aws",
        "AWS_REGION": "us-east-1",
        "ACCOUNT_ID": GOVERNANCE,
        "ORGANIZATION_ID": ORG,
        "APPROVAL_ROLE_ARN": APPROVAL,
        "REGISTRY_ROLE_ARN": REGISTRY,
        "TEAM_ACCOUNT_IDS": f"{TEAM},444444444444",
    }
    for key, value in env.items():
        monkeypatch.setitem(os.environ, key, value)
    with mock_aws():
        namespace: dict[str, Any] = {"__name__": "registry_groups"}
        exec(compile(_code(), "registry_groups.py", "exec"), namespace)  # noqa: S102 - our template
        policies: dict[str, Any] = {}
        responses: list[dict[str, Any]] = []
        # The function's module globals only: boto3 and urllib themselves stay untouched.
        namespace["boto3"] = SimpleNamespace(client=lambda service: _Recorder(policies))

        def urlopen(request: Any, timeout: int) -> None:
            assert request.get_method() == "PUT" and request.full_url.startswith("https://cfn")
            responses.append(json.loads(request.data))

        namespace["urllib"] = SimpleNamespace(
            request=SimpleNamespace(Request=urllib.request.Request, urlopen=urlopen)
        )
        namespace["policies"], namespace["responses"] = policies, responses
        yield namespace


def _event(kind: str = "Create", name: str = "credit-risk", stack: str = STACK) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "StackId": stack,
        "RequestId": "r-1",
        "LogicalResourceId": "RegistryGroup",
        "ResponseURL": "https://cfn-response.example/put",
        "ResourceProperties": {"ProjectName": name, "ProjectId": "p-abcdefghijkl"},
    }


def test_inline_code_fits_cloudformation_zipfile_limit() -> None:
    assert len(_code()) <= 4096


def test_launch_creates_the_group_with_its_policy(registry: dict[str, Any]) -> None:
    registry["handler"](_event(), None)
    (answer,) = registry["responses"]
    assert answer["Status"] == "SUCCESS", answer
    name = f"{TEAM}-credit-risk-p-abcdefghijkl"
    assert answer["PhysicalResourceId"] == name
    assert answer["Data"] == {
        "ModelPackageGroupName": name,
        "ModelPackageGroupArn": (
            f"arn:aws:sagemaker:us-east-1:{GOVERNANCE}:model-package-group/{name}"
        ),
    }
    sm = boto3.client("sagemaker", region_name="us-east-1")
    assert (
        sm.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupName"] == name
    )
    policy = registry["policies"][name]
    sids = {s["Sid"]: s for s in policy["Statement"]}
    register = sids["TeamRegistersPendingOnly"]
    assert register["Principal"] == {
        "AWS": f"arn:aws:iam::{TEAM}:role/sagemaker-credit-risk-p-abcdefghijkl-smexec"
    }
    assert register["Condition"]["StringEquals"] == {
        "sagemaker:ModelApprovalStatus": "PendingManualApproval",
        "aws:PrincipalOrgID": ORG,
    }
    assert sids["OnlyApprovalDecides"]["Effect"] == "Deny"
    assert sids["NobodyRegistersDecided"]["Condition"] == {
        "StringNotEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    }
    assert sids["OnlyRegistrySetsPolicy"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": REGISTRY}
    }
    assert sids["OnlyApprovalDecides"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": APPROVAL}
    }


def test_relaunch_and_update_are_idempotent(registry: dict[str, Any]) -> None:
    registry["handler"](_event(), None)
    registry["handler"](_event("Update"), None)
    assert [r["Status"] for r in registry["responses"]] == ["SUCCESS", "SUCCESS"]
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert len(groups["ModelPackageGroupSummaryList"]) == 1


def test_delete_keeps_the_group_and_its_decisions(registry: dict[str, Any]) -> None:
    registry["handler"](_event(), None)
    registry["handler"](_event("Delete"), None)
    assert registry["responses"][-1]["Status"] == "SUCCESS"
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert len(groups["ModelPackageGroupSummaryList"]) == 1


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event(stack=STACK.replace(TEAM, "333333333333")), "not a listed team account"),
        (_event(name="credit risk!"), "bad project"),
        (_event(name="x" * 33), "bad project"),
    ],
)
def test_refusals_fail_the_launch_and_create_nothing(
    registry: dict[str, Any], event: dict[str, Any], reason: str
) -> None:
    registry["handler"](event, None)
    (answer,) = registry["responses"]
    assert answer["Status"] == "FAILED" and reason in answer["Reason"], answer
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert groups["ModelPackageGroupSummaryList"] == []


def test_group_names_never_collide_and_fit_sagemaker_limits(registry: dict[str, Any]) -> None:
    """<account>-<project name>-<project id>: 12 + 1 + 32 + 1 + 14 = 60 <= 63, never truncated,
    and two accounts with the same project name and id get different groups."""
    name = registry["group_name"]
    longest = name(TEAM, "a" * 32, "p-" + "z" * 12)
    assert len(longest) == 60
    assert name(TEAM, "credit-risk", "p-abcdefghijkl") != name(
        "444444444444", "credit-risk", "p-abcdefghijkl"
    )
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", longest)


def test_governance_rule_starts_approvals_for_central_registry_packages_only() -> None:
    """The packaged rule (shared pattern + source accounts + central-registry ARN prefix), routed
    through moto's EventBridge: a pending package of this account's registry is delivered; one of
    another account's registry, a decided one, or a custom source is not."""
    import package

    pattern = package.governance_pattern(
        json.loads(
            (TEMPLATE_DIR.parent / "src/clearance/patterns/model_package_pending.json").read_text()
        )
    )
    pattern["account"] = [GOVERNANCE, TEAM]
    pattern["detail"]["ModelPackageArn"] = [
        {"prefix": f"arn:aws:sagemaker:us-east-1:{GOVERNANCE}:model-package/"}
    ]

    def event(account: str, status: str, source: str = "aws.sagemaker") -> dict[str, Any]:
        arn = f"arn:aws:sagemaker:us-east-1:{account}:model-package/{TEAM}-credit-risk-p-abc/1"
        detail = {
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
            "ModelPackageGroupName": "g",
        }
        return {
            "Source": source,
            "DetailType": "SageMaker Model Package State Change",
            "Resources": [arn],
            "Detail": json.dumps(detail),
        }

    with mock_aws():
        events, sqs = boto3.client("events", "us-east-1"), boto3.client("sqs", "us-east-1")
        url = sqs.create_queue(QueueName="approvals")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        events.put_rule(Name="pending", EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule="pending", Targets=[{"Id": "q", "Arn": queue["QueueArn"]}])
        entries = [
            event(GOVERNANCE, "PendingManualApproval"),
            event("999999999999", "PendingManualApproval"),
            event(GOVERNANCE, "Approved"),
            event(GOVERNANCE, "PendingManualApproval", source="my.app"),
        ]
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    delivered = [json.loads(m["Body"])["detail"]["ModelPackageArn"] for m in messages]
    assert delivered == [
        f"arn:aws:sagemaker:us-east-1:{GOVERNANCE}:model-package/{TEAM}-credit-risk-p-abc/1"
    ]
