"""The approval pipeline's Verify step and champion lookup in the authorization matrix (issue 10).

VERIFY_FLOW: every call the Verify processing job makes with the approval role (and SageMaker on
its behalf): start the job, pull the scikit-learn image, download its inputs (code zip, the pinned
xgboost-cpu wheel beside it, the policy, Evaluate's checks.json), read the package, its evidence
bundle and model (the governance copies copy-artifacts made), find the
group's champion (ListModelPackages, then DescribeModelPackage) and write its checks.json.
All of them must be allowed.

VERIFY_DENIED: what must stay denied around it: another team (or an outside account) listing or
describing a team's packages, anyone but the registry admins writing the wheel (the job's own role
included), and the job reading a wheel from anywhere but its code prefix.

WRITABLE_BY_THE_JOB: why the wheel is not under the pipeline's output prefix in the governance
bucket: the approval role writes there (its outputs), so a wheel there could be replaced by a job.
"""

from __future__ import annotations

from authz_harness import BUNDLE_BUCKET, GOVERNANCE, PREFIX, REGION, TEAM, TEAM_B, Call, World

from clearance.pipeline.wheels import XGBOOST_WHEEL, wheel_key

# The harness's ApprovalCodePrefix (authz_harness.World) and the code bundle under it.
CODE_KEY = "clearance/0.1.0/approval/0123456789abcdef/clearance.zip"
WHEEL_KEY = wheel_key(CODE_KEY)
EXECUTION = "exec-1"
JOB = "pipelines-0abc123-verify-1a2b3c"
SKLEARN_IMAGES = "683313688378"  # SageMaker's scikit-learn images in us-east-1
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
MATRIX_WRITERS = (
    "team-developer",
    "team-admin",
    "team-pipeline",
    "other-team-pipeline",
    "governance-admin",
    "approval-role",
    "copy-role",
    "outside-admin",
)


def _sm(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{GOVERNANCE}:{resource}"


def _bundle(key: str) -> str:
    return f"arn:aws:s3:::{BUNDLE_BUCKET}/{key}"


def _gov(w: World, key: str) -> str:
    return f"arn:aws:s3:::{w.governance_bucket()}/{key}"


def _team_object(w: World, relative: str, account: str = TEAM) -> str:
    """An object the team pipeline wrote under its project prefix (evidence bundle, model)."""
    return f"{w.team_bucket(account)}/credit-risk-p-abcdefghijkl/{EXECUTION}/{relative}"


def _packages(w: World, account: str) -> str:
    """ListModelPackages' only resource type in the IAM reference is model-package (not required);
    which ARN a group-filtered list is authorized against is not documented (AWS's and Terraform's
    group policy examples grant it on the group ARN or on model-package/<group>/*, and both the
    approval role and the group policy name both). The simulator takes one concrete resource of a
    listed type and refuses the group ARN ("no.resource.types"), so a package of the group it is."""
    return w.package_arn(account, 1)


def verify_flow(w: World) -> list[tuple[str, Call]]:
    """Every call of the Verify step and the champion lookup, by the approval role."""
    gov_key = w.governance.get_att("GovernanceKey", "Arn")
    role = w.principal("approval-role").arn
    evidence = ["evidence/manifest.json", "evidence/evaluation/test.csv", "model/model.tar.gz"]
    calls = [
        (
            "start the Verify job",
            Call(role, "sagemaker:CreateProcessingJob", _sm(f"processing-job/{JOB}")),
        ),
        (
            "pass its role to the job",
            Call(role, "iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        ),
        (
            "pull the scikit-learn image",
            Call(
                role,
                "ecr:BatchGetImage",
                f"arn:aws:ecr:{REGION}:{SKLEARN_IMAGES}:repository/sagemaker-scikit-learn",
            ),
        ),
        ("download the code zip", Call(role, "s3:GetObject", _bundle(CODE_KEY))),
        ("download the pinned wheel", Call(role, "s3:GetObject", _bundle(WHEEL_KEY))),
        (
            "list the wheel's input prefix",
            Call(
                role,
                "s3:ListBucket",
                f"arn:aws:s3:::{BUNDLE_BUCKET}",
                {"s3:prefix": WHEEL_KEY},
            ),
        ),
        (
            "download the policy",
            Call(role, "s3:GetObjectVersion", _gov(w, "policies/default.yaml")),
        ),
        (
            "download Evaluate's checks.json",
            Call(
                role, "s3:GetObject", _gov(w, f"{PREFIX}-approval/{EXECUTION}/checks/checks.json")
            ),
        ),
        (
            "describe the package",
            Call(role, "sagemaker:DescribeModelPackage", w.package_arn(TEAM, 2)),
        ),
        (
            "champion: list the group's Approved packages",
            Call(role, "sagemaker:ListModelPackages", _packages(w, TEAM)),
        ),
        (
            "champion: describe the champion",
            Call(role, "sagemaker:DescribeModelPackage", w.package_arn(TEAM, 1)),
        ),
        (
            "champion: read its quality report's governance copy",
            Call(
                role,
                "s3:GetObject",
                _gov(w, f"artifacts/{_team_object(w, 'reports/model_quality/statistics.json')}/v1"),
            ),
        ),
        (
            "write the verified checks.json",
            Call(
                role, "s3:PutObject", _gov(w, f"{PREFIX}-approval/{EXECUTION}/verified/checks.json")
            ),
        ),
        ("encrypt its output", Call(role, "kms:GenerateDataKey", gov_key)),
        ("read the governance copies", Call(role, "kms:Decrypt", gov_key, VIA_S3)),
    ]
    for relative in evidence:
        # The packaged definition passes --evidence-bucket: the governance copies, never the
        # team's objects (the champion's reports likewise).
        team_object = _team_object(w, relative)
        calls.append(
            (
                f"read the governance copy of {relative}",
                Call(
                    role,
                    "s3:GetObjectVersion",
                    _gov(w, f"artifacts/{team_object}/3HL4kqtJlcpXroDTDmJ"),
                ),
            )
        )
    return calls


def verify_denied(w: World) -> list[tuple[str, Call]]:
    """Around the Verify step and the champion lookup: all denied."""
    calls: list[tuple[str, Call]] = []
    for who, victim in (
        ("other-team-pipeline", TEAM),
        ("team-pipeline", TEAM_B),
        ("team-developer", TEAM_B),
        ("team-admin", TEAM_B),
        ("outside-admin", TEAM),
    ):
        calls += [
            (
                f"{who} lists {victim}'s packages",
                Call(who, "sagemaker:ListModelPackages", _packages(w, victim)),
            ),
            (
                f"{who} describes {victim}'s champion",
                Call(who, "sagemaker:DescribeModelPackage", w.package_arn(victim, 1)),
            ),
        ]
    for who in MATRIX_WRITERS:
        calls += [
            (f"{who} replaces the Verify wheel", Call(who, "s3:PutObject", _bundle(WHEEL_KEY))),
            (f"{who} deletes the Verify wheel", Call(who, "s3:DeleteObject", _bundle(WHEEL_KEY))),
            (
                f"{who} adds a wheel beside the code",
                Call(who, "s3:PutObject", _bundle(CODE_KEY.rsplit("/", 1)[0] + "/wheels/evil.whl")),
            ),
        ]
    calls += [
        (
            "the job reads a wheel outside its code prefix",
            Call(
                "approval-role",
                "s3:GetObject",
                _bundle(f"clearance/0.0.9/approval/fedcba9876543210/wheels/{XGBOOST_WHEEL}"),
            ),
        ),
        (
            "the job reads another bundle file",
            Call("approval-role", "s3:GetObject", _bundle("clearance/0.1.0/seed/seed-code.zip")),
        ),
        (
            "a team reads the Verify step's outputs of another team",
            Call(
                "other-team-pipeline",
                "s3:GetObject",
                _gov(w, f"{PREFIX}-approval/{EXECUTION}/verified/checks.json"),
            ),
        ),
    ]
    return calls


def writable_by_the_job(w: World) -> list[tuple[str, Call]]:
    """Allowed, and the reason the wheel lives in the bundle bucket instead."""
    return [
        (
            "the approval role writes under its pipeline prefix in the governance bucket",
            Call(
                "approval-role",
                "s3:PutObject",
                _gov(w, f"{PREFIX}-approval/wheels/{XGBOOST_WHEEL}"),
            ),
        )
    ]
