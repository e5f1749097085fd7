"""Upload the packaged bundle and deploy its stacks (`make publish`, `make publish DRY_RUN=1`).

    build/servicecatalog/ ─▶ publish.py ─┬─▶ s3://<bundle bucket>/<prefix>/...      (upload)
                                         └─▶ CloudFormation stacks:                  (deploy)
                                               <stack-prefix>-governance (governance account)
                                               <stack-prefix>-portfolio  (where Studio runs)

boto3 only; every client honours AWS_ENDPOINT_URL (botocore reads it), so the same command runs
against moto's server (`clearance_dev.standin.LocalAWS`) or a real account. `--dry-run` prints the
plan and makes no AWS call at all.

Uploads are skipped when the object already carries the same sha256 (metadata) and SSE-S3
encryption, so re-publishing an unchanged bundle uploads nothing. The model-build template object
is tagged `sagemaker:studio-visibility=true`, which the SageMaker Projects S3-templates route reads.
Every publish sets the bundle bucket's encryption (SSE-S3) and policy (team deploy roles read the
approval code bundle): `secure_bundle_bucket`. The Verify step's pinned xgboost-cpu wheel is one of
the bundle's files (beside the approval code, in `<prefix>/approval/<sha>/wheels/`), uploaded like
the rest; a bundle without it is refused.

Errors are one line: `ERROR: <field>: <problem>. <fix>`; exit 2 for bad input, 1 for an AWS failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("publish")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = REPO_ROOT / "build" / "servicecatalog"
STACK_KINDS = ("governance", "portfolio")
STACK_TEMPLATE = {"governance": "governance-product", "portfolio": "portfolio"}
CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
STUDIO_VISIBILITY_TAG = "sagemaker:studio-visibility=true"
# How long to wait for a stack, in the waiter's own units (delay seconds x attempts).
WAITER_CONFIG = {"Delay": 5, "MaxAttempts": 360}


class PublishError(Exception):
    """`<field>: <problem>. <fix>`; exit_code 2 for bad input, 1 for an AWS failure."""

    def __init__(self, field_name: str, problem: str, fix: str, exit_code: int = 2) -> None:
        super().__init__(f"{field_name}: {problem}. {fix}")
        self.exit_code = exit_code


@dataclass(frozen=True)
class Upload:
    key: str
    path: Path
    size: int
    sha256: str
    tagging: str | None = None


@dataclass(frozen=True)
class StackPlan:
    kind: str
    name: str
    template_key: str
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    bucket: str
    region: str
    uploads: tuple[Upload, ...]
    stacks: tuple[StackPlan, ...]
    policy: Path | None = None
    prefix: str = "clearance"
    organization_id: str = ""


# The team roles that download the approval code bundle (clearance.zip) their buildspecs run:
# model-deploy.yaml's deploy gate (Build, GateProd) and endpoint-check (TestStaging) CodeBuild
# roles, sagemaker-<project name>-<project id>-gate and -test, in any account of the organization.
BUNDLE_READER_ROLES = ("sagemaker-*-gate", "sagemaker-*-test")
READ_SID = "TeamDeployRolesReadApprovalCode"


# ---------------------------------------------------------------------------------------- plan
def load_manifest(bundle: Path) -> dict[str, Any]:
    path = bundle / "manifest.json"
    if not path.is_file():
        raise PublishError("--bundle", f"{path} not found", "Run `make package` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PublishError(
            "--bundle", f"{path} is not JSON ({error})", "Re-run `make package`"
        ) from None
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_uploads(bundle: Path, manifest: dict[str, Any]) -> tuple[Upload, ...]:
    """Every bundle file, verified against the manifest (a changed file means a stale bundle)."""
    # Studio lists a product only with this tag: the Service Catalog copy and the S3-templates copy.
    visible = {manifest["keys"]["model-build-product"], manifest["keys"].get("s3-template")}
    if "xgboost-wheel" not in manifest.get("keys", {}):
        # Without it the approval's Verify step cannot start (its `wheels` input names the object).
        raise PublishError(
            "--bundle",
            "manifest.json has no xgboost-wheel (the Verify step's pinned wheel)",
            "Re-run `make package` with this version of tools/package.py",
        )
    uploads = []
    for key, entry in sorted(manifest["files"].items()):
        path = bundle / entry["path"]
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise PublishError(
                "--bundle",
                f"{entry['path']} is missing or differs from manifest.json",
                "Re-run `make package`",
            )
        tagging = STUDIO_VISIBILITY_TAG if key in visible else None
        uploads.append(Upload(key, path, entry["size"], entry["sha256"], tagging))
    return tuple(uploads)


def _template_parameters(bundle: Path, manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    key = manifest["keys"][STACK_TEMPLATE[kind]]
    template = json.loads((bundle / manifest["files"][key]["path"]).read_text(encoding="utf-8"))
    return template.get("Parameters", {})


def plan_stacks(
    bundle: Path,
    manifest: dict[str, Any],
    kinds: Sequence[str],
    stack_prefix: str,
    overrides: dict[str, dict[str, str]],
) -> tuple[StackPlan, ...]:
    stacks = []
    for kind in kinds:
        declared = _template_parameters(bundle, manifest, kind)
        given = overrides.get(kind, {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise PublishError(
                "--parameter",
                f"{kind} has no parameter {unknown[0]!r}",
                f"Use one of {', '.join(sorted(declared))}",
            )
        missing = sorted(
            n for n, spec in declared.items() if "Default" not in spec and n not in given
        )
        if missing:
            raise PublishError(
                "--parameter",
                f"{kind} needs {missing[0]} (no default in the bundle)",
                f"Pass --parameter {kind}:{missing[0]}=VALUE or set it at `make package`",
            )
        stacks.append(
            StackPlan(kind, f"{stack_prefix}-{kind}", manifest["keys"][STACK_TEMPLATE[kind]], given)
        )
    return tuple(stacks)


def template_url(bucket: str, region: str, key: str) -> str:
    """Virtual-hosted-style URL, the form CloudFormation and Service Catalog accept."""
    host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return f"https://{bucket}.{host}/{key}"


# ----------------------------------------------------------------------------------- AWS steps
def ensure_bucket(s3: Any, bucket: str, region: str, create: bool) -> bool:
    """True if the bucket had to be created. A created bucket is private and versioned; its
    encryption and policy are set on every publish (:func:`secure_bundle_bucket`)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    if not create:
        raise PublishError(
            "bundle bucket", f"s3://{bucket} does not exist", "Create it, or pass --create-bucket"
        )
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return True


def approval_code_resource(bucket: str, prefix: str) -> str:
    """The approval code bundles of one bundle prefix: <prefix>/approval/<sha>/clearance.zip."""
    return f"arn:aws:s3:::{bucket}/{prefix.strip('/')}/approval/*/clearance.zip"


def bundle_bucket_policy(
    bucket: str, resources: Sequence[str], organization_id: str, tls_only: bool = True
) -> dict[str, Any]:
    """TLS only, and the team deploy roles' read of the approval code bundles, nothing else.

    No list, no write, no other key (the Lambda zip, seed code, templates and policy stay private
    to the governance account): s3:GetObject on the clearance.zip keys only, for a principal of the
    organization (aws:PrincipalOrgID) whose role name is a deploy gate or endpoint-check role.
    Principal "*" with aws:PrincipalOrgID is not public for Block Public Access.
    """
    statements: list[dict[str, Any]] = []
    if tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    statements.append(
        {
            "Sid": READ_SID,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": sorted(set(resources)),
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": organization_id},
                "ArnLike": {
                    "aws:PrincipalArn": [f"arn:aws:iam::*:role/{r}" for r in BUNDLE_READER_ROLES]
                },
            },
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def _published_resources(s3: Any, bucket: str) -> list[str]:
    """The code-bundle resources the bucket's policy already grants (earlier bundle versions)."""
    from botocore.exceptions import ClientError

    try:
        current = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
            raise
        return []
    for statement in current.get("Statement", []):
        if statement.get("Sid") == READ_SID:
            resource = statement.get("Resource", [])
            return [resource] if isinstance(resource, str) else list(resource)
    return []


def secure_bundle_bucket(s3: Any, bucket: str, prefix: str, organization_id: str) -> None:
    """Encryption and policy of the bundle bucket, set on every publish (new or existing bucket).

    SSE-S3, not SSE-KMS: the AWS-managed aws/s3 key (the old default) admits no other account, so
    team deploy roles could not read clearance.zip. A customer key would work but adds a key policy
    to keep in step with the team accounts, for no secrecy gain: the bundle is the open-source
    clearance code. What matters is integrity, and that comes from the bucket (write access stays
    with the governance account, versioning, TLS only) and from the content-addressed key the deploy
    template pins (approval/<sha256 prefix>/clearance.zip). Earlier bundle versions stay readable,
    so teams whose deploy product pins an older code key keep working until they update it.
    """
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    resources = [*_published_resources(s3, bucket), approval_code_resource(bucket, prefix)]
    # A plain-HTTP stand-in (moto's server) evaluates bucket policies: a TLS-only deny would refuse
    # every later request. Real endpoints are HTTPS and always get it.
    plain_http = os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://")
    if plain_http:
        print(f"note      s3://{bucket}: TLS-only statement skipped (plain-HTTP endpoint)")
    policy = bundle_bucket_policy(bucket, resources, organization_id, tls_only=not plain_http)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def upload(s3: Any, bucket: str, item: Upload) -> bool:
    """Put the object unless it is already there with the same digest; True if uploaded."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=item.key)
        # An object from before SSE-S3 (aws/s3-encrypted) is put again: teams cannot decrypt it.
        sse = head.get("ServerSideEncryption", "AES256")
        if head.get("Metadata", {}).get("sha256") == item.sha256 and sse == "AES256":
            return False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
            raise
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": item.key,
        "Body": item.path.read_bytes(),
        "Metadata": {"sha256": item.sha256},
        "ServerSideEncryption": "AES256",
    }
    if item.tagging:
        kwargs["Tagging"] = item.tagging
    s3.put_object(**kwargs)
    return True


def deploy_stack(cf: Any, name: str, url: str, parameters: dict[str, str]) -> str:
    """Create or update the stack and wait; return its final status."""
    from botocore.exceptions import ClientError

    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    try:
        cf.describe_stacks(StackName=name)
        exists = True
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        exists = False
    if exists:
        try:
            cf.update_stack(
                StackName=name, TemplateURL=url, Parameters=params, Capabilities=CAPABILITIES
            )
        except ClientError as error:
            if "No updates are to be performed" in str(error):
                return "UNCHANGED"
            raise
        cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAITER_CONFIG)
    else:
        cf.create_stack(
            StackName=name,
            TemplateURL=url,
            Parameters=params,
            Capabilities=CAPABILITIES,
            OnFailure="ROLLBACK",
        )
        cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=WAITER_CONFIG)
    return str(cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def publish(plan: Plan, create_bucket: bool, upload_only: bool) -> None:
    import boto3

    session = boto3.Session(region_name=plan.region)
    s3 = session.client("s3")
    if ensure_bucket(s3, plan.bucket, plan.region, create_bucket):
        print(f"created   s3://{plan.bucket} (private, versioned)")
    secure_bundle_bucket(s3, plan.bucket, plan.prefix, plan.organization_id)
    print(f"secured   s3://{plan.bucket} (SSE-S3; team deploy roles read approval/*/clearance.zip)")
    for item in plan.uploads:
        state = "uploaded" if upload(s3, plan.bucket, item) else "unchanged"
        print(f"{state:<9} s3://{plan.bucket}/{item.key} ({item.size} bytes)")
    if upload_only:
        return
    cf = session.client("cloudformation")
    for stack in plan.stacks:
        url = template_url(plan.bucket, plan.region, stack.template_key)
        status = deploy_stack(cf, stack.name, url, stack.parameters)
        print(f"{status:<9} stack {stack.name}")
        if stack.kind == "governance" and plan.policy is not None:
            uri, written = seed_policy(cf, s3, stack.name, plan.policy)
            print(f"{'seeded' if written else 'kept':<9} policy {uri}")


def seed_policy(cf: Any, s3: Any, stack_name: str, policy: Path) -> tuple[str, bool]:
    """Put the packaged default policy at the stack's PolicyS3Uri unless a policy is there.

    Never overwrites: once the governance team has edited the policy, re-publishing the bundle
    must not roll it back (changing the policy is an explicit upload, see the runbook).
    """
    from botocore.exceptions import ClientError

    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cf.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    }
    uri = outputs.get("PolicyS3Uri", "")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise PublishError(
            "PolicyS3Uri",
            f"stack {stack_name} has no usable PolicyS3Uri output ({uri!r})",
            "Deploy the packaged governance template",
            1,
        )
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return uri, False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=policy.read_bytes())
    return uri, True


def print_plan(plan: Plan) -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "the AWS default endpoints")
    print(f"dry run: no AWS call made (endpoint would be {endpoint}, region {plan.region})")
    print(
        f"would set s3://{plan.bucket} to SSE-S3 with a policy letting {plan.organization_id}'s "
        f"deploy roles read {approval_code_resource(plan.bucket, plan.prefix)}"
    )
    for item in plan.uploads:
        tag = f" tagged {item.tagging}" if item.tagging else ""
        print(f"would upload s3://{plan.bucket}/{item.key} ({item.size} bytes{tag})")
    for stack in plan.stacks:
        url = template_url(plan.bucket, plan.region, stack.template_key)
        given = ", ".join(f"{k}={v}" for k, v in sorted(stack.parameters.items())) or "defaults"
        print(f"would deploy stack {stack.name} from {url} ({given})")


# ----------------------------------------------------------------------------------------- CLI
def _parse_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        target, _, assignment = item.partition(":")
        key, sep, value = assignment.partition("=")
        if target not in STACK_KINDS or not sep or not key:
            raise PublishError(
                "--parameter",
                f"{item!r} is not STACK:Key=Value",
                f"Use e.g. governance:TeamAccountIds=111122223333 ({'|'.join(STACK_KINDS)})",
            )
        overrides.setdefault(target, {})[key] = value
    return overrides


def build_plan(argv: Sequence[str] | None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="output of make package")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; call nothing")
    parser.add_argument(
        "--create-bucket",
        action="store_true",
        help="create the bundle bucket (private, versioned, encrypted) if missing",
    )
    parser.add_argument("--upload-only", action="store_true", help="upload, deploy nothing")
    parser.add_argument(
        "--stacks",
        default=",".join(STACK_KINDS),
        help="comma-separated stacks to deploy, in order (governance,portfolio)",
    )
    parser.add_argument("--stack-prefix", default="clearance", help="stack name prefix")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="STACK:KEY=VALUE",
        help="stack parameter override (repeatable)",
    )
    args = parser.parse_args(argv)

    bundle = Path(args.bundle)
    manifest = load_manifest(bundle)
    kinds = [] if args.upload_only else [k.strip() for k in args.stacks.split(",") if k.strip()]
    bad = [k for k in kinds if k not in STACK_KINDS]
    if bad:
        raise PublishError("--stacks", f"unknown stack {bad[0]!r}", f"Use {', '.join(STACK_KINDS)}")
    region = (
        os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or manifest["region"]
    )
    if region != manifest["region"]:
        # The approval pipeline's processing image URI is regional and was fixed at package time.
        raise PublishError(
            "AWS_DEFAULT_REGION",
            f"{region} differs from the bundle's {manifest['region']}",
            f"Re-run `make package` with --region {region}",
        )
    if not manifest.get("organization_id") or not manifest.get("prefix"):
        raise PublishError(
            "--bundle",
            "manifest.json has no organization_id or prefix (a bundle from an older package.py)",
            "Re-run `make package`",
        )
    plan = Plan(
        prefix=manifest["prefix"],
        organization_id=manifest["organization_id"],
        bucket=manifest["bundle_bucket"],
        region=region,
        uploads=plan_uploads(bundle, manifest),
        policy=bundle / manifest["files"][manifest["keys"]["policy"]]["path"],
        stacks=plan_stacks(
            bundle, manifest, kinds, args.stack_prefix, _parse_overrides(args.parameter)
        ),
    )
    return plan, args


def _aws_error(error: Exception) -> PublishError:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        WaiterError,
    )
    from botocore.parsers import ResponseParserError

    if isinstance(error, NoCredentialsError):
        return PublishError(
            "credentials",
            "no AWS credentials found",
            "Configure a profile, or set AWS_ENDPOINT_URL for a local stand-in",
            1,
        )
    if isinstance(error, EndpointConnectionError):
        return PublishError(
            "AWS_ENDPOINT_URL", f"cannot connect ({error})", "Check the endpoint or unset it", 1
        )
    if isinstance(error, WaiterError):
        return PublishError(
            "stack",
            f"did not complete ({error})",
            "See the stack's events in the CloudFormation console",
            1,
        )
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "AWS")
        message = " ".join(str(err.get("Message", error)).split())
        return PublishError(
            operation,
            f"{err.get('Code', 'Error')}: {message}",
            "Fix the cause above and re-run (uploads are skipped when unchanged)",
            1,
        )
    if isinstance(error, BotoCoreError | ResponseParserError):
        # e.g. an endpoint answering HTML instead of XML: its first line says enough.
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        return PublishError("AWS", first_line, "Check the endpoint and retry", 1)
    raise error


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="publish: %(message)s")
    try:
        plan, args = build_plan(argv)
        if args.dry_run:
            print_plan(plan)
            return 0
        try:
            publish(plan, args.create_bucket, args.upload_only)
        except PublishError:
            raise
        except Exception as error:  # botocore errors become one line; anything else propagates
            raise _aws_error(error) from None
    except PublishError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return error.exit_code
    print(f"published bundle {plan.bucket} ({len(plan.uploads)} files, {len(plan.stacks)} stacks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
