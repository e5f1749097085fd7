"""The verification bundle a model package carries, read and checked against its manifest.

Beside its Clarify and Model Monitor reports, a package registered by the team template carries,
under its own evidence prefix (locally OUT/evidence/, on AWS s3://<bucket>/<run prefix>/evidence/):

    manifest.json                  what follows, with the sha256 and size of every file
    evaluation/test.csv            the split the team scored (header: label, then the model's
                                   features in input order, the facet among them)
    evaluation/train.csv           label and facet of the training split (pre-training bias)
    clarify/data_bias.json         the Clarify analysis configurations the team's checks ran with
    clarify/model_bias.json

manifest.json (version 1)::

    {"version": 1, "problem_type": "binary_classification" | "regression",
     "label": {"name", "values_or_threshold": [...], "threshold": bool},
     "facet": {"name", "values_or_threshold": [...], "threshold": bool},
     "features": [model input columns, in order], "probability_threshold": 0.5,
     "splits": {"pre_training": "evaluation/train.csv", "post_training": "evaluation/test.csv"},
     "files": {"<relative path>": {"sha256": hex, "bytes": int}, ...},
     "model": {"sha256": hex}}

The manifest's own sha256 is what the registry pins; every file it lists must match its digest and
size, and `model.sha256` must match the artifact the registry names, so a split or model swapped
after registration is refused. The Clarify configurations must name the same label, facet and
values as the manifest: a verifier that read other columns than Clarify did would compare apples
with pears. Every problem is a `BundleError` with field, problem and fix; nothing is trusted.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

MANIFEST = "manifest.json"
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ROWS = 5_000_000
PROBLEM_TYPES = ("binary_classification", "regression")


class BundleError(ValueError):
    """An unusable bundle: ``str()`` is ``<field>: <problem>. <fix>``."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem}. {fix}")


@dataclass(frozen=True)
class Column:
    name: str
    values_or_threshold: tuple[Any, ...]
    threshold: bool


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    problem_type: str
    label: Column
    facet: Column
    features: tuple[str, ...]
    probability_threshold: float
    test: pd.DataFrame
    train: pd.DataFrame
    model_sha256: str

    def summary(self) -> dict[str, Any]:
        """What checks.json records about the bundle it verified."""
        return {
            "manifest_sha256": self.manifest_sha256,
            "model_sha256": self.model_sha256,
            "facet": self.facet.name,
            "label": self.label.name,
            "rows": {"pre_training": len(self.train), "post_training": len(self.test)},
        }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _column(manifest: dict[str, Any], key: str) -> Column:
    raw = manifest.get(key)
    fix = f'Write "{key}": {{"name", "values_or_threshold": [...], "threshold": bool}}'
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise BundleError(f"manifest.{key}", "missing or without a name", fix)
    values = raw.get("values_or_threshold")
    threshold = raw.get("threshold")
    if not isinstance(values, list) or not values or not isinstance(threshold, bool):
        raise BundleError(f"manifest.{key}", "needs values_or_threshold and threshold", fix)
    if threshold and (len(values) != 1 or not _finite(values[0])):
        raise BundleError(f"manifest.{key}", "a threshold is one finite number", fix)
    return Column(raw["name"], tuple(values), threshold)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _member(root: Path, relative: Any) -> Path:
    """ROOT/RELATIVE, refusing anything that is not a plain relative path inside ROOT."""
    if not isinstance(relative, str) or not relative:
        raise BundleError("manifest.files", f"{relative!r} is not a path", "List relative paths")
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise BundleError(
            "manifest.files", f"{relative!r} leaves the bundle", "Use paths inside the bundle"
        )
    return root.joinpath(*parts)


def _checked_files(root: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleError("manifest.files", "missing or empty", "List every file with its sha256")
    out: dict[str, Path] = {}
    for relative, entry in files.items():
        path = _member(root, relative)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BundleError(f"manifest.files.{relative}", "no sha256", "Record its sha256")
        if not path.is_file():
            raise BundleError(f"manifest.files.{relative}", "not in the bundle", "Upload it")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES or entry.get("bytes") not in (None, size):
            raise BundleError(
                f"manifest.files.{relative}",
                f"{size} bytes (manifest: {entry.get('bytes')}, cap {MAX_FILE_BYTES})",
                "Re-register the package; evidence is immutable after registration",
            )
        actual = sha256_file(path)
        if actual != entry["sha256"].lower():
            raise BundleError(
                f"manifest.files.{relative}",
                f"sha256 {actual[:12]}... differs from the manifest's {entry['sha256'][:12]}...",
                "The file changed after registration; re-register the package",
            )
        out[relative] = path
    return out


def _read_split(path: Path, needed: list[str], where: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, nrows=MAX_ROWS + 1)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise BundleError(where, f"unreadable CSV ({exc})", "Write a CSV with a header") from None
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise BundleError(where, f"lacks columns {missing}", "Write the manifest's columns")
    if len(frame) > MAX_ROWS:
        raise BundleError(where, f"more than {MAX_ROWS} rows", "Verify on a sample split")
    return frame


def _clarify_agrees(config: Any, label: Column, facet: Column, where: str) -> None:
    """The Clarify analysis configuration names the manifest's label, facet and values."""
    fix = "Register the analysis configuration the checks ran with"
    if not isinstance(config, dict):
        raise BundleError(where, "not a JSON object", fix)
    facets = config.get("facet")
    first = facets[0] if isinstance(facets, list) and facets else {}
    seen = {
        "label": config.get("label"),
        "label_values_or_threshold": config.get("label_values_or_threshold"),
        "facet": first.get("name_or_index") if isinstance(first, dict) else None,
        "facet_values_or_threshold": first.get("value_or_threshold")
        if isinstance(first, dict)
        else None,
    }
    expected = {
        "label": label.name,
        "label_values_or_threshold": list(label.values_or_threshold),
        "facet": facet.name,
        "facet_values_or_threshold": list(facet.values_or_threshold),
    }
    for key, value in expected.items():
        if seen[key] != value:
            raise BundleError(
                f"{where}.{key}", f"{seen[key]!r} but the manifest says {value!r}", fix
            )


def load_bundle(root: Path, model_archive: Path | None = None) -> Bundle:
    """Read ROOT/manifest.json, check every digest (and the model's), parse both splits."""
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise BundleError("evidence", f"no {MANIFEST} in {root}", "Register the evidence bundle")
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError("manifest", f"not JSON ({exc})", "Write the manifest as JSON") from None
    if not isinstance(manifest, dict) or manifest.get("version") != 1:
        raise BundleError("manifest.version", "expected version 1", "Write a version 1 manifest")
    problem = manifest.get("problem_type")
    if problem not in PROBLEM_TYPES:
        raise BundleError("manifest.problem_type", f"{problem!r}", f"Use one of {PROBLEM_TYPES}")
    label, facet = _column(manifest, "label"), _column(manifest, "facet")
    features = manifest.get("features")
    if not isinstance(features, list) or not features or facet.name not in features:
        raise BundleError("manifest.features", "missing or without the facet", "List the inputs")
    threshold = manifest.get("probability_threshold", 0.5)
    if not _finite(threshold):
        raise BundleError("manifest.probability_threshold", "not a number", "Write e.g. 0.5")
    files = _checked_files(root, manifest)
    splits = manifest.get("splits") or {}
    paths = {}
    for stage in ("pre_training", "post_training"):
        if splits.get(stage) not in files:
            raise BundleError(f"manifest.splits.{stage}", "not a listed file", "List the split")
        paths[stage] = files[splits[stage]]
    for name, where in (
        ("data_bias", "clarify/data_bias.json"),
        ("model_bias", "clarify/model_bias.json"),
    ):
        if where not in files:
            raise BundleError(f"manifest.files.{where}", "missing", f"Register the {name} config")
        try:
            config = json.loads(files[where].read_bytes())
        except (UnicodeDecodeError, ValueError):
            raise BundleError(where, "not JSON", "Register Clarify's analysis config") from None
        _clarify_agrees(config, label, facet, where)
    model = manifest.get("model") or {}
    model_sha = str(model.get("sha256", "")).lower()
    if model_archive is not None and sha256_file(model_archive) != model_sha:
        raise BundleError(
            "manifest.model.sha256",
            "the registered model artifact is not the one the team evaluated",
            "Register the package again from one pipeline run",
        )
    test = _read_split(paths["post_training"], [label.name, *features], "evaluation split")
    train = _read_split(paths["pre_training"], [label.name, facet.name], "training split")
    return Bundle(
        root=root,
        manifest=manifest,
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        problem_type=problem,
        label=label,
        facet=facet,
        features=tuple(features),
        probability_threshold=float(threshold),
        test=test,
        train=train,
        model_sha256=model_sha,
    )


def masks(bundle: Bundle, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Facet and label masks of FRAME as Clarify derives them from the bundle's configuration."""
    from clearance.decide.recompute import positive_mask

    facet = positive_mask(
        frame[bundle.facet.name].to_numpy(),
        bundle.facet.values_or_threshold,
        bundle.facet.threshold,
    )
    label = positive_mask(
        frame[bundle.label.name].to_numpy(),
        bundle.label.values_or_threshold,
        bundle.label.threshold,
    )
    return facet, label
