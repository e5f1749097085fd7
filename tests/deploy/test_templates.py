"""Deploy templates: cfn-lint and checkov clean, least privilege, wiring fixed when packaged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_TEMPLATE = REPO_ROOT / "servicecatalog" / "model-deploy.yaml"
TEAM_TEMPLATE = (
    REPO_ROOT / ("{" + "{cookiecutter.project_slug}}") / "deploy" / "endpoint-config-template.yml"
)
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
sys.path.insert(0, str(REPO_ROOT / "tools"))

import package  # noqa: E402


def _cfn(path: Path) -> dict[str, Any]:
    return package.load_source_template(path.stem) if path == DEPLOY_TEMPLATE else yaml.safe_load(
        path.read_text()
    )  # fmt: skip


@pytest.mark.parametrize("path", [DEPLOY_TEMPLATE, TEAM_TEMPLATE], ids=lambda p: p.name)
def test_cfn_lint_clean(path: Path, tmp_path: Path) -> None:
    # The team template ships inside the cookiecutter directory; it holds no Jinja, so it is linted
    # as it is (a copy, because cfn-lint reads the file name's directory for nothing else).
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "cfn-lint"), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not CHECKOV.exists(), reason="needs .venv-checkov (make checkov-venv)")
def test_checkov_clean_on_the_team_template(tmp_path: Path) -> None:
    """servicecatalog/ is scanned by `make checkov`; the team template lives elsewhere."""
    shutil.copyfile(TEAM_TEMPLATE, tmp_path / TEAM_TEMPLATE.name)
    result = subprocess.run(
        [str(CHECKOV), "--quiet", "--compact", "--skip-download", "--framework",
         "cloudformation", "-d", str(tmp_path), "-o", "json"],
        capture_output=True, text=True, check=False, env={"LOG_LEVEL": "ERROR", "PATH": "/usr/bin"},
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0, report["results"]["failed_checks"]
    assert report["summary"]["passed"] > 0


def _statements(template: dict[str, Any]):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if isinstance(statement, dict) and "Fn::If" in statement:
                    statement = statement["Fn::If"][1]
                yield name, statement


def test_every_grant_has_a_reason() -> None:
    """Each Allow statement of the deploy roles is preceded by a comment saying why."""
    lines = DEPLOY_TEMPLATE.read_text().splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("- Sid:") or stripped == "- Effect: Allow":
            above = index - 1
            # A conditional statement: the comment sits above its `- !If` / `- <Condition>` lines.
            while lines[above].strip() == "- !If" or lines[above].strip().startswith("- Use"):
                above -= 1
            in_trust = "AssumeRolePolicyDocument" in "".join(lines[max(0, index - 4) : index])
            assert lines[above].strip().startswith("#") or in_trust, (
                f"line {index + 1}: {stripped} has no comment above it"
            )


def test_no_role_can_change_a_decision() -> None:
    """The deploy side reads the registry; it never updates a package or its group policy."""
    forbidden = {
        "sagemaker:UpdateModelPackage",
        "sagemaker:CreateModelPackage",
        "sagemaker:PutModelPackageGroupPolicy",
        "sagemaker:DeleteModelPackageGroupPolicy",
        "sagemaker:*",
        "s3:PutObject",
    }
    template = package.load_source_template("model-deploy")
    for role, statement in _statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]
        ]  # fmt: skip
        for action in actions:
            if action == "s3:PutObject":
                # Only into the project's own bucket (pipeline artifacts, capture, monitoring).
                resources = json.dumps(statement["Resource"])
                assert "ArtifactBucketName" in resources and "Governance" not in resources, role
                continue
            assert action not in forbidden, f"{role}: {action}"


def test_governance_wiring_is_a_mapping_not_a_parameter() -> None:
    template = package.load_source_template("model-deploy")
    params = " ".join(template["Parameters"]).lower()
    for word in ("governance", "approval", "accepted", "policy", "bucket" + "x"):
        assert word not in params
    assert set(template["Mappings"]["Governance"]["Wiring"]) >= {
        "AccountId",
        "Bucket",
        "ApprovalRoleName",
        "AcceptedPolicies",
        "CodeBucket",
        "CodeKey",
    }


def test_package_fills_the_wiring() -> None:
    opts = package.Options(
        out=Path("unused"),
        region="eu-west-2",
        bundle_bucket="clearance-bundle-eu-west-2",
        prefix="clearance/0.1.0",
        answers={},
        governance_account_id="333333333333",
        organization_id="o-exampleorg00",
        team_account_ids=(),
        studio_role_arns=(),
    )
    keys = {"approval": "clearance/0.1.0/approval/abc/clearance.zip"}
    rendered = package.render_model_deploy(package.load_source_template("model-deploy"), opts, keys)
    wiring = rendered["Mappings"]["Governance"]["Wiring"]
    assert wiring["AccountId"] == "333333333333"
    assert wiring["Bucket"] == "clearance-gov-333333333333-eu-west-2"
    assert wiring["ApprovalRoleName"] == "clearance-approval-pipeline-role"
    assert wiring["ChecksPrefix"] == "clearance-approval/checks"
    assert wiring["CodeKey"] == keys["approval"]
    assert (
        wiring["AcceptedPolicies"] == package.default_accepted_policies() == "clearance-default@2"
    )
    bad = package.Options(**{**opts.__dict__, "accepted_policies": "default"})
    with pytest.raises(package.PackageError, match="accepted-policies"):
        package.render_model_deploy(package.load_source_template("model-deploy"), bad, keys)


def test_pipeline_order_is_gate_staging_checks_approval_gate_prod() -> None:
    template = package.load_source_template("model-deploy")
    stages = template["Resources"]["DeployPipeline"]["Properties"]["Stages"]
    actions = [
        a["Name"] for stage in stages for a in sorted(stage["Actions"], key=_run_order)
        if "Name" in a
    ]  # fmt: skip
    assert actions == [
        "GateAndBuild",
        "DeployStagingEndpoint",
        "TestStaging",
        "ApproveDeployment",
        "GateProd",
        "DeployProdEndpoint",
    ]
    rule = template["Resources"]["ApprovedTriggerRule"]["Properties"]["EventPattern"]
    assert rule["detail"]["ModelApprovalStatus"] == ["Approved"]


def _run_order(action: dict[str, Any]) -> int:
    return int(action.get("RunOrder", 1)) if isinstance(action, dict) else 1


@pytest.mark.parametrize(
    ("answers", "enabled"),
    [({}, "true"), ({"deploy": False}, "false"), ({"model_type": "llm"}, "false")],
)
def test_model_build_nests_the_deploy_when_the_answer_says_so(answers, enabled) -> None:
    opts = package.Options(
        out=Path("unused"),
        region="us-east-1",
        bundle_bucket="clearance-bundle-us-east-1",
        prefix="clearance/0.1.0",
        answers=answers,
        governance_account_id="222222222222",
        organization_id="o-exampleorg00",
        team_account_ids=(),
        studio_role_arns=(),
    )
    keys = {
        "seed": "clearance/0.1.0/seed/seed-code-0123.zip",
        "model-deploy": "clearance/0.1.0/templates/model-deploy-0123456789ab.json",
    }
    template = package.render_model_build(
        package.load_source_template("model-build-product"), opts, keys, package.load_pattern()
    )
    product = template["Mappings"]["Deploy"]["Product"]
    assert product["Enabled"] == enabled
    assert product["TemplateUrl"] == (
        f"https://clearance-bundle-us-east-1.s3.us-east-1.amazonaws.com/{keys['model-deploy']}"
    )
    nested = template["Resources"]["DeployPipeline"]
    assert nested["Condition"] == "WithDeploy"
    deploy_params = package.load_source_template("model-deploy")["Parameters"]
    assert set(nested["Properties"]["Parameters"]) == set(deploy_params)
