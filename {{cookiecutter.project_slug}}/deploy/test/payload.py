"""Write the staging checks' payload: feature rows in the serving contract (text/csv, no header,
no label, schema.FEATURES order, facet encoded as preprocess.py encodes it).

    python deploy/test/payload.py --rows 200 --out build/payload.csv

The rows are fresh sample data passed through the same preprocess.transform as the training data,
so they are what the endpoint sees in production, not rows it was trained on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import sample_data
from pipelines.{{ cookiecutter.module_name }} import preprocess, schema


def payload_rows(rows: int = 200, seed: int = 7) -> list[str]:
    """CSV lines of schema.FEATURES values, one per request row."""
    data = preprocess.transform(sample_data.generate(rows, 0.0, seed))
    return [",".join(repr(float(v)) for v in row) for row in data[schema.FEATURES].to_numpy()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("build/payload.csv"))
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(payload_rows(args.rows, args.seed)) + "\n", encoding="utf-8")
    print(f"wrote {args.rows} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
