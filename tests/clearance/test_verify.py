"""Verification: the bundle is digest-checked, scored by the registered model, recomputed."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from bundle_factory import make_bundle, write_archive, write_manifest

from clearance.decide import bundle as bundle_mod
from clearance.decide import verify
from clearance.decide.bundle import BundleError


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def verification(built: tuple[Path, Path]) -> verify.Verification:
    evidence, model = built
    loaded = bundle_mod.load_bundle(evidence, model)
    scores = verify.score(model, loaded.test[list(loaded.features)].to_numpy())
    return verify.recompute_all(loaded, scores, resamples=300)


def test_every_metric_is_recomputed_with_interval_and_group_sizes(verification) -> None:
    post = verification.metrics["bias_post_training"]
    assert {"DPPL", "DI", "RD", "AD", "FT", "GE"} <= set(post)
    dppl = post["DPPL"].to_json()
    assert dppl["interval"]["method"] == "newcombe" and dppl["interval"]["level"] == 0.95
    assert dppl["interval"]["lower"] <= dppl["value"] <= dppl["interval"]["upper"]
    assert sum(dppl["group_sizes"].values()) == dppl["n"] == 400
    assert verification.metrics["model_quality"]["auc"].value > 0.7
    document = verification.to_json()
    assert document["bundle"]["rows"] == {"pre_training": 800, "post_training": 400}
    json.dumps(document, allow_nan=False)  # strict JSON all the way down


@pytest.mark.parametrize(
    ("reported", "recomputed", "expected"),
    [
        (0.012, 0.22, "reported DPL 0.012, recomputed 0.220"),
        (0.1000, 0.10005, None),  # inside the stated 1e-4 tolerance
        (0.1, 0.1002, "reported DPL 0.1000, recomputed 0.1002"),
        (None, 0.1, "reported DPL undefined, recomputed 0.100"),
        (float("inf"), float("inf"), None),
    ],
)
def test_comparison_states_both_numbers(reported, recomputed, expected) -> None:
    from clearance.decide.measure import Measured

    assert verify.compare("DPL", reported, Measured("DPL", recomputed, 10)) == expected


def test_scale_metrics_compare_relatively() -> None:
    from clearance.decide.measure import Measured

    assert verify.compare("mse", 1_000_000.0, Measured("mse", 1_000_000.5, 10)) is None
    assert verify.compare("mse", 1_000_000.0, Measured("mse", 1_000_100.0, 10)) is not None


def _copy(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    evidence, model = built
    shutil.copytree(evidence, tmp_path / "evidence")
    shutil.copy(model, tmp_path / "model.tar.gz")
    return tmp_path / "evidence", tmp_path / "model.tar.gz"


def test_a_split_edited_after_registration_is_refused(built, tmp_path) -> None:
    evidence, model = _copy(built, tmp_path)
    with (evidence / "evaluation/test.csv").open("a") as handle:
        handle.write("1,0.5,0.5,1\n")
    with pytest.raises(BundleError, match="evaluation/test.csv: .*(bytes|sha256)"):
        bundle_mod.load_bundle(evidence, model)


def test_another_model_than_the_evaluated_one_is_refused(built, tmp_path) -> None:
    evidence, _ = _copy(built, tmp_path)
    other = write_archive(b"not the model", tmp_path / "other.tar.gz")
    with pytest.raises(BundleError, match="not the one the team evaluated"):
        bundle_mod.load_bundle(evidence, other)


def test_a_pickled_model_is_never_loaded(tmp_path) -> None:
    archive = write_archive(pickle.dumps({"boom": 1}), tmp_path / "model.tar.gz")
    with pytest.raises(BundleError, match="pickled model"):
        verify.load_booster(archive)


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "a/../../b.csv"])
def test_manifest_paths_cannot_leave_the_bundle(built, tmp_path, path) -> None:
    evidence, model = _copy(built, tmp_path)
    manifest = json.loads((evidence / "manifest.json").read_text())
    manifest["files"][path] = {"sha256": "0" * 64}
    (evidence / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="leaves the bundle"):
        bundle_mod.load_bundle(evidence, model)


def test_clarify_configuration_must_name_the_manifests_facet(built, tmp_path) -> None:
    evidence, model = _copy(built, tmp_path)
    config = json.loads((evidence / "clarify/model_bias.json").read_text())
    config["facet"][0]["name_or_index"] = "income"
    (evidence / "clarify/model_bias.json").write_text(json.dumps(config))
    write_manifest(evidence, model)
    with pytest.raises(BundleError, match="model_bias.json.facet: 'income'"):
        bundle_mod.load_bundle(evidence, model)


def test_missing_manifest_fails_with_the_fix(tmp_path) -> None:
    with pytest.raises(BundleError, match="no manifest.json") as error:
        bundle_mod.load_bundle(tmp_path)
    assert str(error.value).endswith("Register the evidence bundle")


def test_exact_shapley_values_match_kernel_shap_enumerating_every_coalition() -> None:
    import numpy as np
    import shap

    from clearance.decide import shapley

    rng = np.random.default_rng(5)

    def model(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(x[:, 0] * x[:, 1] - 0.5 * x[:, 2] + 0.2 * x[:, 3] ** 2)))

    explain, baseline = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))
    ours = shapley.shapley_values(model, explain, baseline)
    # Efficiency: the values add up to f(x) minus the mean output over the baseline.
    assert np.allclose(ours.sum(axis=1), model(explain) - model(baseline).mean())
    np.random.seed(0)
    kernel = shap.KernelExplainer(model, baseline).shap_values(explain, nsamples=2**4, silent=True)
    assert np.allclose(ours, np.asarray(kernel).reshape(ours.shape), atol=1e-6)


def test_global_shap_is_recomputed_for_every_feature(built) -> None:
    evidence, model = built
    loaded = bundle_mod.load_bundle(evidence, model)
    values = verify.explain(loaded, model, resamples=200)
    assert set(values) == {"income", "debt", "gender"}
    assert values["income"].value > values["gender"].value  # the facet plays no part here
    interval = values["income"].interval
    assert interval is not None and interval.lower <= values["income"].value <= interval.upper
    assert verify.compare("gender", 0.001, values["income"], kind="explainability")
