"""Obtaining, checking and uploading the Verify step's pinned xgboost-cpu wheel (dev tooling).

- :func:`pinned_version`: the version requirements.txt pins (the one source of truth), refused
  when it differs from :data:`clearance.pipeline.wheels.XGBOOST_VERSION` (whose digest is PyPI's).
- :func:`obtain`: the wheel from ``--wheel-dir`` (offline), else from the cache ``build/wheels/``,
  else ``pip download``-ed from the index into that cache; always checked against the pinned
  sha256 before it is used, and a download lands under its name only once it has passed.
- :func:`publish_wheel`: uploads through ``tools/publish.py``'s own ``upload`` (sha256 metadata,
  skipped when unchanged), so the demo's stand-in run takes the same code path as ``make publish``.
- :func:`stand_in_wheel`: a tiny installable wheel of the pinned name (NOT XGBoost) for tests and
  for the demo when the real wheel is not available offline (the demo says so).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from clearance.pipeline import wheels
from clearance.pipeline.wheels import WheelError

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "requirements.txt"
CACHE_DIR = REPO_ROOT / "build" / "wheels"
_PIN = re.compile(r"^\s*xgboost-cpu\s*==\s*([^\s;#]+)", re.IGNORECASE | re.MULTILINE)


def pinned_version(requirements: Path = REQUIREMENTS) -> str:
    """The xgboost-cpu version requirements.txt pins; it must be the one the wheel pin is for."""
    pins = _PIN.findall(requirements.read_text(encoding="utf-8"))
    if len(pins) != 1:
        raise WheelError(
            "requirements.txt",
            f"pins xgboost-cpu {len(pins)} times (expected once, as ==VERSION)",
            "Pin it exactly once",
        )
    if pins[0] != wheels.XGBOOST_VERSION:
        raise WheelError(
            "requirements.txt",
            f"pins xgboost-cpu=={pins[0]} but clearance.pipeline.wheels pins "
            f"{wheels.XGBOOST_VERSION}",
            "Update XGBOOST_VERSION, XGBOOST_SHA256 and XGBOOST_SIZE with the pin (PyPI's digest)",
        )
    return pins[0]


def download_command(dest: Path) -> list[str]:
    """pip download of exactly the image's wheel (cp312, manylinux_2_28_x86_64), no dependencies."""
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--platform", wheels.XGBOOST_PLATFORM, "--python-version", "3.12",
        "--implementation", "cp", "--disable-pip-version-check", "--quiet", "--dest", str(dest),
        f"{wheels.XGBOOST_DIST}=={wheels.XGBOOST_VERSION}",
    ]  # fmt: skip


def _download(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="download-", dir=cache) as tmp:
        result = subprocess.run(
            download_command(Path(tmp)), capture_output=True, text=True, check=False
        )
        fetched = Path(tmp) / wheels.XGBOOST_WHEEL
        if result.returncode != 0 or not fetched.is_file():
            last = (result.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
            how = " ".join(download_command(Path("DIR"))[1:])
            raise WheelError(
                "--wheel-dir",
                f"{wheels.XGBOOST_WHEEL} is not cached and pip could not download it ({last})",
                f"Download it elsewhere and pass --wheel-dir DIR (`python {how}`)",
            )
        wheels.check_wheel(fetched, "--wheel-dir")
        target = cache / wheels.XGBOOST_WHEEL
        fetched.replace(target)  # only a checked file gets the wheel's name
    return target


def obtain(wheel_dir: Path | None = None, cache: Path = CACHE_DIR, download: bool = True) -> Path:
    """The checked wheel: from WHEEL_DIR if given (never downloads), else the cache or the index."""
    pinned_version()
    if wheel_dir is not None:
        path = wheel_dir / wheels.XGBOOST_WHEEL
        if not path.is_file():
            raise WheelError(
                "--wheel-dir",
                f"{wheel_dir} has no {wheels.XGBOOST_WHEEL}",
                "Put PyPI's file there, or omit --wheel-dir to download it into build/wheels/",
            )
        wheels.check_wheel(path, "--wheel-dir")
        return path
    cached = cache / wheels.XGBOOST_WHEEL
    if cached.is_file():
        wheels.check_wheel(cached, "--wheel-dir")
        return cached
    if not download:
        raise WheelError("--wheel-dir", f"{cached} is missing", "Run `make package` once (online)")
    return _download(cache)


def find_offline(*directories: Path | None) -> Path | None:
    """The first checked copy of the real wheel in DIRECTORIES (no download), or None."""
    for directory in directories:
        if directory is None:
            continue
        try:
            return obtain(directory)
        except WheelError:
            continue
    return None


def _publish_module() -> ModuleType:
    """tools/publish.py (a script, not a package), loaded once by path."""
    name = "clearance_tools_publish"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / "publish.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def publish_wheel(s3: Any, bucket: str, code_key: str, wheel: Path) -> tuple[str, bool]:
    """Upload WHEEL beside the code bundle at CODE_KEY with publish.py's upload; (key, uploaded)."""
    publish = _publish_module()
    key = wheels.wheel_key(code_key)
    item = publish.Upload(key, wheel, wheel.stat().st_size, wheels.sha256_file(wheel))
    return key, bool(publish.upload(s3, bucket, item))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def stand_in_wheel(directory: Path) -> Path:
    """A tiny, installable wheel named like the pinned one: ``import xgboost`` gives a module with
    ``STAND_IN = True`` and no model loading. Deterministic bytes (fixed timestamps)."""
    version = wheels.XGBOOST_VERSION
    info = f"xgboost_cpu-{version}.dist-info"
    files = {
        "xgboost/__init__.py": f'"""Stand-in, not XGBoost."""\n__version__ = "{version}"\n'
        "STAND_IN = True\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: xgboost-cpu\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: clearance-stand-in\n"
        f"Root-Is-Purelib: true\nTag: py3-none-{wheels.XGBOOST_PLATFORM}\n",
    }
    record = [_record_line(n, t.encode()) for n, t in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / wheels.XGBOOST_WHEEL
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return out
