"""The one argument parser every command and pipeline step uses: argparse whose errors are the
house line ``ERROR: <field>: <problem>. <fix>`` with exit code 2 (:mod:`.exitcodes`), instead of a
usage dump.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from clearance.contract import exitcodes
from clearance.contract.errors import error_line


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one ``ERROR:`` line naming the fix. ``error_field`` names the field in that
    line (default: the program, e.g. ``clearance check``); subcommand parsers inherit the class.
    """

    def __init__(self, *args: Any, error_field: str | None = None, **kwargs: Any) -> None:
        self.error_field = error_field
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        field = self.error_field or self.prog
        self.exit(exitcodes.USAGE, error_line(field, message, f"Run '{self.prog} --help'") + "\n")
