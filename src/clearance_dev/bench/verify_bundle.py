"""A verification bundle and XGBoost model, built the way the team template builds them.

The bench's verified decision and the tests that need a bundle without baking and running the
template (test_recompute_baked.py covers the real `make local` output) use `make_bundle`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["income", "debt", "gender"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame(rows: int, bias: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gender = (rng.random(rows) < 0.4).astype(int)
    income = rng.normal(0, 1, rows)
    debt = rng.normal(0, 1, rows)
    good = rng.random(rows) < 1 / (1 + np.exp(-(1.5 * income - debt)))
    good &= ~((gender == 1) & (rng.random(rows) < bias))
    return pd.DataFrame(
        {"approved": good.astype(int), "income": income, "debt": debt, "gender": gender}
    )


def write_model(data: pd.DataFrame, path: Path) -> Path:
    import xgboost as xgb

    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 1},
        xgb.DMatrix(data[FEATURES].to_numpy(float), label=data["approved"].to_numpy()),
        num_boost_round=20,
    )
    raw = bytes(booster.save_raw("ubj"))
    return write_archive(raw, path)


def write_archive(raw: bytes, path: Path, member: str = "xgboost-model") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return path


def clarify(methods: dict) -> dict:
    return {
        "dataset_type": "text/csv",
        "headers": ["approved", *FEATURES],
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "gender", "value_or_threshold": [1]}],
        "methods": methods,
    }


def make_bundle(root: Path, rows: int = 400, bias: float = 0.0, seed: int = 3) -> tuple[Path, Path]:
    """(bundle directory, model.tar.gz) for a generated split; the model is trained on it."""
    train = frame(rows * 2, bias, seed)
    test = frame(rows, bias, seed + 1)
    model = write_model(train, root / "model" / "model.tar.gz")
    evidence = root / "evidence"
    (evidence / "evaluation").mkdir(parents=True)
    (evidence / "clarify").mkdir()
    test[["approved", *FEATURES]].to_csv(evidence / "evaluation/test.csv", index=False)
    train[["approved", "gender"]].to_csv(evidence / "evaluation/train.csv", index=False)
    for name in ("data_bias", "model_bias"):
        (evidence / f"clarify/{name}.json").write_text(json.dumps(clarify({name: "all"})))
    write_manifest(evidence, model)
    return evidence, model


def write_manifest(evidence: Path, model: Path, **changes: object) -> Path:
    files = sorted(str(p.relative_to(evidence)) for p in evidence.rglob("*") if p.is_file())
    manifest = {
        "version": 1,
        "problem_type": "binary_classification",
        "label": {"name": "approved", "values_or_threshold": [1], "threshold": False},
        "facet": {"name": "gender", "values_or_threshold": [1], "threshold": False},
        "features": FEATURES,
        "probability_threshold": 0.5,
        "splits": {"pre_training": "evaluation/train.csv", "post_training": "evaluation/test.csv"},
        "files": {
            name: {"sha256": sha(evidence / name), "bytes": (evidence / name).stat().st_size}
            for name in files
            if name != "manifest.json"
        },
        "model": {"sha256": sha(model)},
        **changes,
    }
    path = evidence / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path
