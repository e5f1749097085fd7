"""The approval steps' code bundle: the ``clearance`` runtime package (never ``clearance_dev``) plus
the pure-Python parts of its dependencies (PyYAML; Jinja2 and MarkupSafe for the HTML report, whose
C speed-up is left out: MarkupSafe falls back to its pure-Python escape), as one deterministic zip
the pipeline's processing steps put on PYTHONPATH.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["build_code_bundle"]

# The whole runtime package: src/clearance/ (this file is src/clearance/pipeline/bundle.py).
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_BUNDLED_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".typed", ".j2"}
# Pure-Python dependencies shipped beside the package (the processing image does not promise them).
VENDORED = ("yaml", "jinja2", "markupsafe")


def build_code_bundle(out_path: str | Path) -> Path:
    """Write the steps' code bundle (the ``clearance`` package + :data:`VENDORED`) as a zip.

    Deterministic: sorted entries and a fixed timestamp, so an unchanged package gives the same
    bytes (and the same S3 ETag / digest) on every build.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries: list[tuple[str, Path]] = []
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in _BUNDLED_SUFFIXES and "__pycache__" not in path.parts:
            entries.append((f"clearance/{path.relative_to(_PACKAGE_DIR).as_posix()}", path))
    for name in VENDORED:
        source = _pure_python_dir(name)
        for path in sorted(source.rglob("*.py")):
            if "__pycache__" not in path.parts:
                entries.append((f"{name}/{path.relative_to(source).as_posix()}", path))
    tmp = out.with_name(out.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for arcname, path in entries:
                info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _pure_python_dir(name: str) -> Path:
    """Where the installed package NAME lives (a declared dependency: missing is an error)."""
    import importlib

    module = importlib.import_module(name)
    return Path(module.__file__ or "").resolve().parent
