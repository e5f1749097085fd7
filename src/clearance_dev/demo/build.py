"""Stage: run the baked repo's ``make local`` builds in parallel."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from clearance_dev.demo.common import BUILD_TIMEOUT_S, LOGGER, REPORTS, Build, DemoError


def start_build(baked: Path, build: Build, python: str) -> subprocess.Popen[bytes]:
    """``make -C <baked> local`` for one build, output to its log file."""
    build.log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "make",
        "--no-print-directory",
        "-C",
        str(baked),
        "local",
        f"PYTHON={python}",
        f"BIAS={build.bias}",
        f"ROWS={build.rows}",
        f"OUT={build.out_dir.resolve()}",
    ]
    LOGGER.info("running %s", " ".join(cmd))
    handle = build.log.open("wb")
    try:
        # Own process group: make's children (the Python build) can be stopped with it.
        return subprocess.Popen(
            cmd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        handle.close()


def run_builds(baked: Path, builds: Sequence[Build], python: str) -> None:
    """Both builds at once (2 cores: they overlap their imports and I/O)."""
    procs: list[tuple[Build, subprocess.Popen[bytes]]] = []
    failures = []
    try:
        for b in builds:
            procs.append((b, start_build(baked, b, python)))
        for build, proc in procs:
            try:
                code = proc.wait(timeout=BUILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                code = -1
            if code != 0:
                failures.append(f"{build.label} (exit {code}, log {build.log}): {_tail(build.log)}")
                continue
            missing = [f for *_, f, _ in REPORTS if not (build.reports_dir / f).is_file()]
            if missing:
                failures.append(f"{build.label}: make local wrote no {', '.join(missing)}")
    finally:
        # Ctrl-C, a timeout or an error: no build keeps running behind the demo's back.
        for _, proc in procs:
            if proc.poll() is None:
                _stop_group(proc)
    if failures:
        raise DemoError("local build failed: " + "; ".join(failures))


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a build started in its own session: make and the interpreter it runs."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) if text else "empty log"


# --------------------------------------------------------------------- approval pipeline definition
