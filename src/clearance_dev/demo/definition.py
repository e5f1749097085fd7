"""Stage: render the approval pipeline's definition offline (cached by its inputs)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from clearance.pipeline import definition as pipeline_definition
from clearance_dev.demo.build import _tail
from clearance_dev.demo.common import BUILD_TIMEOUT_S, DemoError


def definition_cache_key(**kwargs: Any) -> str:
    """Changes whenever the builder, the SDK or the arguments do."""
    digest = hashlib.sha256()
    digest.update(Path(pipeline_definition.__file__).read_bytes())
    try:
        from importlib.metadata import version

        digest.update(version("sagemaker").encode())
    except Exception:  # noqa: BLE001 - no SDK metadata: the render itself will say so
        digest.update(b"no-sdk")
    digest.update(json.dumps(kwargs, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def start_definition_render(cache_dir: Path, **kwargs: Any) -> tuple[Path, subprocess.Popen | None]:
    """Render the approval pipeline definition in a child process (the SDK import takes seconds,
    so it overlaps the builds); reuse a cached render when nothing changed."""
    key = definition_cache_key(**kwargs)
    target = cache_dir / f"approval-pipeline-{key}.json"
    if target.is_file():
        return target, None
    cache_dir.mkdir(parents=True, exist_ok=True)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from clearance.pipeline.definition import render_definition\n"
        "kwargs = json.loads(sys.argv[2])\n"
        "text = render_definition(**kwargs)\n"
        "tmp = Path(sys.argv[1] + '.tmp')\n"
        "tmp.write_text(text, encoding='utf-8')\n"
        "tmp.replace(sys.argv[1])\n"
    )
    log = (cache_dir / "render.log").open("wb")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(target), json.dumps(kwargs)],
            stdout=log,
            stderr=subprocess.STDOUT,
            # moto must stay in-process in the child: never point it at the stand-in.
            env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        )
    finally:
        log.close()
    return target, proc


def finish_definition_render(target: Path, proc: subprocess.Popen | None) -> str:
    if proc is not None and proc.wait(timeout=BUILD_TIMEOUT_S) != 0:
        raise DemoError(
            f"approval pipeline definition: render failed ({_tail(target.parent / 'render.log')})"
        )
    return target.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------- AWS set-up
