"""Fixtures for the Service Catalog tests; helpers live in sc_helpers.py."""

from __future__ import annotations

import contextlib
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


@pytest.fixture(scope="session")
def stand_in_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package` needs the Verify step's pinned xgboost-cpu wheel; these tests stay offline
    with a tiny stand-in of the same name (tests/clearance/test_wheels.py checks the real pin and
    the refusal of a mismatching wheel)."""
    from clearance_dev.wheels import stand_in_wheel as build

    return build(tmp_path_factory.mktemp("wheels"))


@contextlib.contextmanager
def stand_in_pin(wheel: Path) -> Iterator[None]:
    """The stand-in's digest as the pin, and its directory as --wheel-dir, for one block only (a
    session-wide patch would leak into other directories' tests on the same xdist worker)."""
    from clearance.pipeline import wheels

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wheels, "XGBOOST_SHA256", wheels.sha256_file(wheel))
        patch.setenv("CLEARANCE_WHEEL_DIR", str(wheel.parent))
        yield


@pytest.fixture(autouse=True)
def _stand_in_pin(stand_in_wheel: Path) -> Iterator[None]:
    with stand_in_pin(stand_in_wheel):
        yield


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, stand_in_wheel: Path) -> Path:
    """One `make package` run (seed bake, zips, offline pipeline render) shared by the tests."""
    import package

    out = tmp_path_factory.mktemp("bundle") / "servicecatalog"
    with stand_in_pin(stand_in_wheel):
        assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 0
    return out
