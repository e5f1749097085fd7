"""What every command shares: exit codes, the one-line error, the parser, output formatting."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.contract import exitcodes, fmt
from clearance.contract.args import ArgumentParser
from clearance.contract.errors import ClearanceError, aws_reason, error_line
from clearance.decide.checks import Decision
from clearance.policy import Policy, load_policy, resolve_policy

LOG = logging.getLogger("clearance.cli")

EXIT_APPROVED = exitcodes.APPROVED
EXIT_REJECTED = exitcodes.REJECTED
EXIT_INVALID = exitcodes.USAGE
EXIT_AWS = exitcodes.AWS
ALLOWED_BUCKETS_ENV = "CLEARANCE_ALLOWED_BUCKETS"


@dataclass(frozen=True)
class Subcommand:
    """One ``clearance <name>`` subcommand."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(ClearanceError):
    """Bad input: ``str()`` is ``<field>: <problem>. <fix>``."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(field, problem, fix)


# The one parser helper (clearance.contract.args): one ``ERROR:`` line, exit 2.
_Parser = ArgumentParser


# A subcommand table: name -> (help text, add its arguments, handler(args) -> exit code).
Subcommands = dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
]


def register_subcommands(subparsers: Any, table: Subcommands) -> None:
    """Add each subcommand of ``table`` to argparse subparsers; each sets ``func`` (args -> int)."""
    for name, (help_text, add_arguments, handler) in table.items():
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        add_arguments(parser)
        parser.set_defaults(func=handler)


def _error(message: str) -> int:
    print(f"ERROR: {message}", file=sys.stderr)
    return EXIT_INVALID


def usage_error(field: str, problem: str, fix: str) -> int:
    """Print the one ``ERROR: <field>: <problem>. <fix>`` line; exit code 2."""
    fix = fix[:1].upper() + fix[1:]
    print(error_line(field, " ".join(problem.split()), fix), file=sys.stderr)
    return EXIT_INVALID


def aws_error(exc: Exception, what: str | None = None) -> int:
    """An AWS call failed: one line naming WHAT (else the failed operation, else "AWS"), the error
    code and message; exit code 3. The same line for every command."""
    field = what or "AWS"
    if isinstance(getattr(exc, "response", None), dict):
        field = what or getattr(exc, "operation_name", None) or "AWS"
    detail = " ".join(aws_reason(exc).split()).rstrip(".") or type(exc).__name__
    fix = "Check the name or ARN, your credentials, the region and AWS_ENDPOINT_URL"
    print(error_line(field, detail, fix), file=sys.stderr)
    return EXIT_AWS


# ------------------------------------------------------------------------------------ output


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return fmt.display(value, 4)
    return json.dumps(value) if not isinstance(value, str) else value


_fmt_bounds = fmt.bounds_compact


def render_table(decision: Decision, reason_width: int | None = None) -> str:
    """The human view: one row per check, then the verdict."""
    headers = ("CHECK", "RESULT", "VALUES", "BOUNDS", "REASON")
    rows = []
    for check in decision.checks:
        values = ", ".join(_fmt_value(v) for v in check.values[:4]) or "-"
        if len(check.values) > 4:
            values += f" (+{len(check.values) - 4})"
        reason = check.reason
        if reason_width is not None and len(reason) > reason_width:
            reason = reason[: reason_width - 3] + "..."
        rows.append(
            (
                check.id,
                {"pass": "pass", "inconclusive": "INCONCLUSIVE"}.get(check.outcome, "FAIL"),
                values,
                _fmt_bounds(dict(check.bounds)),
                reason,
            )
        )
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    failed = len(decision.failed_checks)
    policy = decision.policy
    summary = (
        f"{decision.decision}: {len(decision.checks) - failed} of {len(decision.checks)} checks "
        f"passed (policy {policy.get('id')} v{policy.get('version')}, "
        f"sha256 {str(policy.get('sha256'))[:12]})"
    )
    if decision.not_applicable:
        summary += f"; not applicable to a {decision.model_kind} model: "
        summary += ", ".join(decision.not_applicable)
    return "\n".join([*lines, "", summary])


def _emit(decision: Decision, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> int:
    if getattr(args, "json", False):
        doc = decision.to_json()
        if extra:
            doc = {**doc, **extra}
        print(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False))
    else:
        print(render_table(decision))
        for key, value in (extra or {}).items():
            if isinstance(value, dict) and "message" in value:
                print(f"{key}: {value['message']}")
        out = getattr(args, "out", None)
        if out:
            print(f"checks.json: {out}")
    return EXIT_APPROVED if decision.approved else EXIT_REJECTED


# ------------------------------------------------------------------------------- policy input


def _load_policy(args: argparse.Namespace, group: str | None) -> Policy:
    path = Path(args.policy)
    if not path.is_file():
        raise UsageError(
            "--policy",
            f"{path} does not exist",
            "Pass a policy YAML file (see policies/default.yaml)",
        )
    policy = load_policy(path)
    for warning in policy.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    overrides = getattr(args, "overrides", None)
    if overrides is not None and not Path(overrides).is_dir():
        raise UsageError(
            "--overrides",
            f"{overrides} is not a directory",
            "Pass the policies/overrides directory",
        )
    if overrides is None and (path.parent / "overrides").is_dir():
        overrides = path.parent / "overrides"
    if group is None:
        return policy
    if overrides is None:
        return resolve_policy(policy, None, group)
    return resolve_policy(policy, Path(overrides), group)


def _check_out(path: str | None) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.exists() and out.is_dir():
        raise UsageError("--out", f"{out} is a directory", "Pass a file path such as checks.json")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError("--out", f"{parent} is not a directory", "Pass a writable file path")
    return out
