"""Step progress for ``make demo`` and ``make bench``, drawn by rich, always on stderr.

    [3/9] Registering both versions as PendingManualApproval: done in 0.4 s

On a terminal the running step is a rich status line (spinner and elapsed time) that turns into
the line above when it ends, and :meth:`Progress.counter` draws a live bar. Anywhere else (CI logs,
a pipe, a file) nothing is animated and no escape code is written: a plain line when a step starts
and one when it ends, notes as indented lines, a counter at every tenth. stdout is never touched,
so ``--json`` output stays machine-readable. A failed step prints ``failed after N s`` and
re-raises: the caller decides what the one error line says.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table


class Progress:
    """Numbered steps with elapsed times; ``note`` prints an indented detail line."""

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.current = 0
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        # highlight off: numbers and paths keep the terminal's colour; soft_wrap: a long path
        # is one line in a log, not several.
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal and not quiet
        self._status: Any = None  # the running step's rich status (one live display at a time)
        self._status_text = ""

    def _print(self, text: str, style: str | None = None) -> None:
        if not self.quiet:
            self.console.print(escape(text), style=style)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.current += 1
        prefix = f"[{self.current}/{self.total}]"
        start = time.perf_counter()
        status: Any = None
        if self.live and self._status is None:
            self._status_text = escape(f"{prefix} {title} ...")
            status = self._status = self.console.status(self._status_text)
            status.start()
        elif not self.live:  # a log: say what runs, so the step's notes follow their title
            self._print(f"{prefix} {title} ...")
        try:
            yield
        except BaseException:
            if status is not None:
                status.stop()
                self._status = None
            elapsed = time.perf_counter() - start
            self._print(f"{prefix} {title}: failed after {elapsed:.1f} s", "bold red")
            raise
        if status is not None:
            status.stop()
            self._status = None
        elapsed = time.perf_counter() - start
        self.timings[title] = elapsed
        self._print(f"{prefix} {title}: done in {elapsed:.1f} s", "green" if self.live else None)

    def note(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._print(f"      {line}")

    def counter(self, label: str, total: int) -> Callable[[int], None]:
        """``advance(done)`` for a long loop: a live bar in the running step's status line on a
        terminal, a line per tenth in logs (and outside a step)."""
        if self.quiet or total <= 0:
            return lambda done: None
        shown = {-1}

        def log(done: int) -> None:
            tenth = min(done, total) * 10 // total
            if tenth not in shown:
                shown.add(tenth)
                self.note(f"{label} {done}/{total}")

        status = self._status
        if status is None:
            return log
        base = self._status_text

        def advance(done: int) -> None:
            line = Table.grid(padding=(0, 1))
            line.add_row(
                base,
                ProgressBar(total=total, completed=done, width=30),
                f"{done}/{total} {escape(label)}",
            )
            status.update(line)
            if done >= total:
                self.note(f"{label} {total}/{total}")

        return advance

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def bar(fraction: float, width: int = 30) -> str:
    """A text bar for counters: ``[#########.....]``; fraction clamped to [0, 1]. Kept for callers
    that print a bar in a note; :meth:`Progress.counter` draws a live one."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"
