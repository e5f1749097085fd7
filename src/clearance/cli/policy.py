"""``clearance policy schema``: the JSON Schema of a policy file, for editors and CI.

Printed to stdout (or written with ``--out``); the same file ships as
``clearance/policy/policies/policy.schema.json`` and default.yaml points editors at it with a
``# yaml-language-server: $schema=policy.schema.json`` comment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clearance.cli.common import EXIT_INVALID
from clearance.policy.schema import schema_text


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["schema"], help="schema: print the policy JSON Schema")
    parser.add_argument("--out", type=Path, default=None, help="write to this file instead")


def run_policy(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"ERROR: --out: cannot write {args.out} ({exc.strerror}). Pick a writable path",
              file=sys.stderr)  # fmt: skip
        return EXIT_INVALID
    return 0
