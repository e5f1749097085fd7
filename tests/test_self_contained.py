"""A fresh clone runs its own tests: no test reads a file outside the repository.

Every AWS-format sample lives in tests/fixtures/aws-formats/<sample>/ with a SOURCE.txt naming its
origin URL and licence.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures" / "aws-formats"

# Written in pieces so this module does not match its own patterns.
_OUTSIDE = [
    re.compile(r"\.\." + r"/shared"),
    re.compile(r"""["']""" + "sha" + "red" + r"""["']"""),
    re.compile(r"REPO_ROOT\s*\.\s*parent\b"),
    re.compile(r"parents\[\d+\]\s*\.\s*parent\b"),
    re.compile(r"(\.parent){3,}"),
    re.compile(r"parents\[([3-9]|\d\d+)\]"),
    re.compile(r"/work/"),
]


def _test_modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if p != Path(__file__).resolve())


def test_the_scan_sees_the_test_modules() -> None:
    """The scan below covers the conftest and the modules that read AWS samples."""
    names = {p.name for p in _test_modules()}
    assert {"conftest.py", "test_reports.py", "test_handlers.py"} <= names


@pytest.mark.parametrize("module", _test_modules(), ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_module_reaches_outside_the_repository(module: Path) -> None:
    """No test module names a path outside the repository (a sibling folder, an absolute path)."""
    text = module.read_text(encoding="utf-8")
    hits = [p.pattern for p in _OUTSIDE if p.search(text)]
    assert hits == [], f"{module.relative_to(REPO_ROOT)} reaches outside the repository: {hits}"


def test_every_aws_sample_names_its_origin_and_licence() -> None:
    """Each sample folder carries a SOURCE.txt with an origin URL and a licence line."""
    folders = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    assert len(folders) >= 8
    for folder in folders:
        source = (folder / "SOURCE.txt").read_text(encoding="utf-8")
        assert "Origin URL: " in source, folder.name
        assert "License: " in source, folder.name
        assert [p for p in folder.iterdir() if p.name != "SOURCE.txt"], folder.name
