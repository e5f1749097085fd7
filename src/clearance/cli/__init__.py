"""``clearance``: check reports against a policy, locally or against the model registry.

    clearance check --policy P [--bias-pre F] [--bias-post F] [--explainability F] [--quality F]
                    [--llm F] --out checks.json [--json]
    clearance evaluate --model-package-arn ARN --policy P [--allowed-bucket B ...] [--out F]
    clearance approve  --model-package-arn ARN --policy P [--allowed-bucket B ...] [--out F]

    clearance report | audit | reevaluate ...   (clearance.cli.evidence)
    clearance deploy-gate | endpoint-check ...  (clearance.cli.deploy)

``evaluate`` and ``approve`` talk to whatever boto3 is configured for, including
``AWS_ENDPOINT_URL`` (honoured natively by botocore >= 1.31).

Exit codes, the same for every command and for both approval pipeline steps
(:mod:`clearance.contract.exitcodes`):

    0  ok / Approved          1  Rejected
    2  usage, policy or input error (one ``ERROR: <field>: <problem>. <fix>`` line, nothing written)
    3  an AWS call failed (nothing decided)

Subcommands: :data:`SUBCOMMANDS` (``clearance.cli.check``) plus ``clearance.cli.evidence``'s
``register(subparsers)`` (``report``, ``audit``, ``reevaluate``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from clearance.cli import deploy, evidence
from clearance.cli.check import (
    add_check_arguments,
    add_registry_arguments,
    run_approve,
    run_check,
    run_evaluate,
)
from clearance.cli.common import EXIT_INVALID, Subcommand, _Parser
from clearance.cli.policy import add_policy_arguments, run_policy

__all__ = ["SUBCOMMANDS", "Subcommand", "build_parser", "main"]

# ---------------------------------------------------------------------------------- wiring

SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "check",
        "check local report files against a policy and write checks.json",
        add_check_arguments,
        run_check,
    ),
    Subcommand(
        "evaluate",
        "evaluate a registered model package's reports (no change to the registry)",
        add_registry_arguments,
        run_evaluate,
    ),
    Subcommand(
        "approve",
        "evaluate a model package, then record Approved/Rejected in the registry",
        add_registry_arguments,
        run_approve,
    ),
    Subcommand(
        "policy",
        "policy tools: `clearance policy schema` prints the policy file's JSON Schema",
        add_policy_arguments,
        run_policy,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clearance",
        description="Policy-as-code approval of SageMaker model packages.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    seen: set[str] = set()
    for command in SUBCOMMANDS:
        if command.name in seen:
            continue
        seen.add(command.name)
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)
    evidence.register(subparsers)
    deploy.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("CLEARANCE_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
