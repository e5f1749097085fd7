"""DigestReports: the sha256 of every report the package registers, for its ContentDigest.

Runs as the pipeline's DigestReports step (the scikit-learn processing image) after the checks:

    python digest.py [--input-dir /opt/ml/processing/reports] \
        [--output-dir /opt/ml/processing/digests]

Each input channel (one per ModelMetrics slot, named after it) holds exactly the one report object
the package will point at; digests.json maps each channel to ``sha256:<64 hex>`` (the API's
ContentDigest form). RegisterModel reads it (JsonGet), so the registered digest is that of the bytes
the checks wrote: the governance approval reads its own copy of those bytes, found by this digest,
and refuses a report that changed. A channel with no file or several stops the step (exit 1, one
ERROR line): nothing is registered without its digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

PROCESSING_ROOT = Path("/opt/ml/processing")
CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digests(input_dir: Path) -> dict[str, str]:
    """{channel: "sha256:<hex>"}; raises ValueError for a channel without exactly one file."""
    out: dict[str, str] = {}
    for channel in sorted(p for p in input_dir.iterdir() if p.is_dir()):
        files = sorted(f for f in channel.rglob("*") if f.is_file())
        if len(files) != 1:
            names = ", ".join(f.name for f in files) or "none"
            raise ValueError(f"{channel.name}: expected one report, found {len(files)} ({names})")
        out[channel.name] = f"sha256:{sha256_of(files[0])}"
    if not out:
        raise ValueError(f"{input_dir}: no report channels")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=PROCESSING_ROOT / "reports")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING_ROOT / "digests")
    args = parser.parse_args(argv)
    try:
        found = digests(args.input_dir)
    except (OSError, ValueError) as exc:
        print(f"ERROR: reports: {exc}. Check the upstream check steps' outputs", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "digests.json").write_text(
        json.dumps(found, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    for name, value in found.items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
