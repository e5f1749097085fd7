"""The authorization matrix and the flow's calls, as data (shared by the tests and the demo).

MATRIX_PRINCIPALS x DANGEROUS_ACTIONS: every call of every cell must be denied, except the cells in
BY_DESIGN (the approval role deciding is the flow). FLOW: every call the two-account flow needs,
including the ones SageMaker makes with a role on its behalf (jobs, Clarify's shadow endpoints).
"""

from __future__ import annotations

from collections.abc import Callable

from authz_harness import (
    BUNDLE_BUCKET,
    GOVERNANCE,
    PREFIX,
    PROJECT,
    REGION,
    TEAM,
    TEAM_B,
    Call,
    World,
)

MATRIX_PRINCIPALS = (
    "team-developer",
    "team-admin",
    "team-pipeline",
    "other-team-pipeline",
    "governance-admin",
    "approval-role",
    "outside-admin",
)
TEAM_PRINCIPALS = {"team-developer", "team-admin", "team-pipeline", "outside-admin"}
PENDING = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
APPROVED = {"sagemaker:ModelApprovalStatus": "Approved"}
DECISION_METADATA = {"sagemaker:CustomerMetadataProperties/clearance:decision": "Approved"}

Target = tuple[str, str, dict[str, str]]


def _sm(account: str, resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:{resource}"


def _report(bucket: str) -> str:
    return f"{bucket}/credit-risk-p-abcdefghijkl/exec-1/ModelBias/analysis.json"


def _gov_object(w: World, key: str) -> str:
    return f"arn:aws:s3:::{w.governance_bucket()}/{key}"


def _copied(w: World, account: str) -> str:
    return _gov_object(w, f"artifacts/{_report(w.team_bucket(account))}")


def _checks(w: World) -> str:
    return _gov_object(w, f"{PREFIX}-approval/exec-1/checks.json")


def register_as_approved(w: World, principal: str) -> list[Target]:
    own = "111111111111" if principal in TEAM_PRINCIPALS else GOVERNANCE
    return [
        ("sagemaker:CreateModelPackage", w.package_arn(TEAM), APPROVED),
        ("sagemaker:CreateModelPackage", w.package_arn(TEAM_B), APPROVED),
        # Straight to Approved in a registry of one's own account: the original bypass.
        ("sagemaker:CreateModelPackage", _sm(own, "model-package/shadow-group/1"), APPROVED),
    ]


def change_status(w: World, principal: str) -> list[Target]:
    own = "111111111111" if principal in TEAM_PRINCIPALS else GOVERNANCE
    return [
        ("sagemaker:UpdateModelPackage", w.package_arn(TEAM), APPROVED),
        ("sagemaker:UpdateModelPackage", _sm(own, "model-package/shadow-group/1"), APPROVED),
    ]


def edit_clearance_metadata(w: World, principal: str) -> list[Target]:
    return [
        ("sagemaker:UpdateModelPackage", w.package_arn(TEAM), DECISION_METADATA),
        (
            "sagemaker:UpdateModelPackage",
            w.package_arn(TEAM),
            {"sagemaker:CustomerMetadataPropertiesToRemove": "clearance:decision"},
        ),
        # Registering with a forged decision attached.
        ("sagemaker:CreateModelPackage", w.package_arn(TEAM), {**PENDING, **DECISION_METADATA}),
    ]


def replace_group_policy(w: World, principal: str) -> list[Target]:
    return [
        ("sagemaker:PutModelPackageGroupPolicy", w.group_arn(TEAM), {}),
        ("sagemaker:DeleteModelPackageGroupPolicy", w.group_arn(TEAM), {}),
        ("sagemaker:DeleteModelPackageGroup", w.group_arn(TEAM), {}),
    ]


def overwrite_report_after_decision(w: World, principal: str) -> list[Target]:
    return [
        ("s3:PutObject", _copied(w, TEAM), {}),
        ("s3:DeleteObjectVersion", _copied(w, TEAM), {}),
        ("s3:BypassGovernanceRetention", _copied(w, TEAM), {}),
        ("s3:DeleteObjectVersion", _checks(w), {}),
        ("s3:PutObjectRetention", _checks(w), {}),
    ]


def overwrite_policy_after_decision(w: World, principal: str) -> list[Target]:
    return [
        ("s3:PutObject", _gov_object(w, "policies/default.yaml"), {}),
        ("s3:DeleteObjectVersion", _gov_object(w, "policies/default.yaml"), {}),
        # The approval code the pipeline downloads on every execution.
        (
            "s3:PutObject",
            f"arn:aws:s3:::{BUNDLE_BUCKET}/clearance/0.1.0/approval/x/clearance.zip",
            {},
        ),
    ]


def start_approval_with_chosen_policy(w: World, principal: str) -> list[Target]:
    return [
        ("sagemaker:StartPipelineExecution", _sm(GOVERNANCE, f"pipeline/{PREFIX}-approval"), {})
    ]


def read_another_teams_reports(w: World, principal: str) -> list[Target]:
    victim = TEAM if principal == "other-team-pipeline" else TEAM_B
    return [
        ("s3:GetObject", f"arn:aws:s3:::{_report(w.team_bucket(victim))}", {}),
        ("s3:GetObject", _copied(w, victim), {}),
    ]


DANGEROUS_ACTIONS: dict[str, Callable[[World, str], list[Target]]] = {
    "register as Approved": register_as_approved,
    "change status": change_status,
    "edit clearance:* metadata": edit_clearance_metadata,
    "replace a group policy": replace_group_policy,
    "overwrite a report after a decision": overwrite_report_after_decision,
    "overwrite the policy or approval code": overwrite_policy_after_decision,
    "start the approval with a chosen policy": start_approval_with_chosen_policy,
    "read another team's reports": read_another_teams_reports,
}
# Cells that are the flow itself: the approval role deciding a package of the central registry is
# allowed (expected_allowed says which calls); its other calls in these cells stay denied.
BY_DESIGN = {
    ("approval-role", "change status"),
    ("approval-role", "edit clearance:* metadata"),
}
# Governance principals read team evidence by design: the cell does not apply to them.
NOT_APPLICABLE = {
    ("governance-admin", "read another team's reports"),
    ("approval-role", "read another team's reports"),
}


def matrix_calls(w: World) -> list[tuple[str, str, Call]]:
    """(principal, action name, call) for every cell of the matrix."""
    calls = []
    for principal in MATRIX_PRINCIPALS:
        for name, targets in DANGEROUS_ACTIONS.items():
            if (principal, name) in NOT_APPLICABLE:
                continue
            for action, resource, context in targets(w, principal):
                calls.append((principal, name, Call(principal, action, resource, context)))
    return calls


def expected_allowed(principal: str, name: str, call: Call) -> bool:
    """The approval role decides packages of the central registry; everything else is denied."""
    if (principal, name) not in BY_DESIGN:
        return False
    central = call.resource.startswith(_sm(GOVERNANCE, "model-package/111111111111-"))
    return call.action == "sagemaker:UpdateModelPackage" and central


def flow_calls(w: World) -> list[tuple[str, Call]]:
    """Every call the two-account flow makes, with who makes it and why."""
    name, project_id = PROJECT
    own_role = w.principal("team-pipeline").arn
    team_key = w.teams[TEAM].get_att("ArtifactKey", "Arn")
    gov_key = w.governance.get_att("GovernanceKey", "Arn")
    team_report = f"arn:aws:s3:::{_report(w.team_bucket(TEAM))}"
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    job = "pipelines-0abc123-preprocess-1a2b3c"
    clarify_endpoint = "sm-clarify-pipelines-0abc123-createmodel-1700000000-1a2b"
    pipeline_name = f"{name}-{project_id}"
    return [
        # The team's SageMaker Pipeline (execution role), and what SageMaker does with it.
        (
            "run a processing job",
            Call(
                "team-pipeline", "sagemaker:CreateProcessingJob", _sm(TEAM, f"processing-job/{job}")
            ),
        ),
        (
            "run a training job",
            Call("team-pipeline", "sagemaker:CreateTrainingJob", _sm(TEAM, f"training-job/{job}")),
        ),
        (
            "create the model Clarify serves",
            Call("team-pipeline", "sagemaker:CreateModel", _sm(TEAM, f"model/{job}")),
        ),
        (
            "pass its role to jobs",
            Call(
                "team-pipeline",
                "iam:PassRole",
                own_role,
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ),
        (
            "Clarify: describe the model",
            Call("team-pipeline", "sagemaker:DescribeModel", _sm(TEAM, f"model/{job}")),
        ),
        (
            "Clarify: shadow endpoint config",
            Call(
                "team-pipeline",
                "sagemaker:CreateEndpointConfig",
                _sm(TEAM, f"endpoint-config/{clarify_endpoint}"),
            ),
        ),
        (
            "Clarify: shadow endpoint",
            Call(
                "team-pipeline",
                "sagemaker:CreateEndpoint",
                _sm(TEAM, f"endpoint/{clarify_endpoint}"),
            ),
        ),
        (
            "Clarify: wait for the endpoint",
            Call(
                "team-pipeline",
                "sagemaker:DescribeEndpoint",
                _sm(TEAM, f"endpoint/{clarify_endpoint}"),
            ),
        ),
        (
            "Clarify: score the test split",
            Call(
                "team-pipeline",
                "sagemaker:InvokeEndpoint",
                _sm(TEAM, f"endpoint/{clarify_endpoint}"),
            ),
        ),
        (
            "Clarify: delete the endpoint",
            Call(
                "team-pipeline",
                "sagemaker:DeleteEndpoint",
                _sm(TEAM, f"endpoint/{clarify_endpoint}"),
            ),
        ),
        (
            "Clarify: delete the config",
            Call(
                "team-pipeline",
                "sagemaker:DeleteEndpointConfig",
                _sm(TEAM, f"endpoint-config/{clarify_endpoint}"),
            ),
        ),
        ("write reports", Call("team-pipeline", "s3:PutObject", team_report)),
        ("read inputs", Call("team-pipeline", "s3:GetObject", team_report)),
        ("encrypt reports", Call("team-pipeline", "kms:GenerateDataKey", team_key)),
        (
            "job logs",
            Call(
                "team-pipeline",
                "logs:PutLogEvents",
                f"arn:aws:logs:{REGION}:{TEAM}:log-group:/aws/sagemaker/ProcessingJobs:log-stream:x",
            ),
        ),
        (
            "pull the XGBoost image",
            Call(
                "team-pipeline",
                "ecr:BatchGetImage",
                f"arn:aws:ecr:{REGION}:683313688378:repository/sagemaker-xgboost",
            ),
        ),
        (
            "register PendingManualApproval in the central registry",
            Call("team-pipeline", "sagemaker:CreateModelPackage", w.package_arn(TEAM), PENDING),
        ),
        (
            "read its own group",
            Call("team-pipeline", "sagemaker:DescribeModelPackageGroup", w.group_arn(TEAM)),
        ),
        (
            "list its own packages",
            Call("team-pipeline", "sagemaker:DescribeModelPackage", w.package_arn(TEAM)),
        ),
        # CodeBuild upserts and starts the team pipeline.
        (
            "upsert the team pipeline",
            Call("team-build", "sagemaker:UpdatePipeline", _sm(TEAM, f"pipeline/{pipeline_name}")),
        ),
        (
            "start the team pipeline",
            Call(
                "team-build",
                "sagemaker:StartPipelineExecution",
                _sm(TEAM, f"pipeline/{pipeline_name}"),
            ),
        ),
        (
            "pass the execution role",
            Call(
                "team-build",
                "iam:PassRole",
                own_role,
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ),
        # Launch: the dedicated launch role creates bounded roles and the central group.
        (
            "launch: create a bounded role",
            Call(
                "team-launch-role",
                "iam:CreateRole",
                f"arn:aws:iam::{TEAM}:role/sagemaker-{name}-{project_id}-smexec",
                {
                    "iam:PermissionsBoundary": w.portfolio.get_att(
                        "ProjectRoleBoundary", "PolicyArn"
                    )
                },
            ),
        ),
        (
            "launch: give the bounded role its policy",
            Call(
                "team-launch-role",
                "iam:PutRolePolicy",
                f"arn:aws:iam::{TEAM}:role/sagemaker-{name}-{project_id}-smexec",
                {
                    "iam:PermissionsBoundary": w.portfolio.get_att(
                        "ProjectRoleBoundary", "PolicyArn"
                    )
                },
            ),
        ),
        (
            "launch: call the registry-groups Lambda",
            Call(
                "team-launch-role",
                "lambda:InvokeFunction",
                w.governance.get_att("RegistryGroupsFunction", "Arn"),
            ),
        ),
        (
            "registry: create the group",
            Call("registry-groups-role", "sagemaker:CreateModelPackageGroup", w.group_arn(TEAM)),
        ),
        (
            "registry: set the group policy",
            Call("registry-groups-role", "sagemaker:PutModelPackageGroupPolicy", w.group_arn(TEAM)),
        ),
        # Events: the team forwards the registration event (fallback route).
        (
            "forward the registration event",
            Call(
                "team-forwarder",
                "events:PutEvents",
                f"arn:aws:events:{REGION}:{GOVERNANCE}:event-bus/default",
                {
                    "events:source": "aws.sagemaker",
                    "events:detail-type": "SageMaker Model Package State Change",
                },
            ),
        ),
        (
            "start an approval",
            Call(
                "start-approval-role",
                "sagemaker:StartPipelineExecution",
                _sm(GOVERNANCE, f"pipeline/{PREFIX}-approval"),
            ),
        ),
        # Copy path: team report -> governance bucket (write-once versions).
        ("copy: read the team report", Call("copy-role", "s3:GetObject", team_report)),
        (
            "copy: server-side copy reads the source version",
            Call("copy-role", "s3:GetObjectVersion", team_report),
        ),
        (
            "copy: server-side copy reads the source tags",
            Call("copy-role", "s3:GetObjectVersionTagging", team_report),
        ),
        ("copy: decrypt the team report", Call("copy-role", "kms:Decrypt", team_key, via_s3)),
        ("copy: write the governance copy", Call("copy-role", "s3:PutObject", _copied(w, TEAM))),
        ("copy: encrypt the governance copy", Call("copy-role", "kms:GenerateDataKey", gov_key)),
        # The approval pipeline (its role runs the Evaluate and Update processing jobs).
        (
            "approval: run its jobs",
            Call(
                "approval-role",
                "sagemaker:CreateProcessingJob",
                _sm(GOVERNANCE, f"processing-job/{job}"),
            ),
        ),
        (
            "approval: pass its role",
            Call(
                "approval-role",
                "iam:PassRole",
                w.principal("approval-role").arn,
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ),
        (
            "approval: read the package",
            Call("approval-role", "sagemaker:DescribeModelPackage", w.package_arn(TEAM)),
        ),
        ("approval: read the team report", Call("approval-role", "s3:GetObject", team_report)),
        (
            "approval: decrypt the team report",
            Call("approval-role", "kms:Decrypt", team_key, via_s3),
        ),
        (
            "approval: read the governance copy",
            Call("approval-role", "s3:GetObjectVersion", _copied(w, TEAM)),
        ),
        (
            "approval: read the policy",
            Call("approval-role", "s3:GetObjectVersion", _gov_object(w, "policies/default.yaml")),
        ),
        (
            "approval: read its code",
            Call(
                "approval-role",
                "s3:GetObject",
                f"arn:aws:s3:::{BUNDLE_BUCKET}/clearance/0.1.0/approval/0123456789abcdef/clearance.zip",
            ),
        ),
        ("approval: write checks.json", Call("approval-role", "s3:PutObject", _checks(w))),
        (
            "approval: create the model card",
            Call(
                "approval-role",
                "sagemaker:CreateModelCard",
                _sm(GOVERNANCE, "model-card/clearance-111111111111-credit-risk-p-abcdefghijkl-1"),
            ),
        ),
        (
            "approval: tag the model card",
            Call(
                "approval-role",
                "sagemaker:AddTags",
                _sm(GOVERNANCE, "model-card/clearance-111111111111-credit-risk-p-abcdefghijkl-1"),
            ),
        ),
        (
            "approval: update the model card",
            Call(
                "approval-role",
                "sagemaker:UpdateModelCard",
                _sm(GOVERNANCE, "model-card/clearance-111111111111-credit-risk-p-abcdefghijkl-1"),
            ),
        ),
        (
            "approval: decide (status + clearance metadata)",
            Call(
                "approval-role",
                "sagemaker:UpdateModelPackage",
                w.package_arn(TEAM),
                {**APPROVED, **DECISION_METADATA},
            ),
        ),
        # People.
        (
            "policy owner: assume the registry-admin role",
            Call("policy-owner", "sts:AssumeRole", w.principal("registry-admin").arn),
        ),
        (
            "policy owner: seed or publish a policy version (publish.py)",
            Call("policy-owner", "s3:PutObject", _gov_object(w, "policies/default.yaml")),
        ),
        (
            "policy owner: upload the bundle (publish.py)",
            Call("policy-owner", "s3:PutObject", f"arn:aws:s3:::{BUNDLE_BUCKET}/clearance/x.zip"),
        ),
        (
            "registry admin: publish a policy version",
            Call("registry-admin", "s3:PutObject", _gov_object(w, "policies/default.yaml")),
        ),
        (
            "team: read its own governance copies",
            Call("team-developer", "s3:GetObject", _copied(w, TEAM)),
        ),
        (
            "team: decrypt its own governance copies",
            Call("team-developer", "kms:Decrypt", gov_key, via_s3),
        ),
    ]


def launch_escapes(w: World) -> list[tuple[str, Call]]:
    """Calls around the edges that must be denied (boundary, bus and Lambda policies, SCPs)."""
    name, project_id = PROJECT
    role = f"arn:aws:iam::{TEAM}:role/sagemaker-{name}-{project_id}-smexec"
    bus = f"arn:aws:events:{REGION}:{GOVERNANCE}:event-bus/default"
    registry = w.governance.get_att("RegistryGroupsFunction", "Arn")
    return [
        ("create a role without the boundary", Call("team-launch-role", "iam:CreateRole", role)),
        (
            "create a role with another boundary",
            Call(
                "team-launch-role",
                "iam:CreateRole",
                role,
                {"iam:PermissionsBoundary": f"arn:aws:iam::{TEAM}:policy/AdministratorAccess"},
            ),
        ),
        (
            "remove a project role's boundary",
            Call("team-launch-role", "iam:DeleteRolePermissionsBoundary", role),
        ),
        (
            "forward a forged custom event",
            Call(
                "team-forwarder",
                "events:PutEvents",
                bus,
                {
                    "events:source": "my.app",
                    "events:detail-type": "SageMaker Model Package State Change",
                },
            ),
        ),
        (
            "a team admin puts events on the governance bus",
            Call(
                "team-admin",
                "events:PutEvents",
                bus,
                {
                    "events:source": "aws.sagemaker",
                    "events:detail-type": "SageMaker Model Package State Change",
                },
            ),
        ),
        (
            "an outside account puts events",
            Call(
                "outside-admin",
                "events:PutEvents",
                bus,
                {
                    "events:source": "aws.sagemaker",
                    "events:detail-type": "SageMaker Model Package State Change",
                },
            ),
        ),
        (
            "a team developer invokes the registry Lambda",
            Call("team-developer", "lambda:InvokeFunction", registry),
        ),
        (
            "an outside account invokes the registry Lambda",
            Call("outside-admin", "lambda:InvokeFunction", registry),
        ),
        (
            "the team pipeline registers into another team's group",
            Call("team-pipeline", "sagemaker:CreateModelPackage", w.package_arn(TEAM_B), PENDING),
        ),
        (
            "the team pipeline writes another team's bucket",
            Call("team-pipeline", "s3:PutObject", f"arn:aws:s3:::{_report(w.team_bucket(TEAM_B))}"),
        ),
        (
            "a governance admin writes a copied report",
            Call("governance-admin", "s3:PutObject", _copied(w, TEAM)),
        ),
        (
            "a governance admin assumes the approval role's trust",
            Call(
                "governance-admin", "iam:UpdateAssumeRolePolicy", w.principal("approval-role").arn
            ),
        ),
        (
            "a governance admin edits the approval pipeline",
            Call(
                "governance-admin",
                "sagemaker:UpdatePipeline",
                _sm(GOVERNANCE, f"pipeline/{PREFIX}-approval"),
            ),
        ),
        (
            "a governance admin assumes the registry-admin role",
            Call("governance-admin", "sts:AssumeRole", w.principal("registry-admin").arn),
        ),
        (
            "a governance admin assumes the approval role",
            Call("governance-admin", "sts:AssumeRole", w.principal("approval-role").arn),
        ),
        (
            "a team admin assumes the copy role",
            Call("team-admin", "sts:AssumeRole", w.principal("copy-role").arn),
        ),
        (
            "a governance admin swaps the approval code",
            Call(
                "governance-admin",
                "lambda:UpdateFunctionCode",
                w.governance.get_att("StartApprovalFunction", "Arn"),
            ),
        ),
    ]


def matrix_summary() -> list[dict[str, object]]:
    """One row per matrix cell: calls, allowed, denied, and whether that is what the design says.

    For the demo's "attempts to self-approve, rewire or overwrite are denied" table:
    ``python tests/authz/authz_report.py`` prints it.
    """
    from authz_harness import decide, world

    w = world()
    cells = matrix_calls(w)
    decisions = decide([call for _, _, call in cells])
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for (principal, name, call), decision in zip(cells, decisions, strict=True):
        row = rows.setdefault(
            (principal, name),
            {
                "principal": principal,
                "action": name,
                "calls": 0,
                "allowed": 0,
                "denied": 0,
                "as_designed": True,
            },
        )
        row["calls"] = int(row["calls"]) + 1  # type: ignore[call-overload]
        key = "allowed" if decision.allowed else "denied"
        row[key] = int(row[key]) + 1  # type: ignore[call-overload]
        if decision.allowed != expected_allowed(principal, name, call):
            row["as_designed"] = False
    return list(rows.values())
