"""What ships is the runtime only: the Lambda zip and the approval pipeline's code bundle hold the
``clearance`` package (and pure-Python PyYAML; the Lambda zip aws-lambda-powertools), never the
developer tooling in ``clearance_dev``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import package
import pytest
from sc_helpers import REPO_ROOT

from clearance.pipeline.bundle import build_code_bundle

RUNTIME = REPO_ROOT / "src" / "clearance"
TOOLING = REPO_ROOT / "src" / "clearance_dev"
TOOLING_NAMES = {"clearance_dev", "demo", "bench", "standin", "progress", "llm"}


def _runtime_modules() -> set[str]:
    """Every module of src/clearance/, as dotted names."""
    out = set()
    for path in RUNTIME.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = ("clearance", *path.relative_to(RUNTIME).with_suffix("").parts)
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _zip_modules(path: Path) -> set[str]:
    """Dotted names of the clearance* modules in a zip (yaml/ is checked separately)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    modules = set()
    for name in names:
        top = name.split("/", 1)[0]
        # yaml everywhere; jinja2 and markupsafe (the HTML report) in the approval bundle; the
        # Lambda zip also carries aws-lambda-powertools (the handlers' metrics and typed events)
        # and its typing_extensions dependency.
        allowed = {
            "clearance",
            "yaml",
            "jinja2",
            "markupsafe",
            "aws_lambda_powertools",
            "typing_extensions.py",
        }
        assert top in allowed, f"{path.name}: unexpected top-level entry {name}"
        if top == "clearance" and name.endswith(".py"):
            parts = tuple(name[: -len(".py")].split("/"))
            modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


@pytest.fixture(scope="module", params=["lambda-zip", "approval-bundle"])
def shipped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(request.param) / "code.zip"
    if request.param == "lambda-zip":
        return package.build_lambda_zip(out)
    return build_code_bundle(out)


def test_the_tooling_exists_outside_the_runtime() -> None:
    """The premise: demo, bench and the stand-in live in src/clearance_dev/, not src/clearance/."""
    assert (TOOLING / "demo" / "flow.py").is_file()
    assert (TOOLING / "bench" / "flow.py").is_file()
    assert (TOOLING / "standin.py").is_file()
    assert not TOOLING_NAMES & {p.stem for p in RUNTIME.rglob("*")}


def test_shipped_modules_are_exactly_the_runtime(shipped: Path) -> None:
    """The zip's module list is src/clearance/'s, no more and no less."""
    modules = _zip_modules(shipped)
    assert modules == _runtime_modules()
    assert {"clearance.contract.checks", "clearance.handlers.start_approval"} <= modules
    assert {"clearance.pipeline.steps.evaluate", "clearance.pipeline.steps.update"} <= modules


def test_no_tooling_module_ships(shipped: Path) -> None:
    """No clearance_dev, demo, bench, standin or progress module in either zip."""
    with zipfile.ZipFile(shipped) as archive:
        names = archive.namelist()
    leaked = [n for n in names if TOOLING_NAMES & set(Path(n).with_suffix("").parts)]
    assert leaked == []
