"""One error shape for everything a user must fix: ``ERROR: <field>: <problem>. <fix>``."""

from __future__ import annotations


class ClearanceError(Exception):
    """A problem with a named input. ``str()`` is ``<field>: <problem>. <fix>``; :attr:`line` adds
    the ``ERROR: `` prefix every command prints.
    """

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. {fix}" if fix else f"{field}: {problem}")

    @property
    def line(self) -> str:
        return f"ERROR: {self}"


def error_line(field: str, problem: str, fix: str) -> str:
    """The one line printed on stderr for bad input."""
    return f"ERROR: {field}: {problem}. {fix}"
