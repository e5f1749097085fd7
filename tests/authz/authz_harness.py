"""The authorization world: Clearance's templates rendered into three accounts, asked of a real IAM
policy simulator (@cloud-copilot/iam-simulate via tools/authz/simulate.mjs; AGPL, test-only).

Accounts: team 111111111111, another team 444444444444 (both in organization o-exampleorg),
governance 222222222222, outside 333333333333 (not in the organization).

Public API (for the permission-coverage suite and the demo's recorded calls):

    decide(calls: list[Call]) -> list[Decision]

where ``Call(principal, action, resource, context={})`` names a principal of PRINCIPALS (or an ARN
of one), an IAM action, one resource ARN and any request context keys (the global ones are filled
in). Every applicable policy is attached automatically: the principal's identity policies and
permissions boundary, its account's SCPs, the resource's resource policy and its account's RCPs.
A Node or npm problem raises SimulatorUnavailable: the suites fail, they never skip.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfn_render import REPO_ROOT, Rendered, load

TEAM = "111111111111"
TEAM_B = "444444444444"
GOVERNANCE = "222222222222"
OUTSIDE = "333333333333"
ORG = "o-exampleorg"
ORG_ACCOUNTS = {TEAM, TEAM_B, GOVERNANCE}
REGION = "us-east-1"
PREFIX = "clearance"
PROJECT = ("credit-risk", "p-abcdefghijkl")
PROJECT_B = ("fraud", "p-bbbbbbbbbbbb")
ADMIN_ROLE = f"arn:aws:iam::{GOVERNANCE}:role/governance-admin"
# The people allowed to assume the registry-admin role (RegistryAdminPrincipalArns): not the
# governance admins at large.
POLICY_OWNER = f"arn:aws:iam::{GOVERNANCE}:role/policy-owner"
BUNDLE_BUCKET = f"clearance-bundle-{GOVERNANCE}"
AWS_IMAGES = "683313688378"  # SageMaker's image account in us-east-1 (not in the org)
AUTHZ_DIR = REPO_ROOT / "tools" / "authz"
GUARDRAILS = REPO_ROOT / "servicecatalog" / "guardrails"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class SimulatorUnavailable(RuntimeError):
    """Node, npm ci or the simulator is missing: the authorization suites cannot run."""


@dataclass(frozen=True)
class Call:
    principal: str
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    call: Call
    decision: str  # Allowed | ExplicitlyDenied | ImplicitlyDenied
    ignored_context_keys: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "Allowed"


@dataclass(frozen=True)
class Principal:
    arn: str
    account: str
    identity: tuple[dict[str, Any], ...]
    boundary: tuple[dict[str, Any], ...] = ()

    @property
    def in_org(self) -> bool:
        return self.account != OUTSIDE


# ---------------------------------------------------------------------------------- the world
def render_guardrail(name: str) -> dict[str, Any]:
    """A shipped guardrail with the deployment's values, rendered by tools/package.py's function."""
    if str(REPO_ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "tools"))
    import package

    values = {
        "GovernanceAccountId": GOVERNANCE,
        "NamePrefix": PREFIX,
        "OrganizationId": ORG,
        "BundleBucket": BUNDLE_BUCKET,
        "RegistryAdminArns": package.registry_admin_arns(GOVERNANCE, PREFIX, [POLICY_OWNER]),
    }
    return package.render_guardrail((GUARDRAILS / name).read_text(encoding="utf-8"), values)


BUNDLE_PREFIX = "clearance/0.1.0"  # tools/package.py's default, clearance/<version>


def bundle_bucket_policy() -> dict[str, Any]:
    """The bundle bucket's policy as tools/publish.py sets it (not a CloudFormation resource)."""
    if str(REPO_ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "tools"))
    import publish

    resource = publish.approval_code_resource(BUNDLE_BUCKET, BUNDLE_PREFIX)
    return publish.bundle_bucket_policy(BUNDLE_BUCKET, [resource], ORG)


def registry_module(governance: Rendered) -> dict[str, Any]:
    """The registry-groups Lambda's inline code, executed with its deployed environment."""
    function = governance.resources["RegistryGroupsFunction"]["Properties"]
    code = function["Code"]["ZipFile"]
    env = governance.resolve(function["Environment"]["Variables"])
    env["AWS_REGION"] = REGION
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        namespace: dict[str, Any] = {"__name__": "registry_groups"}
        exec(compile(code, "registry_groups.py", "exec"), namespace)  # noqa: S102 - our template
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return namespace


@functools.cache
def world() -> World:
    return World()


class World:
    def __init__(self) -> None:
        self.governance = Rendered(
            load("governance-product"),
            {
                "TeamAccountIds": [TEAM, TEAM_B],
                "OrganizationId": ORG,
                "RegistryAdminPrincipalArns": [POLICY_OWNER],
                "BundleBucket": BUNDLE_BUCKET,
                "LambdaCodeKey": "clearance/0.1.0/lambda/clearance-lambda-0123456789abcdef.zip",
                "ApprovalCodePrefix": "clearance/0.1.0/approval/0123456789abcdef",
            },
            GOVERNANCE,
        )
        self.registry = registry_module(self.governance)
        self.teams = {TEAM: self._team(TEAM, *PROJECT), TEAM_B: self._team(TEAM_B, *PROJECT_B)}
        self.portfolio = Rendered(
            load("portfolio"),
            {
                "StudioExecutionRoleArns": [f"arn:aws:iam::{TEAM}:role/studio-data-scientist"],
                "TemplateBucket": BUNDLE_BUCKET,
            },
            TEAM,
        )
        self.scp_registry = render_guardrail("scp-registry.json")
        self.scp_governance = render_guardrail("scp-governance-account.json")
        self.rcp_evidence = render_guardrail("rcp-evidence.json")
        self.principals = self._principals()
        self.resource_policies = self._resource_policies()

    def _team(self, account: str, name: str, project_id: str) -> Rendered:
        template = load("model-build-product")
        template["Mappings"]["Governance"]["Wiring"] = {
            "AccountId": GOVERNANCE,
            "NamePrefix": PREFIX,
            "OrganizationId": ORG,
            "ReportSuffix": ".json",
        }
        group = self.registry["group_name"](account, name, project_id)
        arn = f"arn:aws:sagemaker:{REGION}:{GOVERNANCE}:model-package-group/{group.lower()}"
        return Rendered(
            template,
            {
                "SageMakerProjectName": name,
                "SageMakerProjectId": project_id,
                "FullRepositoryId": "acme/models",
                "SeedCodeBucket": BUNDLE_BUCKET,
                "SeedCodeKey": "clearance/seed.zip",
            },
            account,
            attributes={
                ("RegistryGroup", "ModelPackageGroupName"): group,
                ("RegistryGroup", "ModelPackageGroupArn"): arn,
            },
        )

    # ------------------------------------------------------------------------- principals
    def _principals(self) -> dict[str, Principal]:
        gov, team, team_b, portfolio = (
            self.governance,
            self.teams[TEAM],
            self.teams[TEAM_B],
            self.portfolio,
        )
        boundary = {
            "name": "clearance-project-boundary",
            "policy": portfolio.properties("ProjectRoleBoundary")["PolicyDocument"],
        }

        def rendered(template: Rendered, role: str, bounded: bool = False) -> Principal:
            return Principal(
                template.role_arn(role),
                template.account,
                tuple(template.role_policies(role)),
                (boundary,) if bounded else (),
            )

        def admin(arn: str, account: str) -> Principal:
            return Principal(arn, account, ({"name": "AdministratorAccess", "policy": ALLOW_ALL},))

        developer_policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:*",
                        "s3:*",
                        "kms:*",
                        "events:PutEvents",
                        "lambda:InvokeFunction",
                    ],
                    "Resource": "*",
                }
            ],
        }
        return {
            "team-developer": Principal(
                f"arn:aws:iam::{TEAM}:role/studio-data-scientist",
                TEAM,
                ({"name": "DataScientist", "policy": developer_policy},),
            ),
            "team-admin": admin(f"arn:aws:iam::{TEAM}:role/team-admin", TEAM),
            "team-pipeline": rendered(team, "SageMakerExecutionRole", bounded=True),
            "other-team-pipeline": rendered(team_b, "SageMakerExecutionRole", bounded=True),
            "governance-admin": admin(ADMIN_ROLE, GOVERNANCE),
            "approval-role": rendered(gov, "ApprovalPipelineRole"),
            "outside-admin": admin(f"arn:aws:iam::{OUTSIDE}:role/admin", OUTSIDE),
            # Flow-only principals (the permission-coverage table).
            "team-build": rendered(team, "BuildRole", bounded=True),
            "team-forwarder": rendered(team, "ForwardEventsRole", bounded=True),
            "team-launch-role": rendered(portfolio, "LaunchRole"),
            "registry-groups-role": rendered(gov, "RegistryGroupsRole"),
            "copy-role": rendered(gov, "CopyArtifactsRole"),
            "start-approval-role": rendered(gov, "StartApprovalRole"),
            "registry-admin": rendered(gov, "RegistryAdminRole"),
            # A registry admin: deploys the governance stack and publishes (admin rights), and is
            # listed in RegistryAdminPrincipalArns, unlike governance-admin.
            "policy-owner": admin(POLICY_OWNER, GOVERNANCE),
        }

    # ----------------------------------------------------------------- resource policies
    def group_arn(self, account: str = TEAM) -> str:
        return self.teams[account].attributes[("RegistryGroup", "ModelPackageGroupArn")]

    def package_arn(self, account: str = TEAM, version: int = 1) -> str:
        group = self.group_arn(account).rsplit("/", 1)[1]
        return f"arn:aws:sagemaker:{REGION}:{GOVERNANCE}:model-package/{group}/{version}"

    def governance_bucket(self) -> str:
        return self.governance.ref("GovernanceBucket")

    def team_bucket(self, account: str = TEAM) -> str:
        return self.teams[account].ref("ArtifactBucket")

    def _resource_policies(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(ARN prefix, owning account, policy); the longest matching prefix wins."""
        gov = self.governance
        out: list[tuple[str, str, dict[str, Any]]] = []
        for account, (name, project_id) in ((TEAM, PROJECT), (TEAM_B, PROJECT_B)):
            policy = self.registry["group_policy"](account, name, project_id)
            group = self.group_arn(account)
            out.append((group, GOVERNANCE, policy))
            out.append(
                (
                    group.replace(":model-package-group/", ":model-package/") + "/",
                    GOVERNANCE,
                    policy,
                )
            )
            team = self.teams[account]
            bucket = f"arn:aws:s3:::{team.ref('ArtifactBucket')}"
            bucket_policy = team.properties("ArtifactBucketPolicy")["PolicyDocument"]
            out.append((bucket, account, bucket_policy))
            out.append(
                (
                    team.get_att("ArtifactKey", "Arn"),
                    account,
                    team.properties("ArtifactKey")["KeyPolicy"],
                )
            )
        gov_bucket = f"arn:aws:s3:::{self.governance_bucket()}"
        out.append(
            (gov_bucket, GOVERNANCE, gov.properties("GovernanceBucketPolicy")["PolicyDocument"])
        )
        out.append(
            (
                gov.get_att("GovernanceKey", "Arn"),
                GOVERNANCE,
                gov.properties("GovernanceKey")["KeyPolicy"],
            )
        )
        bus = gov.properties("TeamEventsBusPolicy")
        out.append(
            (
                bus["Statement"]["Resource"],
                GOVERNANCE,
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": bus["StatementId"], **bus["Statement"]}],
                },
            )
        )
        function = gov.get_att("RegistryGroupsFunction", "Arn")
        statements = [
            {
                "Sid": f"from-{account}",
                "Effect": "Allow",
                "Principal": {
                    "AWS": f"arn:aws:iam::{account}:role/clearance/clearance-project-launch-role"
                },
                "Action": "lambda:InvokeFunction",
                "Resource": function,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
            for account in (TEAM, TEAM_B)
        ]
        permission = gov.resources["Fn::ForEach::TeamAccountRegistryPermissions"][2]
        (body,) = permission.values()
        assert body["Properties"]["PrincipalOrgID"] == {"Ref": "OrganizationId"}
        out.append((function, GOVERNANCE, {"Version": "2012-10-17", "Statement": statements}))
        out.append((f"arn:aws:s3:::{BUNDLE_BUCKET}", GOVERNANCE, bundle_bucket_policy()))
        # Role trust policies (sts:AssumeRole is decided by the role's trust policy).
        for name in ("RegistryAdminRole", "ApprovalPipelineRole", "CopyArtifactsRole"):
            props = gov.resources[name]["Properties"]
            out.append(
                (gov.role_arn(name), GOVERNANCE, gov.resolve(props["AssumeRolePolicyDocument"]))
            )
        # SageMaker's algorithm images live in AWS-owned accounts whose repositories allow pulls.
        out.append(
            (
                f"arn:aws:ecr:{REGION}:{AWS_IMAGES}:repository",
                AWS_IMAGES,
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            "Resource": f"arn:aws:ecr:{REGION}:{AWS_IMAGES}:repository/*",
                        }
                    ],
                },
            )
        )
        return out

    def resource(self, arn: str) -> tuple[str, dict[str, Any] | None]:
        """The owning account and resource policy of an ARN (longest matching prefix)."""
        for prefix, account, policy in sorted(self.resource_policies, key=lambda i: -len(i[0])):
            inside = arn.startswith(prefix if prefix.endswith("/") else prefix + "/")
            if arn == prefix or inside:
                return account, policy or None
        parts = arn.split(":")
        if parts[2] == "s3":
            raise KeyError(f"unknown bucket in {arn}")
        return parts[4], None

    # --------------------------------------------------------------------------- requests
    def principal(self, name_or_arn: str) -> Principal:
        if name_or_arn in self.principals:
            return self.principals[name_or_arn]
        for principal in self.principals.values():
            if principal.arn == name_or_arn:
                return principal
        raise KeyError(f"unknown principal {name_or_arn}")

    def request(self, call: Call, index: int, guardrails: bool = True) -> dict[str, Any]:
        principal = self.principal(call.principal)
        account, policy = self.resource(call.resource)
        context: dict[str, Any] = {
            "aws:PrincipalArn": principal.arn,
            "aws:PrincipalAccount": principal.account,
            "aws:SecureTransport": "true",
            "aws:PrincipalIsAWSService": "false",
            "aws:ResourceAccount": account,
        }
        if principal.in_org:
            context["aws:PrincipalOrgID"] = ORG
        if call.action.startswith("s3:"):
            context["s3:ResourceAccount"] = account  # S3 sets it on every request
        context.update(call.context)
        for key in ("events:source", "events:detail-type"):
            if isinstance(context.get(key), str):
                context[key] = [context[key]]  # multivalued: one value per PutEvents entry
        scps = []
        if principal.in_org:
            full = {"name": "FullAWSAccess", "policy": ALLOW_ALL}
            account_level = [full]
            root_level = [full]
            if guardrails:
                root_level.append({"name": "scp-registry", "policy": self.scp_registry})
                if principal.account == GOVERNANCE:
                    account_level.append(
                        {"name": "scp-governance-account", "policy": self.scp_governance}
                    )
            scps = [
                {"orgIdentifier": "r-root", "policies": root_level},
                {"orgIdentifier": principal.account, "policies": account_level},
            ]
        rcps = []
        if guardrails and account in ORG_ACCOUNTS:
            rcps = [
                {
                    "orgIdentifier": "r-root",
                    "policies": [{"name": "rcp-evidence", "policy": self.rcp_evidence}],
                }
            ]
        return {
            "id": str(index),
            "principal": principal.arn,
            "action": call.action,
            "resource": call.resource,
            "resourceAccount": account,
            "context": context,
            "identityPolicies": list(principal.identity),
            "resourcePolicy": policy,
            "scps": scps,
            "rcps": rcps,
            "permissionBoundaries": list(principal.boundary),
        }


# ------------------------------------------------------------------------------ simulator
def ensure_simulator() -> Path:
    node = shutil.which("node")
    if node is None:
        raise SimulatorUnavailable(
            "node is not installed: install Node.js 20+ (make test needs it)"
        )
    module = AUTHZ_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
    if not module.is_file():
        raise SimulatorUnavailable(
            "tools/authz/node_modules is missing: run `npm ci --prefix tools/authz`"
            " (make test runs it)"
        )
    return Path(node)


def simulate(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = ensure_simulator()
    result = subprocess.run(
        [str(node), str(AUTHZ_DIR / "simulate.mjs")],
        input=json.dumps({"requests": requests}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise SimulatorUnavailable(f"simulate.mjs failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)["results"]


def decide(calls: list[Call], guardrails: bool = True) -> list[Decision]:
    """Each call's decision by the simulator; a request the simulator rejects raises ValueError.

    ``guardrails=False`` drops the shipped SCPs and RCP (FullAWSAccess stays), to show what they
    add over the templates' own policies.
    """
    w = world()
    requests = [w.request(call, i, guardrails) for i, call in enumerate(calls)]
    results = {r["id"]: r for r in simulate(requests)}
    decisions = []
    for i, call in enumerate(calls):
        result = results[str(i)]
        if result["decision"] == "Error":
            raise ValueError(f"simulator refused {call}: {result.get('error')}")
        decisions.append(
            Decision(call, result["decision"], tuple(result.get("ignoredContextKeys", [])))
        )
    return decisions
