"""clearance_dev.progress: rich on stderr; plain lines without escape codes off a terminal."""

from __future__ import annotations

import io
import re

import pytest

from clearance_dev.progress import Progress, bar

DONE = re.compile(r"^\[(\d)/(\d)\] (.+): done in \d+\.\d s$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gives_plain_lines_one_per_step(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    log = io.StringIO()
    progress = Progress(total=2, stream=log)
    with progress.step("Baking [the] project"):
        progress.note("first\nsecond")
    advance = progress.counter("decided", 100)
    for done in range(1, 101):
        advance(done)
    with pytest.raises(RuntimeError), progress.step("Registering"):
        raise RuntimeError("boom")
    lines = log.getvalue().splitlines()
    assert "\x1b" not in log.getvalue()
    assert lines[:3] == ["[1/2] Baking [the] project ...", "      first", "      second"]
    assert DONE.match(lines[3]) and DONE.match(lines[3]).group(3) == "Baking [the] project"
    counted = [line.strip() for line in lines[4:-2]]
    assert counted == [f"decided {n}/100" for n in (1, *range(10, 101, 10))]
    assert lines[-2] == "[2/2] Registering ..."
    assert re.match(r"^\[2/2\] Registering: failed after \d+\.\d s$", lines[-1])
    assert list(progress.timings) == ["Baking [the] project"]
    assert capsys.readouterr().out == ""  # stdout stays for --json


def test_default_stream_is_stderr_and_quiet_prints_nothing(capsys):
    with Progress(total=1).step("one"):
        pass
    captured = capsys.readouterr()
    assert captured.out == "" and "[1/1] one: done in" in captured.err
    quiet = Progress(total=1, quiet=True)
    with quiet.step("two"):
        quiet.note("x")
        quiet.counter("n", 5)(5)
    assert capsys.readouterr() == ("", "")


def test_a_terminal_gets_a_live_status_and_a_bar_inside_a_step(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Terminal()
    progress = Progress(total=1, stream=tty)
    assert progress.live
    with progress.step("Deciding"):
        advance = progress.counter("decided", 3)
        for done in (1, 2, 3):
            advance(done)  # one live display at a time: the bar lives in the step's status
    text = tty.getvalue()
    assert "[1/1] Deciding: done in" in text and "decided 3/3" in text
    assert "\x1b[" in text  # drawn by rich (cursor control and colour)


def test_bar_clamps():
    assert bar(0.5, 10) == "[#####.....]"
    assert bar(2, 4) == "[####]" and bar(-1, 4) == "[....]"


def test_the_audit_progress_is_a_rich_bar_on_a_terminal_and_ten_lines_in_a_log():
    from clearance.cli.evidence import Progress as AuditProgress

    log = io.StringIO()
    progress = AuditProgress("describing", log)
    for done in range(1, 101):
        progress(done, 100, f"arn:aws:sagemaker:...:model-package/g/{done}")
    lines = log.getvalue().splitlines()
    assert lines == [f"[{n}/100] describing" for n in (1, *range(10, 101, 10))]
    tty = Terminal()
    progress = AuditProgress("describing", tty)
    for done in range(1, 4):
        progress(done, 3, "[bold]not markup[/bold]")
    assert "3/3" in tty.getvalue() and "\x1b[" in tty.getvalue()
    assert "[bold]not markup[/bold]" in tty.getvalue()
    assert not progress.bar.live.is_started
