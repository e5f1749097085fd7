"""One command convention (issue 12 item 4), table-driven over every command and both pipeline
steps: bad input is exactly one ``ERROR: <field>: <problem>. <fix>`` line on stderr and exit 2; an
AWS failure (moto, or an endpoint nothing listens on) is one such line and exit 3
(:mod:`clearance.contract.exitcodes`). Nothing the error path prints goes to stdout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import pytest
from moto import mock_aws

from clearance import cli
from clearance.cli import evidence as cli_evidence
from clearance.contract import exitcodes
from clearance.pipeline.steps import evaluate as step_evaluate
from clearance.pipeline.steps import update as step_update

ERROR_LINE = re.compile(r"^ERROR: (?P<field>\S[^:]*): (?P<problem>\S.*?)\. (?P<fix>\S.*)$")
POLICY = Path(cli.__file__).resolve().parents[1] / "policy" / "policies" / "default.yaml"
ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package/team-models/1"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connection refused at once


def _entry(main: Callable[..., int]) -> Callable[[Sequence[str]], int]:
    def run(argv: Sequence[str]) -> int:
        try:
            return main(list(argv))
        except SystemExit as exc:  # the steps let argparse exit, as `python -m` would
            return exc.code if isinstance(exc.code, int) else 1

    return run


ENTRIES = {
    "clearance": _entry(cli.main),
    "clearance.cli.evidence": _entry(cli_evidence.main),
    "steps.evaluate": _entry(step_evaluate.main),
    "steps.update": _entry(step_update.main),
}


def _subcommands() -> list[str]:
    parser = cli.build_parser()
    (action,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(action.choices)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("version: 1\nrules: 7\n", encoding="utf-8")
    checks = tmp_path / "checks.json"
    checks.write_text(
        json.dumps(
            {
                "model_package_arn": ARN,
                "policy": {"id": "p", "version": "1", "sha256": "0" * 64},
                "decision": "Rejected",
                "checks": [
                    {
                        "id": "a",
                        "report": "model_quality",
                        "metric": "auc",
                        "passed": False,
                        "values": [0.5],
                        "bounds": {"min": 0.7},
                        "reason": "0.5 < 0.7",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    not_json = tmp_path / "not.json"
    not_json.write_text("{nope", encoding="utf-8")
    return {
        "policy": str(POLICY),
        "bad_policy": str(bad_policy),
        "missing": str(tmp_path / "missing.json"),
        "checks": str(checks),
        "not_json": str(not_json),
        "out": str(tmp_path / "out" / "checks.json"),
        "html": str(tmp_path / "out" / "page.html"),
        "dir": str(tmp_path),
    }


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "CLEARANCE_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    for key in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "CLEARANCE_ALLOWED_BUCKETS",
    ):
        monkeypatch.delenv(key, raising=False)


def assert_one_error_line(capsys: pytest.CaptureFixture[str], field: str | None) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 1, captured.err
    match = ERROR_LINE.match(lines[0])
    assert match, lines[0]
    if field is not None:
        assert match["field"] == field, lines[0]
    assert "ERROR" not in captured.out
    return lines[0]


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_refuses_an_unknown_flag(command, capsys, aws_env):
    """Any registered subcommand (today's and the ones other work adds) follows the convention."""
    assert ENTRIES["clearance"]([command, "--no-such-flag"]) == exitcodes.USAGE
    line = assert_one_error_line(capsys, None)
    assert "--help" in line


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_every_entry_point_refuses_an_unknown_flag(entry, capsys, aws_env):
    argv = ["report"] if entry.startswith("clearance") else []
    assert ENTRIES[entry]([*argv, "--no-such-flag"]) == exitcodes.USAGE
    assert_one_error_line(capsys, None)


BAD_INPUT = [
    ("clearance", ["check", "--policy", "{missing}", "--out", "{out}"], "--policy"),
    ("clearance", ["check", "--policy", "{bad_policy}", "--out", "{out}"], "policy.rules"),
    ("clearance", ["check", "--policy", "{policy}", "--quality", "{missing}", "--out", "{out}"],
     "--quality"),
    ("clearance", ["check", "--policy", "{policy}", "--out", "{dir}"], "--out"),
    ("clearance", ["evaluate", "--model-package-arn", "nope", "--policy", "{policy}"],
     "--model-package-arn"),
    ("clearance", ["approve", "--model-package-arn", ARN, "--policy", "{policy}",
                   "--allowed-bucket", "s3://b/x"], "--allowed-bucket"),
    ("clearance", ["evaluate", "--model-package-arn", ARN, "--policy", "{missing}"], "--policy"),
    ("clearance", ["report", "--checks", "{missing}", "--out", "{html}"], "--checks"),
    ("clearance", ["report", "--checks", "{not_json}", "--out", "{html}"], "--checks"),
    ("clearance", ["report", "--checks", "{checks}", "--reports-dir", "{missing}",
                   "--out", "{html}"], "--reports-dir"),
    ("clearance", ["reevaluate", "--model-package-group", "g", "--policy", "{policy}"],
     "--allowed-buckets"),
    ("clearance", ["reevaluate", "--model-package-group", "g", "--policy", "{bad_policy}",
                   "--allowed-buckets", "b"], "policy.rules"),
    ("steps.evaluate", ["--model-package-arn", "nope", "--policy", "{policy}",
                        "--output-dir", "{dir}"], "--model-package-arn"),
    ("steps.evaluate", ["--model-package-arn", ARN, "--policy", "{bad_policy}",
                        "--output-dir", "{dir}"], "policy.rules"),
    ("steps.update", ["--checks", "{missing}"], "--checks"),
    ("steps.update", ["--checks", "{not_json}"], "--checks"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "argv", "field"), BAD_INPUT, ids=[f"{e}-{' '.join(a[:2])}" for e, a, _ in BAD_INPUT]
)
def test_bad_input_is_one_error_line_and_exit_2(entry, argv, field, files, capsys, aws_env):
    with mock_aws():  # should anything reach AWS, it reaches nothing real
        code = ENTRIES[entry]([a.format(**files) for a in argv])
    assert code == exitcodes.USAGE
    assert_one_error_line(capsys, field)
    assert not Path(files["out"]).exists() and not Path(files["html"]).exists()


AWS_FAILURES = [
    ("clearance", ["evaluate", "--model-package-arn", ARN, "--policy", "{policy}",
                   "--allowed-bucket", "b"], "unreachable"),
    ("clearance", ["approve", "--model-package-arn", ARN, "--policy", "{policy}",
                   "--allowed-bucket", "b"], "unreachable"),
    ("clearance", ["audit", "--model-package-group", "g"], "unreachable"),
    ("clearance", ["reevaluate", "--model-package-group", "g", "--policy", "{policy}",
                   "--allowed-buckets", "b", "--dry-run"], "unreachable"),
    ("clearance", ["evaluate", "--model-package-arn", ARN, "--policy", "{policy}",
                   "--allowed-bucket", "b"], "moto"),
    ("steps.evaluate", ["--model-package-arn", ARN, "--policy", "{policy}",
                        "--output-dir", "{dir}", "--allowed-buckets", "b"], "moto"),
    ("steps.update", ["--checks", "{checks}"], "moto"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "argv", "where"),
    AWS_FAILURES,
    ids=[f"{e}-{a[0]}-{w}" for e, a, w in AWS_FAILURES],
)
def test_an_aws_failure_is_one_error_line_and_exit_3(
    entry, argv, where, files, capsys, aws_env, monkeypatch
):
    if where == "unreachable":
        monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE)
    with mock_aws() if where == "moto" else nullcontext():
        code = ENTRIES[entry]([a.format(**files) for a in argv])
    assert code == exitcodes.AWS
    assert_one_error_line(capsys, None)
    assert not Path(files["out"]).exists()


def test_audit_of_a_group_that_does_not_exist_is_bad_input(capsys, aws_env):
    with mock_aws():
        assert ENTRIES["clearance"](["audit", "--model-package-group", "nope"]) == 2
    assert_one_error_line(capsys, "--model-package-group")
