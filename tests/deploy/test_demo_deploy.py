"""The demo's deploy stage on the stand-in: approved deployed and checked, the others refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from clearance_dev.demo import deploy as demo_deploy
from clearance_dev.demo.deploy_swap import PERMISSIVE_CONSTRAINTS, baseline_line

from .conftest import BASELINE_COPIES, DRIFT, GOV_BUCKET, MODEL_DATA_URL, World, checks_bytes

TEMPLATE_DEPLOY = Path(__file__).resolve().parents[2] / ("{" + "{cookiecutter.project_slug}}")


def _build_dir(root: Path, archive: Path, x: np.ndarray) -> Path:
    build = root / "build"
    (build / "model").mkdir(parents=True)
    shutil.copyfile(archive, build / "model" / "model.tar.gz")
    (build / "data").mkdir()
    lines = [",".join(["1", *(repr(float(v)) for v in row)]) for row in x[:100]]
    (build / "data" / "test.csv").write_text("\n".join(lines) + "\n")
    return build


def _baked(root: Path) -> Path:
    baked = root / "baked"
    shutil.copytree(
        TEMPLATE_DEPLOY / "deploy", baked / "deploy", ignore=shutil.ignore_patterns("*.py")
    )
    return baked


def test_stage_deploys_the_approved_and_refuses_rejected_and_forged(
    world: World,
    artifact,
    tmp_path: Path,
) -> None:
    path, x, _ = artifact
    build = _build_dir(tmp_path, path, x)
    fair = world.register(drift=DRIFT)
    # copy-artifacts' copy of the real model: what Verify scored and the deploy serves.
    world.models[fair] = world.copy_model("team-fair", path.read_bytes())
    world.approve(fair)
    biased = world.register(drift=DRIFT)
    world.put_checks(biased, checks_bytes(biased, decision="Rejected"))
    world.gov_sm.update_model_package(ModelPackageArn=biased, ModelApprovalStatus="Rejected")
    notes: list[str] = []
    swapped_bytes = b"not a model: the team's swap after the approval"

    def swap(arn: str) -> dict:
        # The team overwrites its model.tar.gz; copy-artifacts copies the new version.
        pin = world.copy_model("team-swapped", swapped_bytes)
        # ...and loosens constraints.json; copy-artifacts copies it next to the approved copy.
        loose = BASELINE_COPIES["Constraints"].rsplit("/", 1)[0] + "/team-v2"
        world.gov_s3.put_object(Bucket=GOV_BUCKET, Key=loose, Body=PERMISSIVE_CONSTRAINTS)
        baseline = {
            "team_object": DRIFT["ModelDataQuality"]["Constraints"]["S3Uri"],
            "sha256": hashlib.sha256(PERMISSIVE_CONSTRAINTS).hexdigest(),
        }
        return {
            "team_object": MODEL_DATA_URL,
            "sha256": pin["model_sha256"],
            "swapped_in": "x",
            "baseline": baseline,
        }

    summary = demo_deploy.run(
        world.gov_sm,
        world.gov_s3,
        world.admin_sm,
        [
            demo_deploy.Candidate("fair", fair, build),
            demo_deploy.Candidate("biased", biased, build),
        ],
        _baked(tmp_path),
        world.config,
        project="credit-risk-p-abc123",
        role_arn="arn:aws:iam::111111111111:role/model",
        capture_uri="s3://team/capture",
        monitoring={
            "role_arn": "arn:aws:iam::111111111111:role/monitor",
            "output_s3_uri": "s3://team/monitoring",
            "region": "us-east-1",
            "governance_bucket": GOV_BUCKET,
        },
        note=notes.append,
        requests=40,
        swap=swap,
    )
    refused = {r["label"]: r["code"] for r in summary["refused"]}
    assert refused == {"biased": "not-approved", "hand-approved": "approver-not-governance"}
    assert summary["staging_report"]["outcome"] == "pass", summary["staging_report"]
    assert summary["local_endpoint"]["invocations"] >= 41
    assert summary["deployed"]["prod"]["status"] == "created"
    assert summary["rollback"]["status"] == "rolled-back"
    assert summary["rollback"]["serving_after"] == summary["deployed"]["prod"]["endpoint_config"]
    assert any("REFUSED ERROR: LastModifiedBy" in n for n in notes)
    # The swap changed nothing: the endpoint served the verified governance copy.
    verified = hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["swap"]["gate"] == "allowed"
    assert summary["served_model"]["sha256"] == verified == summary["swap"]["deployed_sha256"]
    assert summary["swap"]["sha256"] == hashlib.sha256(swapped_bytes).hexdigest() != verified
    assert summary["served_model"]["s3_uri"] == world.models[fair]["model_read_from"]
    model = world.gov_sm.describe_model(ModelName=summary["deployed"]["prod"]["endpoint_config"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == world.models[fair]["model_read_from"]
    # The schedule's baseline is the approved governance copy (pinned by the registered digest).
    monitoring = summary["staging_report"]["monitoring"]
    assert (
        monitoring["baseline"]["constraints"]
        == f"s3://{GOV_BUCKET}/" + (BASELINE_COPIES["Constraints"])
    )
    assert demo_deploy.as_expected(summary)
    assert "monitors with the approved copy" in baseline_line(summary)
    loosened = json.loads(json.dumps(summary))
    loosened["staging_report"]["monitoring"]["baseline_pinned"]["constraints"]["sha256"] = summary[
        "swap"
    ]["baseline"]["sha256"]
    assert not demo_deploy.as_expected(loosened)
    served_swapped = {**summary["served_model"], "sha256": summary["swap"]["sha256"]}
    assert not demo_deploy.as_expected({**summary, "served_model": served_swapped})
    assert any("not the swapped bytes" in n for n in notes)
