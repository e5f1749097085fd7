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


def aws_reason(exc: Exception) -> str:
    """``<Code>: <Message>`` of a botocore ClientError (else ``<type>: <text>``, at most 200
    characters): the one wording of a failed AWS call in every reason and error line."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code") or type(exc).__name__
        message = error.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc)[:200]}"
