"""A tiny step printer shared by ``make demo`` and ``make bench`` (standard library only).

    [3/9] Registering both versions as PendingManualApproval ...
    [3/9] Registering both versions as PendingManualApproval: done in 0.4 s

Lines go to stderr by default so ``--json`` output on stdout stays machine-readable. A failed step
prints ``failed after N s`` and re-raises: the caller decides what the one error line says.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Numbered steps with elapsed times; ``note`` prints an indented detail line."""

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.current = 0
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.current += 1
        prefix = f"[{self.current}/{self.total}]"
        self._print(f"{prefix} {title} ...")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self._print(f"{prefix} {title}: failed after {time.perf_counter() - start:.1f} s")
            raise
        elapsed = time.perf_counter() - start
        self.timings[title] = elapsed
        self._print(f"{prefix} {title}: done in {elapsed:.1f} s")

    def note(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._print(f"      {line}")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def bar(fraction: float, width: int = 30) -> str:
    """A text bar for counters: ``[#########.....]``; fraction clamped to [0, 1]."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"
