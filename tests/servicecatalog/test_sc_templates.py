"""Security and reviewability rules for the Service Catalog templates (what checkov cannot see).

checkov has no checks for SageMaker pipelines, EventBridge or Service Catalog, and checks IAM only
loosely; these tests read the templates themselves (CloudFormation tags decoded by cfn-lint).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from sc_helpers import (
    PATTERN_FILE,
    REPO_ROOT,
    TEMPLATE_DIR,
    TEMPLATE_PATHS,
    branches,
    expand_resources,
    walk,
)

TEMPLATE_NAMES = [path.name for path in TEMPLATE_PATHS]

# Write actions that may use Resource "*", each because the API has no resource-level permission.
# Each use is also marked "ALLOW-LIST" in a comment right above its statement in the template.
STAR_RESOURCE_ALLOW_LIST = {
    "ecr:GetAuthorizationToken": "no resource-level permission; the API requires Resource '*'",
    "xray:PutTraceSegments": "no resource-level permission; the API requires Resource '*'",
    "xray:PutTelemetryRecords": "no resource-level permission; the API requires Resource '*'",
    "cloudwatch:PutMetricData": "no resource-level permission (narrowed by cloudwatch:namespace)",
    "cloudformation:ValidateTemplate": "no resource-level permission; the API requires '*'",
    "cloudformation:GetTemplateSummary": "of a template not yet a stack: no resource to name",
    "kms:CreateKey": "the key's ARN does not exist before it is created",
}
# Permissions boundaries grant nothing (they cap a role's own, resource-scoped policies): exempt
# from the service-wide and Resource "*" rules, and each must be used as a boundary somewhere.
BOUNDARY_POLICIES = {"ProjectRoleBoundary"}
# In a KMS key policy, Resource "*" means "this key": a key policy cannot name its key otherwise.
KEY_POLICY_TYPES = {"AWS::KMS::Key"}
READ_VERBS = ("Get", "List", "Describe", "BatchGet", "BatchCheck", "Head")

# Where each resource type keeps its policy documents.
POLICY_LOCATIONS: dict[str, list[tuple[str, ...]]] = {
    "AWS::IAM::Role": [("AssumeRolePolicyDocument",), ("Policies", "*", "PolicyDocument")],
    "AWS::IAM::Policy": [("PolicyDocument",)],
    "AWS::IAM::ManagedPolicy": [("PolicyDocument",)],
    "AWS::S3::BucketPolicy": [("PolicyDocument",)],
    "AWS::SQS::QueuePolicy": [("PolicyDocument",)],
    "AWS::SNS::TopicPolicy": [("PolicyDocument",)],
    "AWS::KMS::Key": [("KeyPolicy",)],
    "AWS::SageMaker::ModelPackageGroup": [("ModelPackageGroupPolicy",)],
}

# Name limits: (resource type, property) -> maximum length.
NAME_LIMITS = {
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::S3::Bucket", "BucketName"): 63,
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::SNS::Topic", "TopicName"): 256,
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"): 63,
    ("AWS::SageMaker::Pipeline", "PipelineName"): 256,
    ("AWS::CodeBuild::Project", "Name"): 255,
    ("AWS::CodePipeline::Pipeline", "Name"): 100,
    ("AWS::CodeCommit::Repository", "RepositoryName"): 100,
    ("AWS::CodeConnections::Connection", "ConnectionName"): 32,
    ("AWS::Events::Rule", "Name"): 64,
    ("AWS::KMS::Alias", "AliasName"): 256,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::CloudWatch::Alarm", "AlarmName"): 255,
}
# Longest values of the pseudo parameters that appear in names.
PSEUDO_MAX = {
    "AWS::AccountId": 12,
    "AWS::Region": 14,
    "AWS::Partition": 10,
    "AWS::URLSuffix": 16,
    # Fn::ForEach loop variables of the governance template (longest member of each collection).
    "Service": len("copy-artifacts"),
    "Metric": len("MalformedEvents"),
    "TeamAccountId": 12,
}

# The buildspec can rely on these without the project setting them.
CODEBUILD_BUILT_INS = {"AWS_DEFAULT_REGION", "HOME", "PATH", "PWD"}
BUILDSPEC = REPO_ROOT / "{{cookiecutter.project_slug}}" / "codebuild-buildspec.yml"


def _get_path(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return branches(node)
    head, rest = path[0], path[1:]
    found: list[Any] = []
    for value in branches(node):
        if head == "*" and isinstance(value, list):
            for item in value:
                found.extend(_get_path(item, rest))
        elif isinstance(value, dict) and head in value:
            found.extend(_get_path(value[head], rest))
    return found


def policy_statements(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource name, resource type, statement) for every policy statement in the template."""
    found = []
    for name, resource in expand_resources(template).items():
        rtype = resource["Type"]
        props = resource.get("Properties", {})
        docs = []
        for location in POLICY_LOCATIONS.get(rtype, []):
            docs.extend(_get_path(props, location))
        if rtype == "AWS::Events::EventBusPolicy":
            docs.append({"Statement": props["Statement"]})
        statements = [
            statement
            for doc in docs
            for item in _as_list(doc["Statement"])
            for statement in branches(item)
        ]
        found.extend((name, rtype, statement) for statement in statements)
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_template_is_checked() -> None:
    """The three products of issue 4 exist (an empty glob would pass every parametrised test)."""
    assert {"portfolio.yaml", "model-build-product.yaml", "governance-product.yaml"} <= set(
        TEMPLATE_NAMES
    )


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_statement_allows_every_action(templates: dict[str, Any], name: str) -> None:
    """No IAM statement grants Action "*"; "service:*" only in Deny or a key's admin statement."""
    statements = policy_statements(templates[name])
    if name != "portfolio.yaml":  # the portfolio defines no policies
        assert statements, f"{name}: no policy statements found (walker broken?)"
    for resource, rtype, statement in statements:
        assert "NotAction" not in statement, f"{name}:{resource}: NotAction is too broad"
        if resource in BOUNDARY_POLICIES:
            continue
        for action in _as_list(statement["Action"]):
            assert action != "*", f"{name}:{resource}: Action '*'"
            if statement["Effect"] == "Allow" and str(action).endswith(":*"):
                key_admin = rtype in KEY_POLICY_TYPES and statement.get("Sid") == (
                    "AccountAdministers"
                )
                assert key_admin, f"{name}:{resource}: Allow {action} (service-wide)"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_star_resource_on_write_actions(templates: dict[str, Any], name: str) -> None:
    """Resource "*" only for read actions, key policies, or the allow-listed APIs."""
    text = (TEMPLATE_DIR / name).read_text(encoding="utf-8").splitlines()
    for resource, rtype, statement in policy_statements(templates[name]):
        if statement["Effect"] != "Allow" or "Resource" not in statement:
            continue
        if "*" not in _as_list(statement["Resource"]) or rtype in KEY_POLICY_TYPES:
            continue
        if resource in BOUNDARY_POLICIES:
            continue
        for action in _as_list(statement["Action"]):
            verb = str(action).split(":", 1)[1]
            if verb.startswith(READ_VERBS) and action not in STAR_RESOURCE_ALLOW_LIST:
                continue
            assert action in STAR_RESOURCE_ALLOW_LIST, (
                f"{name}:{resource}: {action} on Resource '*' (not in the allow-list)"
            )
        sid = statement.get("Sid")
        assert sid, f"{name}:{resource}: an allow-listed '*' statement needs a Sid"
        line = next(i for i, t in enumerate(text) if re.search(rf"Sid: {sid}\b", t))
        assert any("ALLOW-LIST" in t for t in text[max(0, line - 3) : line]), (
            f"{name}:{resource}:{sid}: mark the Resource '*' with an ALLOW-LIST comment and reason"
        )


def _bucket_policies(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policies = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::S3::BucketPolicy":
            bucket = resource["Properties"]["Bucket"]
            policies[bucket["Ref"]] = resource["Properties"]["PolicyDocument"]
    return policies


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_bucket_encrypted_versioned_private_and_tls_only(
    templates: dict[str, Any], name: str
) -> None:
    """Each bucket: default encryption, versioning, every public-access block, TLS-only policy."""
    resources = expand_resources(templates[name])
    policies = _bucket_policies(resources)
    for bucket, resource in resources.items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        props = resource["Properties"]
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"aws:kms", "AES256"}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, bucket
        block = props["PublicAccessBlockConfiguration"]
        assert all(
            block.get(key) is True
            for key in (
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            )
        ), f"{name}:{bucket}: public access not fully blocked"
        assert bucket in policies, f"{name}:{bucket}: no bucket policy"
        tls = [
            s
            for s in policies[bucket]["Statement"]
            if s["Effect"] == "Deny"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert tls, f"{name}:{bucket}: no TLS-only (aws:SecureTransport) deny"
        covered = json.dumps(tls[0]["Resource"])
        assert f'"{bucket}", "Arn"' in covered and "/*" in covered, (
            f"{name}:{bucket}: the TLS deny must cover the bucket and its objects"
        )


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_lambda_has_dead_letters_and_reserved_concurrency(
    templates: dict[str, Any], name: str
) -> None:
    """Each function: a DLQ or an on-failure destination, and reserved concurrency."""
    resources = expand_resources(templates[name])
    on_failure = {
        r["Properties"]["FunctionName"]["Ref"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    }
    for fn, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        has_dlq = bool(props.get("DeadLetterConfig", {}).get("TargetArn"))
        assert has_dlq or fn in on_failure, f"{name}:{fn}: no DLQ and no on-failure destination"
        reserved = props.get("ReservedConcurrentExecutions")
        assert isinstance(reserved, int) and reserved >= 1, f"{name}:{fn}: no reserved concurrency"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_parameters_are_constrained_described_and_grouped(
    templates: dict[str, Any], name: str
) -> None:
    """Each parameter: description, allowed values or pattern + length; in exactly one group."""
    template = templates[name]
    params = template["Parameters"]
    for pname, spec in params.items():
        assert spec.get("Description"), f"{name}:{pname}: no Description"
        if "AllowedValues" in spec:
            continue
        if spec["Type"] == "Number":
            assert {"MinValue", "MaxValue"} <= set(spec), f"{name}:{pname}: unbounded number"
            continue
        assert "AllowedPattern" in spec, f"{name}:{pname}: neither AllowedValues nor AllowedPattern"
        assert spec.get("ConstraintDescription"), f"{name}:{pname}: no ConstraintDescription"
        if spec["Type"] == "String":
            assert "MaxLength" in spec, f"{name}:{pname}: no MaxLength"
        assert re.compile(spec["AllowedPattern"])
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [p for group in groups for p in group["Parameters"]]
    assert sorted(grouped) == sorted(params), f"{name}: ParameterGroups must list each once"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_outputs_are_described(templates: dict[str, Any], name: str) -> None:
    """Every Output says what it is."""
    outputs = templates[name]["Outputs"]
    assert outputs
    for oname, spec in outputs.items():
        assert len(spec.get("Description", "")) >= 10, f"{name}:{oname}: no Description"


def _max_length(expr: Any, params: dict[str, Any]) -> int:
    """Longest string the name expression can produce, given each parameter's MaxLength."""

    def param_max(ref: str) -> int:
        if ref in PSEUDO_MAX:
            return PSEUDO_MAX[ref]
        assert ref in params, f"name uses {ref}: only parameters and pseudo parameters allowed"
        return int(params[ref]["MaxLength"])

    if isinstance(expr, str):
        return len(expr)
    if "Ref" in expr:
        return param_max(expr["Ref"])
    if "Fn::Sub" in expr:
        text = expr["Fn::Sub"] if isinstance(expr["Fn::Sub"], str) else expr["Fn::Sub"][0]
        total = 0
        for part in re.split(r"(\$\{[^}]+\})", text):
            if part.startswith("${!"):
                total += len(part) - 1
            elif part.startswith("${"):
                total += param_max(part[2:-1])
            else:
                total += len(part)
        return total
    if "Fn::GetAtt" in expr:
        raise AssertionError(f"name from {expr}: cannot bound its length")
    raise AssertionError(f"unsupported name expression {expr}")


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_names_fit_their_limits(templates: dict[str, Any], name: str) -> None:
    """With every parameter at its MaxLength, each explicit name is within its AWS limit."""
    template = templates[name]
    params = template.get("Parameters", {})
    checked = 0
    for rname, resource in expand_resources(template).items():
        for (rtype, prop), limit in NAME_LIMITS.items():
            if resource["Type"] == rtype and prop in resource.get("Properties", {}):
                length = _max_length(resource["Properties"][prop], params)
                assert length <= limit, f"{name}:{rname}.{prop}: up to {length} > {limit}"
                checked += 1
    if name != "portfolio.yaml":
        assert checked >= 8, f"{name}: only {checked} names checked"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_bucket_names_can_only_be_lowercase(templates: dict[str, Any], name: str) -> None:
    """Parameters in bucket names admit no uppercase (S3 rejects it; SageMaker names allow it)."""
    template = templates[name]
    params = template.get("Parameters", {})
    for rname, resource in expand_resources(template).items():
        if resource["Type"] != "AWS::S3::Bucket" or "BucketName" not in resource["Properties"]:
            continue
        text = resource["Properties"]["BucketName"]["Fn::Sub"]
        for ref in re.findall(r"\$\{([^}!]+)\}", text):
            if ref in PSEUDO_MAX:
                continue
            pattern = params[ref]["AllowedPattern"]
            assert "A-Z" not in pattern, f"{name}:{rname}: {ref} may contain uppercase"


def test_project_name_parameter_matches_sagemaker_rules(templates: dict[str, Any]) -> None:
    """SageMakerProjectName: 1-32 characters, letter first, hyphens only between alphanumerics."""
    spec = templates["model-build-product.yaml"]["Parameters"]["SageMakerProjectName"]
    assert (spec["MinLength"], spec["MaxLength"]) == (1, 32)
    pattern = re.compile(spec["AllowedPattern"])
    for good in ["credit-risk", "A", "a--b9", "x" * 32]:
        assert pattern.fullmatch(good), good
    for bad in ["1abc", "abc-", "-abc", "a_b", "a b"]:
        assert not pattern.fullmatch(bad), bad
    project_id = templates["model-build-product.yaml"]["Parameters"]["SageMakerProjectId"]
    assert re.fullmatch(project_id["AllowedPattern"], "p-idy6c3e1fiqj")


def test_model_build_product_is_visible_in_studio(templates: dict[str, Any]) -> None:
    """SageMaker Projects lists only products tagged sagemaker:studio-visibility=true."""
    product = templates["portfolio.yaml"]["Resources"]["ModelBuildProduct"]
    assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in product["Properties"]["Tags"]
    constraint = templates["portfolio.yaml"]["Resources"]["ModelBuildLaunchRole"]
    assert constraint["Properties"]["RoleArn"] == {"Fn::GetAtt": ["LaunchRole", "Arn"]}


def test_launch_role_creates_only_bounded_roles(templates: dict[str, Any]) -> None:
    """The dedicated launch role creates roles only with the project boundary, cannot remove it,
    and every role of the model-build product carries it."""
    resources = templates["portfolio.yaml"]["Resources"]
    role = resources["LaunchRole"]["Properties"]
    assert role["Path"] == "/clearance/" and role["RoleName"] == "clearance-project-launch-role"
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    create = statements["CreateBoundedProjectRoles"]
    assert "iam:CreateRole" in create["Action"]
    boundary = create["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
    assert boundary == {"Ref": "ProjectRoleBoundary"}
    assert statements["NoBoundaryEscape"]["Effect"] == "Deny"
    assert "iam:DeleteRolePermissionsBoundary" in statements["NoBoundaryEscape"]["Action"]
    policy = resources["ProjectRoleBoundary"]["Properties"]
    expected = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy{policy['Path']}"
    expected += policy["ManagedPolicyName"]
    build = expand_resources(templates["model-build-product.yaml"])
    roles = {n: r for n, r in build.items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) >= 4
    for rname, body in roles.items():
        assert body["Properties"]["PermissionsBoundary"] == {"Fn::Sub": expected}, rname


def test_team_product_has_no_registry_group_and_no_wiring_parameter(
    templates: dict[str, Any],
) -> None:
    """The group lives in the governance account (custom resource), and no launch parameter names
    the governance account, its bus, its Lambdas or the report suffix: they are Mappings."""
    template = templates["model-build-product.yaml"]
    resources = expand_resources(template)
    types = {r["Type"] for r in resources.values()}
    assert "AWS::SageMaker::ModelPackageGroup" not in types
    assert resources["RegistryGroup"]["Type"] == "Custom::ClearanceModelPackageGroup"
    for param in template["Parameters"]:
        assert not re.search(r"Governance|CopyArtifacts|EventBus|Suffix", param), param
    assert set(template["Mappings"]["Governance"]["Wiring"]) == {
        "AccountId",
        "NamePrefix",
        "OrganizationId",
        "ReportSuffix",
    }


def test_checkov_suppressions_carry_reasons() -> None:
    """Each inline checkov skip names a check and says why in a sentence."""
    count = 0
    for path in TEMPLATE_PATHS:
        template = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader)
        for node in walk(template):
            if isinstance(node, dict) and "checkov" in node and "skip" in node["checkov"]:
                for skip in node["checkov"]["skip"]:
                    assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), skip
                    assert len(skip.get("comment", "")) >= 30, f"{path.name}: {skip['id']} reason"
                    count += 1
    assert count >= 1


class _AnyTagLoader(yaml.SafeLoader):
    """A safe loader that keeps CloudFormation tags' values (for metadata-only reads)."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def _pattern_file() -> dict[str, Any]:
    if not PATTERN_FILE.is_file():
        pytest.fail(f"{PATTERN_FILE.relative_to(REPO_ROOT)} is missing (APPROVAL-CORE ships it)")
    return json.loads(PATTERN_FILE.read_text(encoding="utf-8"))


def test_governance_rule_uses_the_shared_pattern(templates: dict[str, Any]) -> None:
    """The start-approval rule's pattern is the shared file narrowed to the source accounts and to
    the central registry's packages; retries and a DLQ are set."""
    rule = templates["governance-product.yaml"]["Resources"]["StartApprovalRule"]["Properties"]
    pattern = json.loads(json.dumps(rule["EventPattern"]))
    account = pattern.pop("account")
    assert "TeamAccountIds" in json.dumps(account) and "AWS::AccountId" in json.dumps(account)
    (arn,) = pattern["detail"].pop("ModelPackageArn")
    assert arn["prefix"]["Fn::Sub"].endswith(":${AWS::AccountId}:model-package/")
    assert pattern == _pattern_file()
    (target,) = rule["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": ["StartApprovalDeadLetterQueue", "Arn"]
    }


def test_team_forwarding_rule_is_the_shared_pattern_narrowed_to_its_group(
    templates: dict[str, Any],
) -> None:
    """The team account forwards the shared pattern, narrowed to its own model package group."""
    rule = templates["model-build-product.yaml"]["Resources"]["ForwardPendingPackagesRule"]
    pattern = json.loads(json.dumps(rule["Properties"]["EventPattern"]))
    group = pattern["detail"].pop("ModelPackageGroupName")
    assert group == [{"Fn::GetAtt": ["RegistryGroup", "ModelPackageGroupName"]}]
    assert pattern == _pattern_file()


def test_alarms_watch_dead_letters_and_failed_approvals(templates: dict[str, Any]) -> None:
    """An alarm per dead-letter queue and one on failed approval pipeline executions."""
    resources = expand_resources(templates["governance-product.yaml"])
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    queues = {n for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms if a["Namespace"] == "AWS/SQS"
    }
    assert watched == queues
    failed = [a for a in alarms if a["MetricName"] == "ExecutionFailed"]
    assert failed and failed[0]["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"


def _buildspec_variables() -> set[str]:
    if not BUILDSPEC.is_file():
        pytest.fail(f"{BUILDSPEC.relative_to(REPO_ROOT)} is missing (TEAM-PIPELINE ships it)")
    text = BUILDSPEC.read_text(encoding="utf-8")
    found = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))
    declared = set()
    spec = yaml.safe_load(text) or {}
    env = spec.get("env", {}) or {}
    for section in ("variables", "parameter-store", "secrets-manager", "exported-variables"):
        value = env.get(section) or {}
        declared |= set(value if isinstance(value, list) else value.keys())
    # Variables the buildspec's own commands assign are not inputs.
    assigned = set(re.findall(r"(?:^|\s|export\s+)([A-Z][A-Z0-9_]*)=", text))
    return {v for v in found - declared - assigned if not v.startswith("CODEBUILD_")}


def test_codebuild_sets_every_variable_the_buildspec_reads(templates: dict[str, Any]) -> None:
    """The baked buildspec's inputs are all provided by the CodeBuild project."""
    project = templates["model-build-product.yaml"]["Resources"]["BuildProject"]
    provided = {v["Name"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    missing = _buildspec_variables() - provided - CODEBUILD_BUILT_INS
    assert not missing, f"buildspec reads {sorted(missing)}; set them in BuildProject"


def test_template_files_are_the_only_ones() -> None:
    """servicecatalog/ holds the templates and their notes only (no stray rendered copies)."""
    names = {p.name for p in TEMPLATE_DIR.iterdir()}
    assert names <= set(TEMPLATE_NAMES) | {"README.md", "s3-templates.md", "guardrails"}, names


GUARDRAILS = TEMPLATE_DIR / "guardrails"
GUARDRAIL_PLACEHOLDERS = {
    "GovernanceAccountId",
    "NamePrefix",
    "OrganizationId",
    "BundleBucket",
    "RegistryAdminArns",
}


@pytest.mark.parametrize("path", sorted(GUARDRAILS.glob("*.json")), ids=lambda p: p.name)
def test_guardrails_are_valid_organization_policies(path: Any) -> None:
    """Each SCP/RCP parses, fits the 5,120-character limit once rendered, denies only, names the
    exempt role by aws:PrincipalArn, and uses only the placeholders tools/package.py fills in."""
    text = path.read_text(encoding="utf-8")
    assert set(re.findall(r"\{\{(\w+)\}\}", text)) <= GUARDRAIL_PLACEHOLDERS
    rendered = text.replace("{{GovernanceAccountId}}", "222222222222")
    policy = json.loads(rendered)
    assert len(json.dumps(policy, separators=(",", ":"))) <= 5120
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny", statement["Sid"]
        if path.name.startswith("rcp-"):
            assert statement["Principal"] == "*"  # RCPs require it
        else:
            assert "Principal" not in statement  # SCPs forbid it
    assert len(list(GUARDRAILS.glob("*.json"))) == 3


def test_governance_forwards_each_teams_approvals_to_that_team_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    """One rule per team account: Approved events of groups named <team>- go to <team>'s bus."""
    loop = templates["governance-product.yaml"]["Resources"]["Fn::ForEach::TeamApprovedForwarding"]
    var, collection, body = loop
    assert var == "TeamAccountId" and collection == {"Ref": "TeamAccountIds"}
    (rule,) = body.values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["account"] == [{"Ref": "AWS::AccountId"}]
    assert pattern["detail"]["ModelApprovalStatus"] == ["Approved"]
    assert pattern["detail"]["ModelPackageGroupName"] == [
        {"prefix": {"Fn::Sub": "${TeamAccountId}-"}}
    ]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::Sub"].endswith(":${TeamAccountId}:event-bus/default")
    role = templates["governance-product.yaml"]["Resources"]["ApprovedEventsForwardRole"]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceAccount": {"Ref": "TeamAccountIds"}}
    }
