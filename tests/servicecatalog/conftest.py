"""Fixtures for the Service Catalog tests; helpers live in sc_helpers.py."""

from __future__ import annotations

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
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `make package` run (seed bake, zips, offline pipeline render) shared by the tests."""
    import package

    out = tmp_path_factory.mktemp("bundle") / "servicecatalog"
    assert package.main(["--out", str(out), *BUNDLE_ARGS]) == 0
    return out
