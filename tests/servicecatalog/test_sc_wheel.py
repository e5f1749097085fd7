"""The Verify step's pinned xgboost-cpu wheel in the bundle: packaged beside the approval code,
uploaded by publish.py where the rendered definition's `wheels` input looks, and refused when it
is missing or is not the pinned file (one line, nothing written). Offline: the session's stand-in
wheel (conftest.stand_in_wheel) replaces PyPI's file and its digest replaces the pin."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import package
import publish
import pytest
from sc_helpers import BUNDLE_ARGS, load_template

from clearance.pipeline import wheels
from clearance_dev.standin import LocalAWS

BUCKET = "clearance-bundle-test"


def _verify_wheel_uri(bundle: Path) -> str:
    """The Verify step's `wheels` input with the template's parameter defaults filled in."""
    template = load_template(bundle / "governance-product.json")
    body = template["Resources"]["ApprovalPipeline"]["Properties"]["PipelineDefinition"]
    definition = json.loads(body["PipelineDefinitionBody"]["Fn::Sub"])
    (verify,) = [s for s in definition["Steps"] if s["Name"] == "Verify"]
    inputs = {i["InputName"]: i["S3Input"] for i in verify["Arguments"]["ProcessingInputs"]}
    uri = inputs["wheels"]["S3Uri"]
    for name in ("BundleBucket", "ApprovalCodePrefix"):
        uri = uri.replace(f"${{{name}}}", template["Parameters"][name]["Default"])
    return uri


def test_the_wheel_is_packaged_beside_the_approval_code(bundle: Path, stand_in_wheel: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    key = manifest["keys"]["xgboost-wheel"]
    assert key == wheels.wheel_key(manifest["keys"]["approval"])
    assert key.rsplit("/", 2)[0] + "/clearance.zip" == manifest["keys"]["approval"]
    entry = manifest["files"][key]
    assert entry["sha256"] == wheels.XGBOOST_SHA256 == wheels.sha256_file(stand_in_wheel)
    assert (bundle / entry["path"]).read_bytes() == stand_in_wheel.read_bytes()
    assert _verify_wheel_uri(bundle) == f"s3://{BUCKET}/{key}"


@pytest.fixture()
def aws() -> Iterator[LocalAWS]:
    with LocalAWS(region="us-east-1") as local:
        yield local


def test_publish_uploads_the_wheel_where_verify_reads_it(aws: LocalAWS, bundle: Path) -> None:
    assert publish.main(["--bundle", str(bundle), "--upload-only", "--create-bucket"]) == 0
    bucket, _, key = _verify_wheel_uri(bundle).removeprefix("s3://").partition("/")
    s3 = aws.client("s3")
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"] == wheels.XGBOOST_SHA256
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == wheels.XGBOOST_SHA256


def test_publish_refuses_a_bundle_without_the_wheel(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    shutil.copytree(bundle, old)
    manifest = json.loads((old / "manifest.json").read_text())
    key = manifest["keys"].pop("xgboost-wheel")
    manifest["files"].pop(key)
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert publish.main(["--bundle", str(old), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "ERROR: --bundle: manifest.json has no xgboost-wheel"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"a swapped wheel", f"--wheel-dir: {wheels.XGBOOST_WHEEL} has sha256 "),
        (None, "--wheel-dir: "),
    ],
)
def test_a_missing_or_mismatching_wheel_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, problem: str
) -> None:
    wheel_dir = tmp_path / "wheels"
    wheel_dir.mkdir()
    if content is not None:
        (wheel_dir / wheels.XGBOOST_WHEEL).write_bytes(content)
    out = tmp_path / "servicecatalog"
    argv = ["--out", str(out), *BUNDLE_ARGS, "--wheel-dir", str(wheel_dir)]
    assert package.main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and err[0].startswith(f"ERROR: {problem}"), err
    assert not out.exists() and not out.with_name("servicecatalog.partial").exists()


def test_a_pin_that_disagrees_with_requirements_txt_stops_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(wheels, "XGBOOST_VERSION", "0.0.1")
    out = tmp_path / "servicecatalog"
    assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and err[0].startswith("ERROR: requirements.txt: pins xgboost-cpu=="), err
    assert not out.exists()
