"""Print the authorization matrix (principals x dangerous actions) as decided by the simulator.

python tests/authz/authz_report.py        # needs Node and `npm ci --prefix tools/authz`
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from authz_cases import DANGEROUS_ACTIONS, MATRIX_PRINCIPALS, matrix_summary  # noqa: E402


def main() -> int:
    rows = {(r["principal"], r["action"]): r for r in matrix_summary()}
    width = max(len(a) for a in DANGEROUS_ACTIONS)
    print(f"{'':<{width}}  " + "  ".join(f"{p:>19}" for p in MATRIX_PRINCIPALS))
    wrong = 0
    for action in DANGEROUS_ACTIONS:
        cells = []
        for principal in MATRIX_PRINCIPALS:
            row = rows.get((principal, action))
            if row is None:
                cells.append(f"{'n/a':>19}")
                continue
            wrong += not row["as_designed"]
            text = "DENIED" if not row["allowed"] else f"{row['allowed']}/{row['calls']} allowed"
            cells.append(f"{text + ('' if row['as_designed'] else ' !'):>19}")
        print(f"{action:<{width}}  " + "  ".join(cells))
    calls = sum(int(r["calls"]) for r in rows.values())
    denied = sum(int(r["denied"]) for r in rows.values())
    print(
        f"{len(MATRIX_PRINCIPALS)} principals x {len(DANGEROUS_ACTIONS)} actions,"
        f" {len(rows)} cells, {calls} calls: {denied} denied,"
        f" {calls - denied} allowed (the approval role deciding)"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
