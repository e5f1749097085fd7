"""The deploy roles in the authorization matrix (issue 13), as data for the authz harness.

servicecatalog/model-deploy.yaml rendered into the team account (111111111111) with the governance
wiring the harness uses, its seven roles added as principals (each with the project boundary), then:

- DEPLOY_DENIED: what no deploy role may do (decide, forge a record, rewrite evidence or policy,
  read another team's checks.json or package, invoke production from the test role);
- DEPLOY_FLOW: every call the deploy pipeline needs, by role;
- KNOWN_GAPS: flow calls the current governance-side policies deny (each names the statement that
  would allow it). The test asserts the denied flow calls are exactly these, so closing a gap (or
  opening a new one) fails the test until this list is updated.

Uses authz_harness (World, Call, Principal, decide) and cfn_render (Rendered, load).
"""

from __future__ import annotations

from typing import Any

from authz_harness import (
    ALLOW_ALL as ALL,
)
from authz_harness import (
    BUNDLE_BUCKET,
    GOVERNANCE,
    OUTSIDE,
    PREFIX,
    PROJECT,
    REGION,
    TEAM,
    TEAM_B,
    Call,
    Principal,
    World,
)
from cfn_render import Rendered, load

DEPLOY_ROLES = {
    "deploy-gate": "GateRole",
    "deploy-test": "TestRole",
    "deploy-stack": "StackRole",
    "deploy-pipeline": "PipelineRole",
    "deploy-trigger": "TriggerRole",
    "deploy-model": "ModelExecutionRole",
    "deploy-monitor": "MonitoringRole",
}
CODE_KEY = "clearance/0.1.0/approval/0123456789abcdef/clearance.zip"
APPROVED = {"sagemaker:ModelApprovalStatus": "Approved"}
RECORD = {"sagemaker:CustomerMetadataProperties/clearance:decision": "Approved"}
# endpoint-check --record's tag keys (clearance.deploy.record.package_tags).
ENDPOINT_TAGS = {
    "aws:TagKeys": ["clearance-endpoint:staging-outcome", "clearance-endpoint:policy"],
    "aws:RequestTag/clearance-endpoint:staging-outcome": "pass",
}


def render_deploy(w: World) -> Rendered:
    template = load("model-deploy")
    template["Mappings"]["Governance"]["Wiring"] = {
        "AccountId": GOVERNANCE,
        "Bucket": w.governance_bucket(),
        "ApprovalRoleName": f"{PREFIX}-approval-pipeline-role",
        "AcceptedPolicies": "clearance-default@2",
        "CodeBucket": BUNDLE_BUCKET,
        "CodeKey": CODE_KEY,
        "ChecksPrefix": f"{PREFIX}-approval/checks",
    }
    team = w.teams[TEAM]
    return Rendered(
        template,
        {
            "SageMakerProjectName": PROJECT[0],
            "SageMakerProjectId": PROJECT[1],
            "ArtifactBucketName": w.team_bucket(TEAM),
            "ArtifactKeyArn": team.get_att("ArtifactKey", "Arn"),
            "ConnectionArn": f"arn:aws:codeconnections:{REGION}:{TEAM}:connection/abc",
            "FullRepositoryId": "acme/models",
        },
        TEAM,
    )


def add_deploy_principals(w: World) -> Rendered:
    """Register the deploy roles as principals of the world (idempotent); returns the render."""
    deploy = render_deploy(w)
    boundary = w.principals["team-pipeline"].boundary
    for name, role in DEPLOY_ROLES.items():
        w.principals[name] = Principal(
            deploy.role_arn(role), TEAM, tuple(deploy.role_policies(role)), boundary
        )
    return deploy


def _sm(account: str, resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:{resource}"


def _checks(w: World, account: str) -> str:
    group = w.group_arn(account).rsplit("/", 1)[1]
    return f"arn:aws:s3:::{w.governance_bucket()}/{PREFIX}-approval/checks/{group}/1/checks.json"


def model_copy(w: World, bucket: str | None = None) -> str:
    """copy-artifacts' copy of a model.tar.gz (artifacts/<team bucket>/<key>/<version>)."""
    source = bucket or w.team_bucket(TEAM)
    key = f"artifacts/{source}/{PROJECT[0]}-{PROJECT[1]}/run/model/model.tar.gz/3HL4kqtJlcpXroDTDmJ"
    return f"arn:aws:s3:::{w.governance_bucket()}/{key}"


def model_role_denied(w: World) -> list[Call]:
    """The endpoints' model role reads its own project's verified copies, nothing else there."""
    own = model_copy(w)
    other_project = model_copy(w, f"sagemaker-p-otherproject-{TEAM}-artifacts")
    return [
        Call("deploy-model", "s3:GetObject", model_copy(w, w.team_bucket(TEAM_B))),
        Call("deploy-model", "s3:GetObject", other_project),
        Call("deploy-model", "s3:PutObject", own),
        Call("deploy-model", "s3:DeleteObject", own),
        Call("deploy-model", "s3:DeleteObjectVersion", own),
        Call("deploy-model", "s3:PutObjectRetention", own),
        Call("deploy-model", "s3:GetObject", _checks(w, TEAM)),
        Call("deploy-gate", "s3:GetObject", model_copy(w, w.team_bucket(TEAM_B))),
        Call("deploy-gate", "s3:PutObject", own),
    ]


def baseline_copy(w: World, name: str = "constraints.json", bucket: str | None = None) -> str:
    """copy-artifacts' copy of a registered data-quality baseline file (DriftCheckBaselines)."""
    source = bucket or w.team_bucket(TEAM)
    key = f"artifacts/{source}/{PROJECT[0]}/run/data-quality/{name}/3HL4kqtJlcpXroDTDmJ"
    return f"arn:aws:s3:::{w.governance_bucket()}/{key}"


def baseline_listing(w: World, name: str = "constraints.json", bucket: str | None = None):
    """(bucket ARN, ListObjectsV2 context) of the endpoint check's search for the pinned copy."""
    prefix = baseline_copy(w, name, bucket).split(":::", 1)[1].split("/", 1)[1]
    return f"arn:aws:s3:::{w.governance_bucket()}", {"s3:prefix": prefix.rsplit("/", 1)[0] + "/"}


def baseline_denied(w: World) -> list[Call]:
    """The endpoint check (-test) and the monitoring role (-mon) read their own project's copies
    of the two baseline files, and nothing else in the governance bucket."""
    own = baseline_copy(w)
    bucket, _ = baseline_listing(w)
    other_team, other_team_prefix = baseline_listing(w, bucket=w.team_bucket(TEAM_B))
    other_project = f"sagemaker-p-otherproject-{TEAM}-artifacts"
    _, other_project_prefix = baseline_listing(w, bucket=other_project)
    calls = []
    for role in ("deploy-test", "deploy-monitor"):
        calls += [
            Call(role, "s3:GetObject", baseline_copy(w, bucket=w.team_bucket(TEAM_B))),
            Call(role, "s3:GetObject", baseline_copy(w, bucket=other_project)),
            Call(role, "s3:ListBucket", other_team, other_team_prefix),
            Call(role, "s3:ListBucket", bucket, other_project_prefix),
            Call(role, "s3:ListBucket", bucket, {"s3:prefix": "artifacts/"}),
            Call(role, "s3:ListBucket", bucket, {}),
            Call(role, "s3:GetObject", model_copy(w)),  # its own project's model: not needed
            Call(role, "s3:GetObject", _checks(w, TEAM)),
            Call(role, "s3:PutObject", own),
            Call(role, "s3:DeleteObject", own),
            Call(role, "s3:PutObjectRetention", own),
        ]
    return calls


def _names() -> dict[str, str]:
    name, pid = PROJECT
    return {
        "staging": _sm(TEAM, f"endpoint/{name}-{pid}-staging"),
        "prod": _sm(TEAM, f"endpoint/{name}-{pid}-prod"),
        "model": _sm(TEAM, f"model/{pid}-staging-0123456789ab"),
        "config": _sm(TEAM, f"endpoint-config/{pid}-staging-0123456789ab"),
        "schedule": _sm(TEAM, f"monitoring-schedule/{name}-{pid}-staging-dq"),
        "stack": (
            f"arn:aws:cloudformation:{REGION}:{TEAM}:stack/sagemaker-{name}-{pid}-deploy-staging/1"
        ),
        "pipeline": f"arn:aws:codepipeline:{REGION}:{TEAM}:sagemaker-{name}-{pid}-deploy",
    }


def deploy_denied(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, resource, context) every deploy role must be denied."""
    package = w.package_arn(TEAM)
    return [
        ("sagemaker:UpdateModelPackage", package, APPROVED),
        ("sagemaker:UpdateModelPackage", package, RECORD),
        ("sagemaker:CreateModelPackage", package, APPROVED),
        ("sagemaker:PutModelPackageGroupPolicy", w.group_arn(TEAM), {}),
        ("s3:PutObject", _checks(w, TEAM), {}),
        ("s3:PutObject", f"arn:aws:s3:::{w.governance_bucket()}/policies/default.yaml", {}),
        ("s3:PutObject", f"arn:aws:s3:::{BUNDLE_BUCKET}/{CODE_KEY}", {}),
        ("s3:GetObject", _checks(w, TEAM_B), {}),
        ("sagemaker:DescribeModelPackage", w.package_arn(TEAM_B), {}),
        # Tags on the package: never a clearance:* key (alone or next to an endpoint key), never
        # without keys, and never the status.
        ("sagemaker:AddTags", package, {"aws:TagKeys": ["clearance:decision"]}),
        (
            "sagemaker:AddTags",
            package,
            {"aws:TagKeys": ["clearance-endpoint:staging-outcome", "clearance:decision"]},
        ),
        ("sagemaker:AddTags", package, {}),
        ("sagemaker:AddTags", w.package_arn(TEAM_B), ENDPOINT_TAGS),
        # The boundary's key grants are for AWS resources only (not a grant to a principal).
        (
            "kms:CreateGrant",
            w.teams[TEAM].get_att("ArtifactKey", "Arn"),
            {"kms:GrantIsForAWSResource": "false"},
        ),
    ]


def deploy_flow(w: World, deploy: Rendered) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(principal, action, resource, context) the deploy pipeline needs."""
    n = _names()
    package, group = w.package_arn(TEAM), w.group_arn(TEAM)
    code = f"arn:aws:s3:::{BUNDLE_BUCKET}/{CODE_KEY}"
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    # SageMaker creates the endpoint's grants on the caller's behalf (grant for an AWS resource).
    grant = {
        "kms:GrantIsForAWSResource": "true",
        "kms:ViaService": f"sagemaker.{REGION}.amazonaws.com",
    }
    return [
        ("deploy-gate", "sagemaker:DescribeModelPackage", package, {}),
        # (sagemaker:ListModelPackages takes no resource: Resource "*" in GateRole, not simulated.)
        ("deploy-gate", "sagemaker:DescribeModelPackageGroup", group, {}),
        ("deploy-gate", "s3:GetObject", _checks(w, TEAM), {}),
        ("deploy-gate", "s3:GetObjectVersion", _checks(w, TEAM), {}),
        ("deploy-gate", "s3:GetObject", code, {}),
        ("deploy-test", "s3:GetObject", code, {}),
        ("deploy-gate", "sagemaker:ListTags", package, {}),
        ("deploy-test", "sagemaker:InvokeEndpoint", n["staging"], {}),
        ("deploy-test", "sagemaker:DescribeEndpoint", n["staging"], {}),
        ("deploy-test", "sagemaker:DescribeModelPackage", package, {}),
        ("deploy-test", "sagemaker:CreateMonitoringSchedule", n["schedule"], {}),
        ("deploy-test", "iam:PassRole", deploy.role_arn("MonitoringRole"), passed),
        ("deploy-test", "sagemaker:AddTags", package, ENDPOINT_TAGS),
        ("deploy-test", "sagemaker:ListTags", package, {}),
        ("deploy-stack", "sagemaker:CreateModel", n["model"], {}),
        ("deploy-stack", "sagemaker:CreateEndpointConfig", n["config"], {}),
        ("deploy-stack", "sagemaker:UpdateEndpoint", n["staging"], {}),
        ("deploy-stack", "iam:PassRole", deploy.role_arn("ModelExecutionRole"), passed),
        ("deploy-stack", "kms:CreateGrant", w.teams[TEAM].get_att("ArtifactKey", "Arn"), grant),
        (
            "deploy-stack",
            "application-autoscaling:RegisterScalableTarget",
            f"arn:aws:application-autoscaling:{REGION}:{TEAM}:scalable-target/0123abcd",
            {},
        ),
        (
            "deploy-stack",
            "cloudwatch:PutMetricAlarm",
            f"arn:aws:cloudwatch:{REGION}:{TEAM}:alarm:TargetTracking-endpoint/"
            f"{PROJECT[0]}-{PROJECT[1]}-prod-AlarmHigh-1",
            {},
        ),
        (
            "deploy-pipeline",
            "iam:PassRole",
            deploy.role_arn("StackRole"),
            {"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
        ("deploy-pipeline", "cloudformation:CreateStack", n["stack"], {}),
        ("deploy-trigger", "codepipeline:StartPipelineExecution", n["pipeline"], {}),
        # The endpoint serves the verified governance copy; the gate checks its sha256.
        ("deploy-model", "s3:GetObject", model_copy(w), {}),
        ("deploy-model", "s3:GetObjectVersion", model_copy(w), {}),
        ("deploy-model", "kms:Decrypt", w.governance.get_att("GovernanceKey", "Arn"), via_s3),
        ("deploy-gate", "s3:GetObject", model_copy(w), {}),
        ("deploy-gate", "s3:GetObjectVersion", model_copy(w), {}),
        # endpoint.monitoring finds the approved baseline copy (list, read both files); the
        # schedule's jobs read it as the monitoring role.
        *[
            (role, "s3:ListBucket", *baseline_listing(w, name))
            for role in ("deploy-test", "deploy-monitor")
            for name in ("statistics.json", "constraints.json")
        ],
        *[
            (role, "s3:GetObject", baseline_copy(w, name), {})
            for role in ("deploy-test", "deploy-monitor")
            for name in ("statistics.json", "constraints.json")
        ],
        ("deploy-test", "kms:Decrypt", w.governance.get_att("GovernanceKey", "Arn"), via_s3),
        ("deploy-monitor", "kms:Decrypt", w.governance.get_att("GovernanceKey", "Arn"), via_s3),
    ]


# Flow calls the governance-side policies (trust-infra's files) deny today, with the fix. Closed:
# the team deploy roles' read of the approval code bundle (tools/publish.py's bundle bucket
# policy, SSE-S3; tests/authz/authz_harness.py renders it).
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


# Principals with every right in their own account (identity policy "*") and a deploy gate's role
# name: what they may do in the bundle bucket is what its policy grants, nothing more.
GATE_NAMED = {
    "gate-named-admin": TEAM,  # in the organization
    "outside-gate-named-admin": OUTSIDE,  # not in it
}


def _add_gate_named(w: World) -> None:
    for name, account in GATE_NAMED.items():
        arn = f"arn:aws:iam::{account}:role/sagemaker-{PROJECT[0]}-p-other-gate"
        w.principals.setdefault(name, Principal(arn, account, ({"name": "All", "policy": ALL},)))


def bundle_cases(w: World) -> tuple[list[Call], list[Call]]:
    """(denied, allowed) in the bundle bucket: its policy (tools/publish.py) lets deploy roles of
    the organization GetObject the approval clearance.zip keys and nothing else."""
    _add_gate_named(w)
    bucket = f"arn:aws:s3:::{BUNDLE_BUCKET}"
    code = f"{bucket}/{CODE_KEY}"
    others = [
        f"{bucket}/clearance/0.1.0/lambda/clearance-lambda-0123456789abcdef.zip",
        f"{bucket}/clearance/0.1.0/seed/seed-code-0123456789abcdef.zip",
        f"{bucket}/clearance/0.1.0/policies/default.yaml",
        f"{bucket}/clearance/0.1.0/templates/governance-product-0123456789ab.json",
    ]
    denied = [Call("gate-named-admin", "s3:GetObject", key) for key in others]
    denied += [
        Call("gate-named-admin", "s3:PutObject", code),
        Call("gate-named-admin", "s3:DeleteObject", code),
        Call("gate-named-admin", "s3:GetObject", f"{bucket}/clearance/0.1.0/approval/x.zip"),
        Call("gate-named-admin", "s3:ListBucket", bucket),
        Call("deploy-gate", "s3:PutObject", code),
        Call("deploy-stack", "s3:GetObject", code),
        Call("team-developer", "s3:GetObject", code),
        Call("outside-gate-named-admin", "s3:GetObject", code),
    ]
    allowed = [Call("gate-named-admin", "s3:GetObject", code)]
    return denied, allowed


def gap_key(principal: str, action: str, resource: str, w: World) -> tuple[str, str, str]:
    kinds = {
        w.teams[TEAM].get_att("ArtifactKey", "Arn"): "key",
        _checks(w, TEAM): "checks",
        f"arn:aws:s3:::{BUNDLE_BUCKET}/{CODE_KEY}": "code",
        w.package_arn(TEAM): "package",
        _names()["schedule"]: "schedule",
        _names()["stack"]: "stack",
    }
    if ":scalable-target/" in resource:
        return principal, action, "scaling"
    if ":alarm:" in resource:
        return principal, action, "alarm"
    return principal, action, kinds.get(resource, resource)


def deploy_calls(w: World) -> tuple[list[Call], list[Call]]:
    """(denied calls, flow calls) for decide()."""
    deploy = add_deploy_principals(w)
    denied = [
        Call(principal, action, resource, context)
        for principal in DEPLOY_ROLES
        for action, resource, context in deploy_denied(w)
    ]
    bundle_denied, bundle_allowed = bundle_cases(w)
    flow = [Call(p, a, r, c) for p, a, r, c in deploy_flow(w, deploy)]
    denied += bundle_denied + model_role_denied(w) + baseline_denied(w)
    return denied, flow + bundle_allowed
