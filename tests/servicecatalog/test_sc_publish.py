"""tools/publish.py against moto's server (clearance_dev.standin.LocalAWS on 127.0.0.1).

moto's CloudFormation creates only some resource types (no SageMaker Pipeline, ModelPackageGroup,
CodeBuild, Service Catalog, CloudWatch alarm, EventInvokeConfig, S3 BucketPolicy or EventBusPolicy)
and cannot read `Fn::ForEach`. The stack test therefore deploys the governance template's
moto-supported part: the unsupported resources are dropped and references to them replaced by
fixed strings, so everything moto can build (key, buckets, queues, topic, roles, log groups, both
Lambdas from the uploaded zip, the EventBridge rule) is created through publish.py's deploy path.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import publish
import pytest
from moto.cloudformation.parsing import get_model_map
from sc_helpers import PATTERN_FILE, load_template

from clearance_dev.standin import LocalAWS

BUCKET = "clearance-bundle-test"
STUDIO = "portfolio:StudioExecutionRoleArns=arn:aws:iam::222222222222:role/studio"


@pytest.fixture()
def aws() -> Iterator[LocalAWS]:
    with LocalAWS(region="us-east-1") as local:
        yield local


def _one_error_line(err: str, field: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ERROR: {field}: "), lines


def test_dry_run_prints_the_plan_and_calls_nothing(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run lists every upload and stack; the (running) endpoint sees no bucket created."""
    assert publish.main(["--bundle", str(bundle), "--dry-run", "--parameter", STUDIO]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((bundle / "manifest.json").read_text())
    for key in manifest["files"]:
        assert f"s3://{BUCKET}/{key}" in out
    assert "would deploy stack clearance-governance" in out
    assert "would deploy stack clearance-portfolio" in out
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_upload_puts_every_file_once_with_its_digest(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Uploads land with sha256 metadata; the model-build template is tagged for Studio."""
    argv = ["--bundle", str(bundle), "--upload-only", "--create-bucket"]
    assert publish.main(argv) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    s3 = aws.client("s3")
    for key, entry in manifest["files"].items():
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["Metadata"]["sha256"] == entry["sha256"]
        assert head["ContentLength"] == entry["size"]
    for visible in ("model-build-product", "s3-template"):
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=manifest["keys"][visible])
        assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in tags["TagSet"]
    hidden = s3.get_object_tagging(Bucket=BUCKET, Key=manifest["keys"]["governance-product"])
    assert hidden["TagSet"] == []
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    capsys.readouterr()
    assert publish.main(argv) == 0
    out = capsys.readouterr().out
    assert "uploaded" not in out and out.count("unchanged") == len(manifest["files"])


def test_bundle_bucket_lets_team_deploy_roles_read_only_the_approval_code(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SSE-S3 (aws/s3 admits no other account) and one Allow: GetObject on clearance.zip only."""
    assert publish.main(["--bundle", str(bundle), "--upload-only", "--create-bucket"]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    s3 = aws.client("s3")
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    code = manifest["keys"]["approval"]
    assert s3.head_object(Bucket=BUCKET, Key=code)["ServerSideEncryption"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (allow,) = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/{manifest['prefix']}/approval/*/clearance.zip"
    ]
    assert allow["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-exampleorg01"}
    roles = allow["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert roles == ["arn:aws:iam::*:role/sagemaker-*-gate", "arn:aws:iam::*:role/sagemaker-*-test"]
    assert re.fullmatch(
        rf"{re.escape(manifest['prefix'])}/approval/[0-9a-f]{{16}}/clearance.zip", code
    )


def test_republish_upgrades_an_existing_kms_bucket_and_keeps_older_code_readable(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bucket from the old publish (aws/s3 objects, TLS-only policy, an older bundle version):
    objects are put again with SSE-S3, and the older version's code key stays readable."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    manifest = json.loads((bundle / "manifest.json").read_text())
    code = manifest["keys"]["approval"]
    entry = manifest["files"][code]
    s3.put_object(
        Bucket=BUCKET,
        Key=code,
        Body=(bundle / entry["path"]).read_bytes(),
        Metadata={"sha256": entry["sha256"]},
    )
    assert s3.head_object(Bucket=BUCKET, Key=code)["ServerSideEncryption"] == "aws:kms"
    older = publish.bundle_bucket_policy(
        BUCKET, [publish.approval_code_resource(BUCKET, "clearance/0.0.9")], "o-exampleorg01"
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(older))
    argv = ["--bundle", str(bundle), "--upload-only"]
    assert publish.main(argv) == 0
    assert s3.head_object(Bucket=BUCKET, Key=code)["ServerSideEncryption"] == "AES256"
    assert f"uploaded  s3://{BUCKET}/{code}" in capsys.readouterr().out
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (allow,) = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
    assert allow["Resource"] == sorted(
        publish.approval_code_resource(BUCKET, p) for p in ("clearance/0.0.9", manifest["prefix"])
    )
    assert publish.main(argv) == 0  # idempotent: nothing uploaded, the same policy
    assert "uploaded" not in capsys.readouterr().out
    again = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert again == policy


def test_missing_bucket_is_one_error_line(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --create-bucket a missing bucket stops before any upload."""
    assert publish.main(["--bundle", str(bundle), "--upload-only"]) == 2
    _one_error_line(capsys.readouterr().err, "bundle bucket")


@pytest.mark.parametrize(
    "override", ["portfolio:NoSuchParameter=1", "governance-TeamAccountIds=1", "elsewhere:A=1"]
)
def test_bad_stack_parameter_is_one_error_line(
    bundle: Path, capsys: pytest.CaptureFixture[str], override: str
) -> None:
    """An unknown stack, parameter or a malformed override is named before any call."""
    assert publish.main(["--bundle", str(bundle), "--dry-run", "--parameter", override]) == 2
    _one_error_line(capsys.readouterr().err, "--parameter")


def test_required_parameter_without_default_is_named(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bundle packaged without Studio roles needs them at publish time, and says how."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    entry = manifest["files"][manifest["keys"]["portfolio"]]
    path = copy / entry["path"]
    template = json.loads(path.read_text())
    del template["Parameters"]["StudioExecutionRoleArns"]["Default"]
    path.write_bytes(json.dumps(template).encode())
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    entry["size"] = path.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert publish.main(["--bundle", str(copy), "--dry-run", "--stacks", "portfolio"]) == 2
    err = capsys.readouterr().err
    _one_error_line(err, "--parameter")
    assert "StudioExecutionRoleArns" in err and "portfolio:StudioExecutionRoleArns=" in err


def test_edited_bundle_file_is_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that no longer matches manifest.json (stale or edited bundle) is never uploaded."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    (copy / manifest["files"][manifest["keys"]["lambda"]]["path"]).write_bytes(b"tampered")
    assert publish.main(["--bundle", str(copy), "--dry-run"]) == 2
    _one_error_line(capsys.readouterr().err, "--bundle")


def test_missing_bundle_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No manifest: say to run make package."""
    assert publish.main(["--bundle", str(tmp_path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    _one_error_line(err, "--bundle")
    assert "make package" in err


def test_unsupported_stack_on_moto_fails_with_one_line(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The full governance stack is beyond moto (Fn::ForEach); the failure is one line, exit 1."""
    argv = ["--bundle", str(bundle), "--create-bucket", "--stacks", "governance"]
    assert publish.main(argv) == 1
    _one_error_line(capsys.readouterr().err, "AWS")


# ----------------------------------------------------------------- the moto-supported stack
def _moto_supported_part(template: dict[str, Any]) -> dict[str, Any]:
    """Drop what moto's CloudFormation cannot build; replace references to it by fixed strings."""
    # A nested stack (the deploy side) is built from its own template, which this filter does not
    # reach: leave it out (tests/deploy checks model-deploy.yaml on its own).
    supported = set(get_model_map()) - {"AWS::CloudFormation::Stack"}
    resources = template["Resources"]
    dropped = {
        name
        for name, body in resources.items()
        if name.startswith("Fn::ForEach::") or body["Type"] not in supported
    }

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in dropped:
                return f"moto-unsupported-{node['Ref']}"
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in dropped:
                return f"arn:aws:moto:us-east-1:123456789012:unsupported/{node['Fn::GetAtt'][0]}"
            if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
                text = re.sub(
                    r"\$\{([A-Za-z0-9]+)(\.[A-Za-z.]+)?\}",
                    lambda m: f"unsupported-{m.group(1)}" if m.group(1) in dropped else m.group(0),
                    node["Fn::Sub"],
                )
                return {"Fn::Sub": text}
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    part = {k: v for k, v in template.items() if k not in {"Transform", "Outputs"}}
    part["Resources"] = {n: replace(b) for n, b in resources.items() if n not in dropped}
    part["Outputs"] = {
        name: output
        for name, output in template.get("Outputs", {}).items()
        if replace(output) == output  # only outputs that name no dropped resource
    }
    return part


def test_governance_stack_builds_on_moto(
    aws: LocalAWS, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through publish.py's deploy path: the Lambdas come from the uploaded zip, with reserved
    concurrency and the environment the handlers read; the rule has the shared pattern, retries
    and a DLQ; the governance bucket is KMS-encrypted."""
    assert publish.main(["--bundle", str(bundle), "--upload-only", "--create-bucket"]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    template = load_template(bundle / "governance-product.json")
    part = _moto_supported_part(template)
    s3 = aws.client("s3")
    key = "moto/governance-supported.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(part).encode())
    url = publish.template_url(BUCKET, "us-east-1", key)
    cf = aws.client("cloudformation")
    status = publish.deploy_stack(cf, "clearance-governance", url, {})
    assert status == "CREATE_COMPLETE"

    lam = aws.client("lambda")
    start = lam.get_function(FunctionName="clearance-start-approval")
    config = start["Configuration"]
    assert config["Handler"] == "clearance.handlers.start_approval.lambda_handler"
    # moto's CloudFormation drops DeadLetterConfig (it passes only a few Lambda properties); the
    # template tests assert the DLQ wiring, here the queues must exist.
    sqs = aws.client("sqs")
    for queue in ("clearance-start-approval-dlq", "clearance-copy-artifacts-dlq"):
        assert sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    assert start["Concurrency"]["ReservedConcurrentExecutions"] == 5
    # No POLICY_S3_URI: the policy location is fixed in the pipeline definition. ACCOUNT_ID: only
    # the central (this account's) registry's packages start an approval.
    variables = config["Environment"]["Variables"]
    assert set(variables) == {"PIPELINE_NAME", "ACCOUNT_ID"}
    assert variables["ACCOUNT_ID"] == config["FunctionArn"].split(":")[4]
    # The function's code is the uploaded, digest-named zip (moto read it from the bundle bucket).
    assert config["CodeSize"] == manifest["files"][manifest["keys"]["lambda"]]["size"]
    copy = lam.get_function(FunctionName="clearance-copy-artifacts")["Configuration"]
    assert set(copy["Environment"]["Variables"]) >= {"GOVERNANCE_BUCKET", "KMS_KEY_ID"}

    events = aws.client("events")
    rule = events.describe_rule(Name="clearance-model-package-pending")
    deployed = json.loads(rule["EventPattern"])
    # moto joins a CommaDelimitedList's characters in Fn::Join; the template tests check "account".
    assert deployed.pop("account")[0] == "123456789012"
    (arn,) = deployed["detail"].pop("ModelPackageArn")
    assert arn == {"prefix": "arn:aws:sagemaker:us-east-1:123456789012:model-package/"}
    assert deployed == json.loads(PATTERN_FILE.read_text())
    (target,) = events.list_targets_by_rule(Rule="clearance-model-package-pending")["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    assert target["DeadLetterConfig"]["Arn"].endswith(":clearance-start-approval-dlq")

    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    (governance,) = [b for b in buckets if b.startswith("clearance-gov-")]
    rule_sse = s3.get_bucket_encryption(Bucket=governance)["ServerSideEncryptionConfiguration"]
    assert rule_sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # moto's CloudFormation applies only BucketEncryption and Tags to a bucket (no versioning,
    # public access block or logging): the template tests assert those properties.

    # The packaged default policy is seeded at PolicyS3Uri once, and never overwritten after.
    policy = bundle / manifest["files"][manifest["keys"]["policy"]]["path"]
    uri, written = publish.seed_policy(cf, s3, "clearance-governance", policy)
    assert written and uri == f"s3://{governance}/policies/default.yaml"
    stored = s3.get_object(Bucket=governance, Key="policies/default.yaml")["Body"].read()
    assert stored == policy.read_bytes()
    s3.put_object(Bucket=governance, Key="policies/default.yaml", Body=b"version: 1\nrules: []\n")
    assert publish.seed_policy(cf, s3, "clearance-governance", policy) == (uri, False)
    edited = s3.get_object(Bucket=governance, Key="policies/default.yaml")["Body"].read()
    assert edited == b"version: 1\nrules: []\n"


def test_model_build_stack_builds_on_moto(aws: LocalAWS, bundle: Path) -> None:
    """The product as a team launches it (codeconnections): names derived from the project, the
    CodeCommit-only resources absent, the artifact bucket encrypted with the project's key, and
    the forwarding rule narrowed to the project's group."""
    assert publish.main(["--bundle", str(bundle), "--upload-only", "--create-bucket"]) == 0
    part = _moto_supported_part(load_template(bundle / "model-build-product.json"))
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="moto/model-build.json", Body=json.dumps(part).encode())
    url = publish.template_url(BUCKET, "us-east-1", "moto/model-build.json")
    params = {
        "SageMakerProjectName": "Credit-Risk",
        "SageMakerProjectId": "p-abcdefghijkl",
        "FullRepositoryId": "acme/credit-risk",
    }
    cf = aws.client("cloudformation")
    assert publish.deploy_stack(cf, "project", url, params) == "CREATE_COMPLETE"

    roles = {r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]}
    prefix = "sagemaker-Credit-Risk-p-abcdefghijkl"
    assert roles == {f"{prefix}-{suffix}" for suffix in ("smexec", "build", "cpipe", "events")}
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]} - {BUCKET}
    account = aws.client("sts").get_caller_identity()["Account"]
    artifacts = f"sagemaker-p-abcdefghijkl-{account}-artifacts"
    assert buckets == {artifacts, f"sagemaker-p-abcdefghijkl-{account}-logs"}
    sse = s3.get_bucket_encryption(Bucket=artifacts)["ServerSideEncryptionConfiguration"]
    key_arn = sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    resources = cf.list_stack_resources(StackName="project")["StackResourceSummaries"]
    (key_id,) = [
        r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "ArtifactKey"
    ]
    assert key_arn.endswith(key_id)  # the project's own key, not an AWS-managed one

    (rule,) = aws.client("events").list_rules()["Rules"]
    expected = json.loads(PATTERN_FILE.read_text())
    # The group name comes from the governance registry-groups custom resource, which moto's
    # CloudFormation cannot call (its own test runs the inline function against moto).
    expected["detail"]["ModelPackageGroupName"] = [
        "arn:aws:moto:us-east-1:123456789012:unsupported/RegistryGroup"
    ]
    assert json.loads(rule["EventPattern"]) == expected
    (target,) = aws.client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == "arn:aws:events:us-east-1:111111111111:event-bus/default"
