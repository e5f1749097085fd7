"""Build the Service Catalog bundle into build/servicecatalog/ (`make package`).

    servicecatalog/*.yaml ─┐                  build/servicecatalog/
    src/clearance/ ────────┼─▶ package.py ─▶    <template>.json (portfolio, products)
    cookiecutter template ─┘                    <prefix>/lambda/clearance-lambda-<sha>.zip
                                                <prefix>/approval/<sha>/clearance.zip
                                                <prefix>/approval/<sha>/wheels/xgboost_cpu-*.whl
                                                <prefix>/seed/seed-code-<sha>.zip
                                                <prefix>/policies/default.yaml
                                                <prefix>/templates/<name>-<sha>.json
                                                  (model-deploy: the deploy pipeline, issue 13)
                                                <prefix>/s3-templates/clearance-model-build.yaml
                                                approval-pipeline.json (the definition, to review)
                                                guardrails/*.json (the SCPs and RCP, to attach)
                                                manifest.json (every file: S3 key, size, sha256)

What it does:
- bakes the team template with the given answers (cookiecutter's Python API, no prompts) and zips
  the result as the repository seed code;
- zips the `clearance` package (plus PyYAML's pure-Python part, which Lambda's runtime lacks) as the
  Lambda code, and asks `clearance.pipeline.definition` for the approval steps' code bundle;
- puts the Verify step's xgboost-cpu wheel (the version requirements.txt pins, PyPI's sha256
  recorded in `clearance.pipeline.wheels`) beside that bundle: from `--wheel-dir`, else from the
  cache build/wheels/, else `pip download`-ed into it; a missing or mismatching wheel is refused;
- renders the approval pipeline definition offline and embeds it in the governance template inside
  `Fn::Sub`, so the bucket, role and code locations resolve at deploy time;
- fixes the approval policy location in the definition (no `PolicyS3Uri` parameter: nobody who
  starts an execution can choose the policy);
- injects the shared EventBridge pattern (src/clearance/patterns/model_package_pending.json),
  narrowed in the governance rule to the source accounts and to packages of the central registry;
- writes the governance wiring (account, organization, name prefix, report suffix) into the
  model-build template's `Mappings`, which no launch can change;
- writes the templates as JSON (valid CloudFormation and valid YAML) with the S3 locations as
  parameter defaults.

Every zip is deterministic: entries sorted, timestamps fixed at 1980-01-01, permissions normalised
(0644, or 0755 for executables). Same inputs, same bytes, so the content-addressed keys change only
when the content does.

Errors are one line: `ERROR: <field>: <problem>. <fix>` and exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("package")

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO_ROOT / "servicecatalog"
PACKAGE_DIR = REPO_ROOT / "src" / "clearance"
PATTERN_FILE = PACKAGE_DIR / "patterns" / "model_package_pending.json"
DEFAULT_POLICY = PACKAGE_DIR / "policy" / "policies" / "default.yaml"
DEFAULT_OUT = REPO_ROOT / "build" / "servicecatalog"
GUARDRAIL_DIR = SOURCE_DIR / "guardrails"

TEMPLATES = ("portfolio", "model-build-product", "governance-product", "model-deploy")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Files never shipped in a zip: caches and editor/OS litter.
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".git", ".venv"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
LAMBDA_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".typed"}
# Placeholders the approval definition may carry; each resolves in the governance Fn::Sub.
DEFINITION_PLACEHOLDERS = {
    "AWS::Partition",
    "AWS::AccountId",
    "NamePrefix",
    "GovernanceBucket",
    "BundleBucket",
    "ApprovalCodePrefix",
    "PolicyKey",
    "ReportBucketPattern",
}
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
POLICY_PARAMETER = "PolicyS3Uri"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class PackageError(Exception):
    """A user-facing packaging error: `<field>: <problem>. <fix>`."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")


@dataclass(frozen=True)
class Options:
    out: Path
    region: str
    bundle_bucket: str
    prefix: str
    answers: dict[str, Any]
    governance_account_id: str
    organization_id: str
    team_account_ids: tuple[str, ...]
    studio_role_arns: tuple[str, ...]
    name_prefix: str = "clearance"
    report_suffix: str = ".json"
    registry_admin_arns: tuple[str, ...] = ()
    accepted_policies: str | None = None  # the deploy gate's, "<id>@<version> ..."
    wheel_dir: Path | None = None  # holds the pinned xgboost-cpu wheel (else cache or download)


# ---------------------------------------------------------------------------------------- zips
def _normalised_mode(path: Path) -> int:
    executable = path.stat().st_mode & stat.S_IXUSR
    return (0o755 if executable else 0o644) | stat.S_IFREG


def write_deterministic_zip(entries: Iterable[tuple[str, Path]], out: Path) -> Path:
    """Zip (archive name, file) pairs so that the same contents always give the same bytes."""
    ordered = sorted(entries, key=lambda item: item[0])
    names = [name for name, _ in ordered]
    if len(names) != len(set(names)):
        raise PackageError(str(out.name), "duplicate entries in the zip", "Report this as a bug")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, path in ordered:
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so external_attr carries the permission bits
                info.external_attr = _normalised_mode(path) << 16
                archive.writestr(info, path.read_bytes(), compresslevel=9)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _tree(root: Path, prefix: str = "", suffixes: set[str] | None = None) -> list[tuple[str, Path]]:
    entries = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or SKIP_PARTS.intersection(relative.parts):
            continue
        if path.suffix in SKIP_SUFFIXES or (suffixes is not None and path.suffix not in suffixes):
            continue
        entries.append((f"{prefix}{relative.as_posix()}", path))
    return entries


def build_lambda_zip(out: Path) -> Path:
    """The `clearance` package plus the pure-Python modules Lambda's runtime lacks: PyYAML, and
    aws-lambda-powertools (the handlers' metrics and typed events) with typing_extensions."""
    import aws_lambda_powertools
    import typing_extensions
    import yaml

    entries = _tree(PACKAGE_DIR, "clearance/", LAMBDA_SUFFIXES)
    entries += _tree(Path(yaml.__file__).resolve().parent, "yaml/", {".py"})
    powertools = Path(aws_lambda_powertools.__file__).resolve().parent
    entries += _tree(powertools, "aws_lambda_powertools/", {".py", ".typed"})
    entries.append(("typing_extensions.py", Path(typing_extensions.__file__).resolve()))
    return write_deterministic_zip(entries, out)


def bake_seed_code(answers: dict[str, Any], out: Path) -> Path:
    """Bake the template with `answers` (no prompts) and zip the baked repository's contents."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    with tempfile.TemporaryDirectory(prefix="clearance-seed-") as tmp:
        try:
            baked = Path(
                cookiecutter(
                    str(REPO_ROOT),
                    no_input=True,
                    extra_context=answers,
                    output_dir=tmp,
                    accept_hooks=True,
                )
            )
        except CookiecutterException as error:
            # The hooks have already printed the field and the fix on stderr.
            raise PackageError(
                "seed code", f"baking the template failed ({error})", "Fix the answer named above"
            ) from None
        return write_deterministic_zip(_tree(baked), out)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------- templates
def load_source_template(name: str) -> dict[str, Any]:
    from cfnlint.decode import decode_str

    path = SOURCE_DIR / f"{name}.yaml"
    template, matches = decode_str(path.read_text(encoding="utf-8"))
    if matches or not isinstance(template, dict):
        raise PackageError(f"servicecatalog/{name}.yaml", f"cannot decode ({matches})", "Fix it")
    # Plain dicts/lists: the decoder's node classes carry line marks json does not need.
    return json.loads(json.dumps(template))


def load_pattern() -> dict[str, Any]:
    if not PATTERN_FILE.is_file():
        raise PackageError(
            "pattern", f"{PATTERN_FILE.relative_to(REPO_ROOT)} is missing", "Restore the file"
        )
    pattern = json.loads(PATTERN_FILE.read_text(encoding="utf-8"))
    if not isinstance(pattern, dict) or "detail" not in pattern:
        raise PackageError("pattern", "not an EventBridge pattern with a detail", "Fix the file")
    return pattern


def render_approval_definition(region: str) -> str:
    """The approval pipeline definition with CloudFormation placeholders (for Fn::Sub)."""
    from clearance.pipeline.definition import render_definition

    definition = render_definition(
        region,
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${NamePrefix}-approval-pipeline-role",
        "${GovernanceBucket}",
        pipeline_name="${NamePrefix}-approval",
        code_s3_uri="s3://${BundleBucket}/${ApprovalCodePrefix}/clearance.zip",
        allowed_buckets=["${GovernanceBucket}", "${ReportBucketPattern}"],
        policy_s3_uri="s3://${GovernanceBucket}/${PolicyKey}",
        # Evaluate reads the governance copies (copy-artifacts), pinned by ContentDigest.
        evidence_bucket="${GovernanceBucket}",
    )
    definition = fix_policy_location(definition)
    unknown = set(re.findall(r"\$\{([^}]*)\}", definition)) - DEFINITION_PLACEHOLDERS
    if unknown:
        # Fn::Sub would read anything else as a reference and fail (or resolve it) at deploy time.
        raise PackageError(
            "approval pipeline definition",
            f"contains unexpected ${{...}} sequences {sorted(unknown)}",
            "Escape them or add them to DEFINITION_PLACEHOLDERS",
        )
    return definition


def fix_policy_location(definition: str) -> str:
    """Replace the `PolicyS3Uri` parameter by its default everywhere, and drop the parameter.

    Whoever may call StartPipelineExecution could otherwise pass any policy; with the location
    fixed in the definition, the policy is whatever the registry admin wrote at that key.
    """
    body = json.loads(definition)
    params = body.get("Parameters", [])
    (spec,) = [p for p in params if p.get("Name") == POLICY_PARAMETER] or [None]
    if spec is None:
        return definition
    fixed = spec["DefaultValue"]
    reference = {"Get": f"Parameters.{POLICY_PARAMETER}"}

    def walk(node: Any) -> Any:
        if node == reference:
            return fixed
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    body["Parameters"] = [p for p in params if p.get("Name") != POLICY_PARAMETER]
    body = walk(body)
    if POLICY_PARAMETER in json.dumps(body):
        raise PackageError(
            "approval pipeline definition",
            f"still refers to {POLICY_PARAMETER} after fixing it",
            "Report this as a bug",
        )
    return json.dumps(body)


def governance_pattern(pattern: dict[str, Any]) -> dict[str, Any]:
    """The shared pattern narrowed to the source accounts and to the central registry's packages."""
    narrowed = json.loads(json.dumps(pattern))
    narrowed["account"] = {
        "Fn::Split": [
            ",",
            {
                "Fn::Join": [
                    ",",
                    [{"Ref": "AWS::AccountId"}, {"Fn::Join": [",", {"Ref": "TeamAccountIds"}]}],
                ]
            },
        ]
    }
    narrowed["detail"]["ModelPackageArn"] = [
        {
            "prefix": {
                "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
                ":model-package/"
            }
        }
    ]
    return narrowed


def render_guardrail(text: str, values: dict[str, Any]) -> dict[str, Any]:
    """An SCP/RCP of servicecatalog/guardrails/ with the deployment's values filled in.

    A list value replaces its quoted placeholder with a JSON array (``"{{RegistryAdminArns}}"``:
    the registry-admin role and the principals allowed to assume it).
    """
    for key, value in values.items():
        if isinstance(value, list):
            text = text.replace(f'"{{{{{key}}}}}"', json.dumps(value))
    for key, value in values.items():
        if isinstance(value, str):
            text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{(\w+)\}\}", text)
    if left:
        raise PackageError(
            "guardrails", f"unfilled placeholders {sorted(set(left))}", "Fix the file"
        )
    return json.loads(text)


def registry_admin_arns(governance: str, prefix: str, principals: Sequence[str]) -> list[str]:
    """Who may write policies and the approval code: the registry-admin role and its assumers."""
    return [f"arn:aws:iam::{governance}:role/{prefix}-registry-admin", *principals]


def guardrail_values(opts: Options) -> dict[str, Any]:
    return {
        "GovernanceAccountId": opts.governance_account_id,
        "NamePrefix": opts.name_prefix,
        "OrganizationId": opts.organization_id,
        "BundleBucket": opts.bundle_bucket,
        "RegistryAdminArns": registry_admin_arns(
            opts.governance_account_id, opts.name_prefix, opts.registry_admin_arns
        ),
    }


def _set_default(template: dict[str, Any], parameter: str, value: str) -> None:
    spec = template["Parameters"][parameter]
    pattern = spec.get("AllowedPattern")
    if pattern and spec["Type"] == "String" and not re.fullmatch(pattern, value):
        raise PackageError(parameter, f"{value!r} does not match {pattern}", "Fix the value")
    spec["Default"] = value


def render_governance(
    template: dict[str, Any], opts: Options, keys: dict[str, str], definition: str, pattern: dict
) -> dict[str, Any]:
    _set_default(template, "BundleBucket", opts.bundle_bucket)
    _set_default(template, "LambdaCodeKey", keys["lambda"])
    _set_default(template, "ApprovalCodePrefix", keys["approval"].rsplit("/", 1)[0])
    _set_default(template, "OrganizationId", opts.organization_id)
    _set_default(template, "NamePrefix", opts.name_prefix)
    if opts.team_account_ids:
        template["Parameters"]["TeamAccountIds"]["Default"] = ",".join(opts.team_account_ids)
    if opts.registry_admin_arns:
        template["Parameters"]["RegistryAdminPrincipalArns"]["Default"] = ",".join(
            opts.registry_admin_arns
        )
    resources = template["Resources"]
    resources["StartApprovalRule"]["Properties"]["EventPattern"] = governance_pattern(pattern)
    resources["ApprovalPipeline"]["Properties"]["PipelineDefinition"] = {
        "PipelineDefinitionBody": {"Fn::Sub": definition}
    }
    return template


def render_model_build(
    template: dict[str, Any], opts: Options, keys: dict[str, str], pattern: dict
) -> dict[str, Any]:
    _set_default(template, "SeedCodeBucket", opts.bundle_bucket)
    _set_default(template, "SeedCodeKey", keys["seed"])
    # The wiring lives in Mappings: a launch (a Studio user) can change no mapping.
    template["Mappings"]["Governance"]["Wiring"] = {
        "AccountId": opts.governance_account_id,
        "NamePrefix": opts.name_prefix,
        "OrganizationId": opts.organization_id,
        "ReportSuffix": opts.report_suffix,
    }
    source_provider = opts.answers.get("source_provider")
    if source_provider:
        _set_default(template, "SourceProvider", source_provider)
    # The deploy side (issue 13): on with the `deploy` answer (default true), tabular only.
    deploy = (
        opts.answers.get("deploy", True) and opts.answers.get("model_type", "tabular") == "tabular"
    )
    template["Mappings"]["Deploy"]["Product"] = {
        "Enabled": "true" if deploy else "false",
        "TemplateUrl": (
            f"https://{opts.bundle_bucket}.s3.{opts.region}.amazonaws.com/{keys['model-deploy']}"
        ),
    }
    rule = template["Resources"]["ForwardPendingPackagesRule"]["Properties"]
    group = rule["EventPattern"]["detail"]["ModelPackageGroupName"]
    forwarded = json.loads(json.dumps(pattern))
    forwarded["detail"]["ModelPackageGroupName"] = group
    rule["EventPattern"] = forwarded
    return template


def default_accepted_policies() -> str:
    """The shipped policy, as the deploy gate names it: <id>@<version>."""
    import yaml

    policy = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    return f"{policy['id']}@{policy['version']}"


def render_model_deploy(
    template: dict[str, Any], opts: Options, keys: dict[str, str]
) -> dict[str, Any]:
    """Fix the deploy's governance wiring in its Mapping (never a launch parameter)."""
    wiring = template["Mappings"]["Governance"]["Wiring"]
    accepted = opts.accepted_policies or default_accepted_policies()
    item = r"[A-Za-z0-9._-]+@[A-Za-z0-9.*_-]+"
    if not re.fullmatch(rf"{item}( {item})*", accepted):
        raise PackageError(
            "--accepted-policies", f"{accepted!r} is not <id>@<version> ...", "e.g. default@1"
        )
    prefix, account = opts.name_prefix, opts.governance_account_id
    wiring.update(
        {
            "AccountId": account,
            # governance-product.yaml: ${NamePrefix}-gov-${AWS::AccountId}-${AWS::Region}.
            "Bucket": f"{prefix}-gov-{account}-{opts.region}",
            "ApprovalRoleName": f"{prefix}-approval-pipeline-role",
            "AcceptedPolicies": accepted,
            "CodeBucket": opts.bundle_bucket,
            "CodeKey": keys["approval"],
            # The approval pipeline (<prefix>-approval) publishes checks.json here.
            "ChecksPrefix": f"{prefix}-approval/checks",
        }
    )
    return template


def render_portfolio(
    template: dict[str, Any], opts: Options, keys: dict[str, str], version: str
) -> dict[str, Any]:
    _set_default(template, "TemplateBucket", opts.bundle_bucket)
    _set_default(template, "ModelBuildTemplateKey", keys["model-build-product"])
    _set_default(template, "GovernanceTemplateKey", keys["governance-product"])
    _set_default(template, "ProductVersion", version)
    if opts.studio_role_arns:
        template["Parameters"]["StudioExecutionRoleArns"]["Default"] = ",".join(
            opts.studio_role_arns
        )
    return template


def _dump(template: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(template, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return out


def _dump_yaml(template: dict[str, Any], out: Path) -> Path:
    import yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(template, sort_keys=False, width=100, allow_unicode=True)
    out.write_text(text, encoding="utf-8")
    return out


def project_version() -> str:
    import tomllib

    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


# ------------------------------------------------------------------------------------ pipeline
def package(opts: Options) -> dict[str, Any]:
    """Build everything into opts.out; return the manifest (also written as manifest.json)."""
    pattern = load_pattern()
    sources = {name: load_source_template(name) for name in TEMPLATES}
    staging = opts.out.with_name(opts.out.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        manifest = _package_into(staging, opts, pattern, sources)
        # The previous bundle goes only once the new one is complete.
        if opts.out.exists():
            shutil.rmtree(opts.out)
        staging.replace(opts.out)
    except BaseException:
        # Nothing half-written is left where publish.py would look.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _package_into(
    staging: Path, opts: Options, pattern: dict[str, Any], sources: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    from clearance.pipeline.bundle import build_code_bundle
    from clearance.pipeline.wheels import wheel_key
    from clearance_dev import wheels as dev_wheels

    work = staging / "work"
    work.mkdir()
    LOGGER.info("checking the Verify step's pinned xgboost-cpu wheel")
    wheel = shutil.copyfile(dev_wheels.obtain(opts.wheel_dir), work / "xgboost.whl")
    LOGGER.info("building the Lambda zip")
    lambda_zip = build_lambda_zip(work / "lambda.zip")
    LOGGER.info("building the approval steps' code bundle")
    approval_zip = build_code_bundle(work / "clearance.zip")
    LOGGER.info("baking the seed code with %d given answers", len(opts.answers))
    seed_zip = bake_seed_code(opts.answers, work / "seed.zip")
    LOGGER.info("rendering the approval pipeline definition (offline)")
    definition = render_approval_definition(opts.region)

    files: dict[str, Path] = {}
    keys: dict[str, str] = {}

    def place(kind: str, source: Path, key: str) -> None:
        target = staging / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        files[key] = target
        keys[kind] = key

    place(
        "lambda",
        lambda_zip,
        f"{opts.prefix}/lambda/clearance-lambda-{sha256_of(lambda_zip)[:16]}.zip",
    )
    place(
        "approval",
        approval_zip,
        f"{opts.prefix}/approval/{sha256_of(approval_zip)[:16]}/clearance.zip",
    )
    place("seed", seed_zip, f"{opts.prefix}/seed/seed-code-{sha256_of(seed_zip)[:16]}.zip")
    # Beside the code bundle: the definition's Verify `wheels` input is wheel_key(<code key>).
    place("xgboost-wheel", wheel, wheel_key(keys["approval"]))
    policy = staging / "work" / "default.yaml"
    shutil.copyfile(DEFAULT_POLICY, policy)
    place("policy", policy, f"{opts.prefix}/policies/default.yaml")
    shutil.rmtree(work)

    governance = render_governance(sources["governance-product"], opts, keys, definition, pattern)
    # The deploy template first: the model-build product nests it by URL, so its key (by its own
    # digest) must be known before the model-build template is rendered.
    model_deploy = render_model_deploy(sources["model-deploy"], opts, keys)
    deploy_digest = hashlib.sha256(json.dumps(model_deploy, sort_keys=True).encode()).hexdigest()
    deploy_key = f"{opts.prefix}/templates/model-deploy-{deploy_digest[:12]}.json"
    files[deploy_key] = _dump(model_deploy, staging / deploy_key)
    keys["model-deploy"] = deploy_key
    model_build = render_model_build(sources["model-build-product"], opts, keys, pattern)
    product_digest = hashlib.sha256(
        json.dumps([governance, model_build, model_deploy], sort_keys=True).encode()
    ).hexdigest()
    for name, template in (
        ("governance-product", governance),
        ("model-build-product", model_build),
    ):
        key = f"{opts.prefix}/templates/{name}-{product_digest[:12]}.json"
        files[key] = _dump(template, staging / key)
        keys[name] = key
    # SageMaker Projects S3-templates route: the same product as YAML (long-form intrinsics, so a
    # plain YAML reader such as Studio's parameter form reads it), under a stable name that the
    # domain's template location lists. publish.py tags it sagemaker:studio-visibility=true.
    s3_template_key = f"{opts.prefix}/s3-templates/clearance-model-build.yaml"
    files[s3_template_key] = _dump_yaml(model_build, staging / s3_template_key)
    keys["s3-template"] = s3_template_key
    version = f"{project_version()}+{product_digest[:8]}"
    portfolio = render_portfolio(sources["portfolio"], opts, keys, version)
    portfolio_key = f"{opts.prefix}/templates/portfolio-{product_digest[:12]}.json"
    files[portfolio_key] = _dump(portfolio, staging / portfolio_key)
    keys["portfolio"] = portfolio_key

    # Top-level copies for people and linters: the same bytes as the uploaded templates.
    for name in TEMPLATES:
        shutil.copyfile(files[keys[name]], staging / f"{name}.json")
    (staging / "approval-pipeline.json").write_text(
        json.dumps(json.loads(definition), indent=1) + "\n", encoding="utf-8"
    )
    # The organization guardrails, rendered for this deployment (attach them: docs/governance.md).
    for source in sorted(GUARDRAIL_DIR.glob("*.json")):
        policy = render_guardrail(source.read_text(encoding="utf-8"), guardrail_values(opts))
        target = staging / "guardrails" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(policy, indent=1) + "\n", encoding="utf-8")

    manifest = {
        "version": version,
        "region": opts.region,
        "bundle_bucket": opts.bundle_bucket,
        "prefix": opts.prefix,
        # publish.py's bundle bucket policy: team deploy roles of this organization read the
        # approval code bundle (<prefix>/approval/*/clearance.zip) and nothing else.
        "organization_id": opts.organization_id,
        "keys": keys,
        "answers": opts.answers,
        "files": {
            key: {
                "path": path.relative_to(staging).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha256_of(path),
            }
            for key, path in sorted(files.items())
        },
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


# ----------------------------------------------------------------------------------------- CLI
def _parse_answers(args: argparse.Namespace) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if args.answers_file:
        path = Path(args.answers_file)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise PackageError(
                "--answers-file", f"cannot read {path} ({error})", "Give a JSON object file"
            ) from None
        if not isinstance(loaded, dict):
            raise PackageError("--answers-file", "not a JSON object", 'Give {"key": "value"}')
        answers.update(loaded)
    for item in args.answer:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PackageError("--answer", f"{item!r} is not key=value", "Use --answer key=value")
        answers[key] = value
    cookiecutter_keys = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    unknown = sorted(set(answers) - set(cookiecutter_keys))
    if unknown:
        raise PackageError(
            "--answer", f"unknown question {unknown[0]!r}", "Use a key of cookiecutter.json"
        )
    for toggle in ("include_pre_commit", "deploy"):
        if toggle in answers and isinstance(answers[toggle], str):
            # JSON boolean in cookiecutter.json; key=value answers arrive as strings.
            value = answers[toggle].lower()
            if value not in {"true", "false"}:
                raise PackageError(toggle, f"{value!r} is not true/false", "Use true or false")
            answers[toggle] = value == "true"
    return answers


def _accounts(value: str | None, field: str) -> tuple[str, ...]:
    if not value:
        return ()
    accounts = tuple(part.strip() for part in value.split(",") if part.strip())
    for account in accounts:
        if not ACCOUNT_ID.fullmatch(account):
            raise PackageError(field, f"{account!r} is not a 12-digit account id", "Fix the list")
    return accounts


def parse_args(argv: Sequence[str] | None) -> Options:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory")
    parser.add_argument(
        "--region",
        default=env("AWS_DEFAULT_REGION", "us-east-1"),
        help="region the bundle is for (processing image URI)",
    )
    parser.add_argument(
        "--bundle-bucket",
        default=env("CLEARANCE_BUNDLE_BUCKET"),
        help="bucket publish.py uploads to (default clearance-bundle-<region>)",
    )
    parser.add_argument("--prefix", default=None, help="key prefix (default clearance/<version>)")
    parser.add_argument(
        "--answers-file",
        default=env("CLEARANCE_ANSWERS_FILE"),
        help="JSON object of cookiecutter answers for the seed code",
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one cookiecutter answer (repeatable; wins over --answers-file)",
    )
    parser.add_argument(
        "--governance-account-id",
        default=env("CLEARANCE_GOVERNANCE_ACCOUNT_ID"),
        help="the governance account (required: fixed into the model-build product)",
    )
    parser.add_argument(
        "--organization-id",
        default=env("CLEARANCE_ORGANIZATION_ID"),
        help="AWS Organizations id (required: every cross-account grant requires it)",
    )
    parser.add_argument(
        "--name-prefix",
        default=env("CLEARANCE_NAME_PREFIX", "clearance"),
        help="the governance stack's NamePrefix (its Lambda and role names derive from it)",
    )
    parser.add_argument(
        "--team-account-ids",
        default=env("CLEARANCE_TEAM_ACCOUNT_IDS"),
        help="comma-separated team account ids (governance default)",
    )
    parser.add_argument(
        "--registry-admin-arns",
        default=env("CLEARANCE_REGISTRY_ADMIN_ARNS"),
        help="comma-separated governance role ARNs that may assume the registry-admin role",
    )
    parser.add_argument(
        "--studio-role-arns",
        default=env("CLEARANCE_STUDIO_ROLE_ARNS"),
        help="comma-separated Studio execution role ARNs (portfolio default)",
    )
    parser.add_argument(
        "--accepted-policies",
        default=env("CLEARANCE_ACCEPTED_POLICIES"),
        help="policies the deploy gate accepts, '<id>@<version> ...' (default: the shipped one)",
    )
    parser.add_argument(
        "--wheel-dir",
        default=env("CLEARANCE_WHEEL_DIR"),
        help="directory holding the pinned xgboost-cpu wheel (default: build/wheels/, downloaded "
        "there once)",
    )
    args = parser.parse_args(argv)

    region = args.region
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", region):
        raise PackageError("--region", f"{region!r} is not a region name", "Use e.g. us-east-1")
    bucket = args.bundle_bucket or f"clearance-bundle-{region}"
    if not BUCKET_NAME.fullmatch(bucket):
        raise PackageError(
            "--bundle-bucket", f"{bucket!r} is not a bucket name", "Use 3-63 a-z0-9.-"
        )
    governance = args.governance_account_id or ""
    if not ACCOUNT_ID.fullmatch(governance):
        raise PackageError(
            "--governance-account-id",
            f"{governance!r} is not a 12-digit account id",
            "Give the governance account (or CLEARANCE_GOVERNANCE_ACCOUNT_ID)",
        )
    organization = args.organization_id or ""
    if not ORGANIZATION_ID.fullmatch(organization):
        raise PackageError(
            "--organization-id",
            f"{organization!r} is not an organization id",
            "Give o-... (or CLEARANCE_ORGANIZATION_ID)",
        )
    if not NAME_PREFIX.fullmatch(args.name_prefix):
        raise PackageError(
            "--name-prefix", f"{args.name_prefix!r} is not a NamePrefix", "Use 3-20 a-z0-9-"
        )
    prefix = (args.prefix or f"clearance/{project_version()}").strip("/")
    if not re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", prefix):
        raise PackageError("--prefix", f"{prefix!r} is not a plain key prefix", "Use a-z0-9._-/")
    studio = tuple(a.strip() for a in (args.studio_role_arns or "").split(",") if a.strip())
    return Options(
        out=Path(args.out).resolve(),
        region=region,
        bundle_bucket=bucket,
        prefix=prefix,
        answers=_parse_answers(args),
        governance_account_id=governance,
        organization_id=organization,
        team_account_ids=_accounts(args.team_account_ids, "--team-account-ids"),
        studio_role_arns=studio,
        name_prefix=args.name_prefix,
        registry_admin_arns=tuple(
            a.strip() for a in (args.registry_admin_arns or "").split(",") if a.strip()
        ),
        accepted_policies=args.accepted_policies,
        wheel_dir=Path(args.wheel_dir).resolve() if args.wheel_dir else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    # Our progress only: the SDK's and cookiecutter's INFO chatter stays out (warnings still show).
    # Configuring the root first also makes later basicConfig() calls in libraries no-ops.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("package: %(message)s"))
    for old in list(LOGGER.handlers):  # main() may run more than once in a process (tests)
        LOGGER.removeHandler(old)
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    # cookiecutter logs a traceback for a refused bake; the hook's own one-line error is enough.
    logging.getLogger("cookiecutter").setLevel(logging.CRITICAL)
    # "Running within a PipelineSession ... No Job being started": expected when rendering offline.
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    # The SDK drops ProcessingJobName from a pipeline definition by design; it says so per step.
    logging.getLogger("sagemaker.core.workflow.utilities").setLevel(logging.ERROR)
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    from clearance.pipeline.wheels import WheelError

    try:
        opts = parse_args(argv)
        manifest = package(opts)
    except (PackageError, WheelError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    for key, entry in manifest["files"].items():
        print(f"{entry['size']:>10}  {key}")
    print(f"bundle {manifest['version']} for s3://{opts.bundle_bucket}/ written to {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
