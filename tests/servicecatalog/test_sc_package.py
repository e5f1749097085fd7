"""tools/package.py: deterministic zips, the rendered bundle, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import package
import pytest
from sc_helpers import BUNDLE_ARGS, PATTERN_FILE, load_template

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
RENDERED = ("portfolio.json", "model-build-product.json", "governance-product.json")


def _files(root: Path, spec: dict[str, bytes]) -> list[tuple[str, Path]]:
    entries = []
    for name, content in spec.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        entries.append((name, path))
    return entries


def test_zip_bytes_ignore_mtime_permissions_and_order(tmp_path: Path) -> None:
    """Same contents -> same bytes, whatever the file times, modes and listing order."""
    spec = {"b.py": b"print('b')\n", "a/c.json": b"{}\n", "run.sh": b"#!/bin/sh\n"}
    first = _files(tmp_path / "one", spec)
    os.chmod(first[2][1], 0o755)
    second = _files(tmp_path / "two", spec)
    os.chmod(second[0][1], 0o600)  # not executable: normalised to 0644 like the first copy
    os.chmod(second[2][1], 0o700)  # executable: normalised to 0755 like the first copy
    for _, path in second:
        os.utime(path, (1_900_000_000, 1_900_000_000))
    one = package.write_deterministic_zip(first, tmp_path / "one.zip").read_bytes()
    two = package.write_deterministic_zip(list(reversed(second)), tmp_path / "two.zip").read_bytes()
    assert one == two
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(spec)
        assert {i.date_time for i in infos} == {package.ZIP_EPOCH}
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
        assert modes == {"a/c.json": 0o644, "b.py": 0o644, "run.sh": 0o755}


def test_zip_bytes_change_with_content(tmp_path: Path) -> None:
    """A one-byte change gives a different zip (the digest-named keys then change too)."""
    one = _files(tmp_path / "one", {"x.py": b"x = 1\n"})
    two = _files(tmp_path / "two", {"x.py": b"x = 2\n"})
    a = package.write_deterministic_zip(one, tmp_path / "a.zip").read_bytes()
    b = package.write_deterministic_zip(two, tmp_path / "b.zip").read_bytes()
    assert a != b


def test_lambda_zip_is_reproducible_and_clean(tmp_path: Path) -> None:
    """Two builds of the Lambda zip are byte-identical and hold no caches."""
    a = package.build_lambda_zip(tmp_path / "a.zip")
    b = package.build_lambda_zip(tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as archive:
        names = archive.namelist()
    assert "clearance/__init__.py" in names and "yaml/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_template_handlers_import_from_the_lambda_zip(tmp_path: Path, templates: Any) -> None:
    """Each Handler named in the governance template imports from the zip, as Lambda would."""
    zipped = package.build_lambda_zip(tmp_path / "lambda.zip")
    resources = templates["governance-product.yaml"]["Resources"]
    handlers = sorted(
        r["Properties"]["Handler"]
        for r in resources.values()
        if isinstance(r, dict)
        and r.get("Type") == "AWS::Lambda::Function"
        and "ZipFile" not in r["Properties"]["Code"]  # the inline registry-groups function
    )
    assert len(handlers) == 2
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(zipped)!r})\n"
        f"for handler in {handlers!r}:\n"
        "    module, _, function = handler.rpartition('.')\n"
        "    loaded = importlib.import_module(module)\n"
        f"    assert loaded.__file__.startswith({str(zipped)!r}), loaded.__file__\n"
        "    assert callable(getattr(loaded, function)), handler\n"
        "import yaml\n"
        f"assert yaml.__file__.startswith({str(zipped)!r})\n"
        "from clearance.handlers import handler_metrics\n"
        "import aws_lambda_powertools\n"
        f"assert aws_lambda_powertools.__file__.startswith({str(zipped)!r})\n"
        "handler_metrics('copy-artifacts').flush_metrics()\n"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_bundle_manifest_matches_the_files(bundle: Path) -> None:
    """Every manifest entry exists with its size and sha256; keys are content-addressed."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert set(manifest["keys"]) >= {"lambda", "approval", "seed", "policy", *package.TEMPLATES}
    for key, entry in manifest["files"].items():
        data = (bundle / entry["path"]).read_bytes()
        assert len(data) == entry["size"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], key
    lambda_key = manifest["keys"]["lambda"]
    digest = manifest["files"][lambda_key]["sha256"]
    assert lambda_key.endswith(f"clearance-lambda-{digest[:16]}.zip")
    assert manifest["keys"]["approval"].endswith("/clearance.zip")


@pytest.mark.parametrize("name", [*RENDERED, "s3-template"])
def test_rendered_templates_pass_cfn_lint(bundle: Path, name: str) -> None:
    """The templates as packaged (definition, pattern and defaults filled in) lint clean."""
    if name == "s3-template":
        manifest = json.loads((bundle / "manifest.json").read_text())
        path = bundle / manifest["files"][manifest["keys"]["s3-template"]]["path"]
    else:
        path = bundle / name
    result = subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True, cwd=bundle)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_rendered_governance_carries_pattern_definition_and_code(bundle: Path) -> None:
    """The rule has the shared pattern; the pipeline body is the rendered two-step definition."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    template = load_template(bundle / "governance-product.json")
    resources = template["Resources"]
    pattern = package.governance_pattern(json.loads(PATTERN_FILE.read_text()))
    assert resources["StartApprovalRule"]["Properties"]["EventPattern"] == pattern
    body = resources["ApprovalPipeline"]["Properties"]["PipelineDefinition"]
    text = body["PipelineDefinitionBody"]["Fn::Sub"]
    placeholders = set(re.findall(r"\$\{([^}]*)\}", text))
    assert placeholders <= set(template["Parameters"]) | set(resources) | {
        "AWS::Partition",
        "AWS::AccountId",
    }
    definition = json.loads(text)
    assert [s["Name"] for s in definition["Steps"]] == ["Evaluate", "Verify", "Update"]
    # The policy location is fixed in the definition: nobody starting an execution can choose it.
    assert {p["Name"] for p in definition["Parameters"]} == {"ModelPackageArn"}
    assert "PolicyS3Uri" not in text and "s3://${GovernanceBucket}/${PolicyKey}" in text
    params = template["Parameters"]
    assert params["LambdaCodeKey"]["Default"] == manifest["keys"]["lambda"]
    assert (
        f"{params['ApprovalCodePrefix']['Default']}/clearance.zip" == manifest["keys"]["approval"]
    )
    assert params["BundleBucket"]["Default"] == "clearance-bundle-test"
    assert params["TeamAccountIds"]["Default"] == "222222222222,333333333333"
    assert params["OrganizationId"]["Default"] == "o-exampleorg01"
    start = resources["StartApprovalFunction"]["Properties"]["Environment"]["Variables"]
    assert "POLICY_S3_URI" not in start
    # Only packages of the governance account's own (central) registry start an approval.
    assert start["ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}


def test_rendered_model_build_and_portfolio_point_at_the_bundle(bundle: Path) -> None:
    """Seed code, governance settings and product template URLs are the packaged ones."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    rendered = load_template(bundle / "model-build-product.json")
    model_build = rendered["Parameters"]
    assert model_build["SeedCodeKey"]["Default"] == manifest["keys"]["seed"]
    assert rendered["Mappings"]["Governance"]["Wiring"] == {
        "AccountId": "111111111111",
        "NamePrefix": "clearance",
        "OrganizationId": "o-exampleorg01",
        "ReportSuffix": ".json",
    }
    portfolio = load_template(bundle / "portfolio.json")["Parameters"]
    assert portfolio["ModelBuildTemplateKey"]["Default"] == manifest["keys"]["model-build-product"]
    assert portfolio["ProductVersion"]["Default"] == manifest["version"]
    s3_template = load_template(bundle / manifest["files"][manifest["keys"]["s3-template"]]["path"])
    assert s3_template == load_template(bundle / "model-build-product.json")


def test_guardrails_are_rendered_for_the_deployment(bundle: Path) -> None:
    """The SCPs and the RCP come with the governance account, prefix and organization filled in."""
    rendered = sorted((bundle / "guardrails").glob("*.json"))
    assert [p.name for p in rendered] == [
        "rcp-evidence.json",
        "scp-governance-account.json",
        "scp-registry.json",
    ]
    for path in rendered:
        text = path.read_text()
        assert "{{" not in text and "111111111111" in text
    rcp = json.loads((bundle / "guardrails" / "rcp-evidence.json").read_text())
    assert "o-exampleorg01" in json.dumps(rcp) and "clearance-bundle-test" in json.dumps(rcp)
    (writers,) = [
        s for s in rcp["Statement"] if s["Sid"] == "OnlyTheRegistryAdminWritesPoliciesAndCode"
    ]
    assert writers["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::111111111111:role/clearance-registry-admin",
        "arn:aws:iam::111111111111:role/governance-admin",
    ]


def test_seed_code_is_the_baked_repository(bundle: Path) -> None:
    """The seed zip's root is the baked repo: buildspec, pipelines package, no template syntax."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    seed = bundle / manifest["files"][manifest["keys"]["seed"]]["path"]
    with zipfile.ZipFile(seed) as archive:
        names = set(archive.namelist())
        assert "codebuild-buildspec.yml" in names
        assert "pipelines/credit_risk/__init__.py" in names
        for name in names:
            data = archive.read(name)
            assert b"{{ cookiecutter" not in data and b"{{cookiecutter" not in data, name


@pytest.mark.slow
def test_package_twice_gives_identical_bundles(bundle: Path, tmp_path: Path) -> None:
    """Same inputs, same bytes: a second `make package` reproduces every file exactly."""
    out = tmp_path / "again"
    assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 0
    first = json.loads((bundle / "manifest.json").read_text())["files"]
    second = json.loads((out / "manifest.json").read_text())["files"]
    assert {k: v["sha256"] for k, v in first.items()} == {k: v["sha256"] for k, v in second.items()}


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--answer", "no_such_question=1"], "--answer"),
        (["--answer", "project_name"], "--answer"),
        (["--team-account-ids", "12345"], "--team-account-ids"),
        (["--governance-account-id", "abc"], "--governance-account-id"),
        (["--governance-account-id", ""], "--governance-account-id"),
        (["--organization-id", "org-1"], "--organization-id"),
        (["--name-prefix", "Bad_Prefix"], "--name-prefix"),
        (["--bundle-bucket", "Not_A_Bucket"], "--bundle-bucket"),
        (["--region", "mars"], "--region"),
    ],
)
def test_bad_input_is_one_error_line_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    """Bad flags: exit 2, one `ERROR: <field>: ...` line (and nothing else), no output."""
    out = tmp_path / "out"
    required = ["--governance-account-id", "111111111111", "--organization-id", "o-exampleorg01"]
    assert package.main(["--out", str(out), *required, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: {field}: "), err
    assert not out.exists()


def test_failed_render_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure after the zips were built removes the partial bundle; the old one stays whole."""
    out = tmp_path / "servicecatalog"
    out.mkdir()
    (out / "stale.json").write_text("{}")

    def refuse(region: str) -> str:
        raise package.PackageError("approval pipeline definition", "broken", "Fix it")

    def tiny_seed(answers: dict[str, Any], zip_path: Path) -> Path:
        # The bake is not under test here; keep this test independent of the template's state.
        seed = tmp_path / "seed.txt"
        seed.write_text("seed\n")
        return package.write_deterministic_zip([("seed.txt", seed)], zip_path)

    monkeypatch.setattr(package, "bake_seed_code", tiny_seed)
    monkeypatch.setattr(package, "render_approval_definition", refuse)
    assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and err[0].startswith("ERROR: approval pipeline definition:"), err
    assert [p.name for p in out.iterdir()] == ["stale.json"]
    assert not out.with_name("servicecatalog.partial").exists()
