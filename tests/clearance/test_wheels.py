"""The Verify step's pinned xgboost-cpu wheel: one pin, checked by sha256 before pip ever runs, and
installed offline by hash. No network: a tiny stand-in wheel of the pinned name stands in for
PyPI's file where an install is exercised (clearance_dev.wheels.stand_in_wheel)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
from bundle_factory import make_bundle, write_manifest

from clearance.contract.status import REJECTED
from clearance.decide import checks
from clearance.pipeline import definition, wheels
from clearance.pipeline.steps import EXIT_FAILED
from clearance.pipeline.steps import verify as verify_step
from clearance_dev import wheels as dev_wheels

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pin() -> str:
    text = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    (version,) = re.findall(r"^xgboost-cpu==(\S+)$", text, re.MULTILINE)
    return version


def test_the_wheel_is_the_one_requirements_txt_pins() -> None:
    """One source of truth: the version, the wheel name and the definition all follow the pin."""
    version = _pin()
    assert wheels.XGBOOST_VERSION == version == dev_wheels.pinned_version()
    expected = f"xgboost_cpu-{version}-py3-none-manylinux_2_28_x86_64.whl"
    assert wheels.XGBOOST_WHEEL == definition.XGBOOST_WHEEL == expected
    assert re.fullmatch(r"[0-9a-f]{64}", wheels.XGBOOST_SHA256)
    assert 1_000_000 < wheels.XGBOOST_SIZE < 50_000_000


def test_a_pin_that_disagrees_with_requirements_txt_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wheels, "XGBOOST_VERSION", "9.9.9")
    with pytest.raises(wheels.WheelError) as error:
        dev_wheels.pinned_version()
    assert str(error.value).startswith(f"requirements.txt: pins xgboost-cpu=={_pin()} but ")


def test_the_wheel_key_sits_beside_the_code_bundle() -> None:
    code = "s3://bundle/clearance/0.1.0/approval/0123/clearance.zip"
    assert wheels.wheel_key(code) == (
        f"s3://bundle/clearance/0.1.0/approval/0123/wheels/{wheels.XGBOOST_WHEEL}"
    )
    assert wheels.wheel_key("clearance.zip") == f"wheels/{wheels.XGBOOST_WHEEL}"


def test_the_rendered_verify_step_downloads_exactly_the_pinned_wheel() -> None:
    body = definition.get_definition(
        "us-east-1",
        "arn:aws:iam::222222222222:role/approval",
        "gov-bucket",
        code_s3_uri="s3://bundle/clearance/approval/abc/clearance.zip",
    )
    (verify,) = [s for s in body["Steps"] if s["Name"] == definition.VERIFY_STEP]
    inputs = {i["InputName"]: i["S3Input"] for i in verify["Arguments"]["ProcessingInputs"]}
    assert inputs["wheels"]["S3Uri"] == (
        f"s3://bundle/clearance/approval/abc/wheels/{wheels.XGBOOST_WHEEL}"
    )
    assert inputs["wheels"]["LocalPath"] == str(definition.WHEELS_DIR)
    with pytest.raises(ValueError, match="wheel_s3_uri"):
        definition.get_approval_pipeline(
            "us-east-1", "arn:aws:iam::1:role/r", "b", wheel_s3_uri="s3://b/wheels/"
        )


@pytest.fixture()
def no_xgboost(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The image lacks XGBoost; pip calls are recorded, never run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(wheels, "_importable", lambda: False)

    def record(command: list[str], **_: object) -> None:
        calls.append(command)
        raise AssertionError("pip must not run for a refused wheel")

    monkeypatch.setattr(wheels.subprocess, "run", record)
    return calls


def test_ensure_xgboost_refuses_a_swapped_wheel_before_pip_runs(
    tmp_path: Path, no_xgboost: list[list[str]]
) -> None:
    (tmp_path / wheels.XGBOOST_WHEEL).write_bytes(b"not PyPI's file")
    with pytest.raises(wheels.WheelError) as error:
        verify_step.ensure_xgboost(tmp_path)
    message = str(error.value)
    assert message.startswith(f"wheels: {wheels.XGBOOST_WHEEL} has sha256 ")
    assert f"not the pinned {wheels.XGBOOST_SHA256}" in message
    assert no_xgboost == []


def test_ensure_xgboost_refuses_a_missing_wheel_or_directory(
    tmp_path: Path, no_xgboost: list[list[str]]
) -> None:
    with pytest.raises(wheels.WheelError, match=f"wheels: {wheels.XGBOOST_WHEEL} is missing"):
        verify_step.ensure_xgboost(tmp_path)
    with pytest.raises(wheels.WheelError, match="--wheels: XGBoost is not in the image"):
        verify_step.ensure_xgboost(None)
    assert no_xgboost == []


def test_ensure_xgboost_uses_the_image_when_it_has_xgboost(tmp_path: Path) -> None:
    """This venv has XGBoost: nothing is checked or installed (an empty directory is fine)."""
    assert verify_step.ensure_xgboost(tmp_path) == "image"


def test_install_is_offline_by_hash_and_installs_the_checked_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real pip, --no-index --no-deps --require-hashes, into a target directory."""
    wheel = dev_wheels.stand_in_wheel(tmp_path / "wheels")
    monkeypatch.setattr(wheels, "XGBOOST_SHA256", wheels.sha256_file(wheel))
    command = wheels.install_command(wheel.parent, tmp_path / "r.txt")
    assert {"--no-index", "--no-deps", "--require-hashes"} <= set(command)
    wheels.install(wheel.parent, ["--target", str(tmp_path / "site")])
    installed = (tmp_path / "site" / "xgboost" / "__init__.py").read_text()
    assert "STAND_IN = True" in installed


def test_pip_itself_refuses_a_wheel_that_does_not_match_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--require-hashes is a second lock: with our own check bypassed, pip still refuses."""
    wheel = dev_wheels.stand_in_wheel(tmp_path / "wheels")
    monkeypatch.setattr(wheels, "check_wheel", lambda path, field="wheels": "")
    with pytest.raises(wheels.WheelError, match="pip could not install"):
        wheels.install(wheel.parent, ["--target", str(tmp_path / "site")])
    assert not (tmp_path / "site" / "xgboost").exists()


def test_the_verify_step_fails_closed_with_one_line_on_a_swapped_wheel(
    tmp_path: Path, no_xgboost: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The execution fails (the package stays pending, the alarm fires); nothing is written."""
    policy = REPO_ROOT / "src" / "clearance" / "policy" / "policies" / "default.yaml"
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / wheels.XGBOOST_WHEEL).write_bytes(b"swapped")
    out = tmp_path / "out"
    arn = "arn:aws:sagemaker:us-east-1:222222222222:model-package/111111111111-a-p-abc/1"
    argv = ["--model-package-arn", arn, "--policy", str(policy), "--output-dir", str(out)]
    code = verify_step.main([*argv, "--wheels", str(tmp_path / "wheels")], clients=(None, None))
    assert code == EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[0].startswith(f"ERROR: wheels: {wheels.XGBOOST_WHEEL} has")
    assert not out.exists()


def test_a_non_xgboost_model_is_rejected_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only XGBoost artifacts are scored: a scikit-learn model.tar.gz, pinned by the team's own
    manifest, fails verification closed and every verifiable rule says why (Rejected)."""
    from test_verified import honest_reports
    from test_verified import policy as verified_policy

    root, xgb_model = make_bundle(tmp_path / "b", rows=300)
    policy = verified_policy()
    reports = honest_reports(verify_step.verify_local(root, xgb_model, policy, resamples=100))
    model = tmp_path / "sklearn.tar.gz"
    payload = tmp_path / "model.joblib"
    payload.write_bytes(b"joblib bytes")
    with tarfile.open(model, "w:gz") as tar:
        tar.add(payload, arcname="model.joblib")
    write_manifest(root, model)  # the manifest pins this artifact: only its type is wrong
    monkeypatch.setattr(verify_step.registry, "fetch_bundle_pinned", lambda *_: (root, model, {}))
    verification, reason = verify_step.recompute(None, {}, [], policy, 100)
    assert verification is None and reason is not None
    assert reason.startswith("model: cannot read xgboost-model") and "built-in XGBoost" in reason
    arn = "arn:aws:sagemaker:us-east-1:222222222222:model-package/g/1"
    decision = checks.evaluate(policy, reports, arn, verification_error=reason)
    assert decision.decision == REJECTED
    assert decision.checks
    assert all(c.reason.startswith(f"verification failed: {reason}") for c in decision.checks)


@pytest.mark.parametrize("offline_copy", [True, False])
def test_the_demo_uploads_the_wheel_through_publishs_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline_copy: bool
) -> None:
    """The demo puts the wheel where the definition's Verify input looks (beside the code key),
    with publish.py's upload (sha256 metadata); a stand-in only without an offline real copy."""
    import boto3
    from moto import mock_aws

    from clearance_dev.demo import verification

    copy = dev_wheels.stand_in_wheel(tmp_path / "copy")
    if offline_copy:  # stands in for PyPI's file: its digest is the pin for this test
        monkeypatch.setattr(wheels, "XGBOOST_SHA256", wheels.sha256_file(copy))
        monkeypatch.setenv("CLEARANCE_WHEEL_DIR", str(copy.parent))
    else:
        monkeypatch.delenv("CLEARANCE_WHEEL_DIR", raising=False)
        monkeypatch.setattr(dev_wheels, "CACHE_DIR", tmp_path / "empty-cache")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="gov")
        note = verification.upload_wheels(s3, "gov", "p/code/clearance.zip", tmp_path / "scratch")
        key = f"p/code/wheels/{wheels.XGBOOST_WHEEL}"
        head = s3.head_object(Bucket="gov", Key=key)
    assert note.startswith(f"s3://gov/{key}: ")
    assert ("STAND-IN" in note) is not offline_copy
    assert head["Metadata"]["sha256"] == wheels.sha256_file(copy)
