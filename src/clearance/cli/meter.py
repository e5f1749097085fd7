"""Progress of a long command (audit, reevaluate) on stderr, so stdout stays parseable."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """``[i/n] label`` on stderr: a rich bar on a terminal, about ten plain lines in a log (no
    escape codes, so CI logs stay readable). Called as ``progress(done, total, what)``."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_decile = -1
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if total < 2:
            return
        if not self.tty:
            decile = done * 10 // total
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(f"[{done}/{total}] {self.label}\n")
                self.stream.flush()
            return
        if self.bar is None:
            from rich.console import Console
            from rich.markup import escape
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn(escape(self.label)),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[what]}", markup=False),
                console=Console(file=self.stream),
            )
            self.task = self.bar.add_task(self.label, total=total, what="")
            self.bar.start()
        self.bar.update(self.task, completed=done, what=what[-60:])
        if done >= total:
            self.bar.stop()
