"""Fixtures for the Service Catalog tests; helpers live in sc_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sc_helpers import BUNDLE_ARGS, TEMPLATE_PATHS, load_template


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """Every source template under servicecatalog/, by file name."""
    assert TEMPLATE_PATHS, "no templates under servicecatalog/"
    return {path.name: load_template(path) for path in TEMPLATE_PATHS}


@pytest.fixture(scope="session", autouse=True)
def stand_in_wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make package` needs the Verify step's pinned xgboost-cpu wheel; these tests stay offline
    with a tiny stand-in of the same name, whose digest replaces the pin for this session only
    (tests/clearance/test_wheels.py checks the real pin and the refusal of a mismatching wheel)."""
    from clearance.pipeline import wheels
    from clearance_dev.wheels import stand_in_wheel as build

    wheel = build(tmp_path_factory.mktemp("wheels"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wheels, "XGBOOST_SHA256", wheels.sha256_file(wheel))
        patch.setenv("CLEARANCE_WHEEL_DIR", str(wheel.parent))
        yield wheel


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, stand_in_wheel: Path) -> Path:
    """One `make package` run (seed bake, zips, offline pipeline render) shared by the tests."""
    import package

    out = tmp_path_factory.mktemp("bundle") / "servicecatalog"
    assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 0
    return out
