"""Bake fixtures: each named combination is baked once per session and shared by every assertion."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from bake_support import TEMPLATE_ROOT


@pytest.fixture(scope="session")
def bake_once(cookies_session: Any) -> Callable[[Mapping[str, Any]], Any]:
    """Bake with these answers the first time they are asked for; return the cached result after."""
    results: dict[str, Any] = {}

    def bake(answers: Mapping[str, Any]) -> Any:
        key = json.dumps(answers, sort_keys=True)
        if key not in results:
            results[key] = cookies_session.bake(
                extra_context=dict(answers), template=str(TEMPLATE_ROOT)
            )
        return results[key]

    return bake
