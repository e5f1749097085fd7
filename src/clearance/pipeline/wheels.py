"""The one wheel the Verify step may install: xgboost-cpu, pinned by version and sha256.

The approval's processing image (SageMaker scikit-learn 1.9-0: Python 3.12, AL2023, x86_64) has
numpy, pandas, scipy and scikit-learn but not XGBoost, which scoring the registered model needs.
``make package`` puts the manylinux wheel of the version pinned in requirements.txt beside the
steps' code bundle (``<code prefix>/wheels/<wheel>``, :func:`wheel_key`), checked against
:data:`XGBOOST_SHA256` (PyPI's digest of that file); ``make publish`` uploads it with the bundle,
and the Verify step's ``wheels`` input downloads exactly that object. At run time
:func:`ensure_xgboost` checks the digest again before anything is installed and installs with
``pip --no-index --no-deps --require-hashes``: no network, nothing but that file. A missing or
swapped wheel fails the step with one line naming the file and the two digests (the execution
fails, the package stays PendingManualApproval and the governance alarm fires).

A new pin is three edits made together (a test fails otherwise): requirements.txt,
:data:`XGBOOST_VERSION` and :data:`XGBOOST_SHA256`/:data:`XGBOOST_SIZE` (PyPI's "hashes" of
:data:`XGBOOST_WHEEL`, e.g. ``pip download --no-deps --only-binary=:all: --platform
manylinux_2_28_x86_64 --python-version 3.12 --implementation cp xgboost-cpu==<v>`` then sha256sum).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from clearance.contract.errors import ClearanceError

XGBOOST_DIST = "xgboost-cpu"
# The single pin lives in requirements.txt; tests/clearance/test_wheels.py fails if this differs.
XGBOOST_VERSION = "3.2.0"
# py3-none: XGBoost loads its library with ctypes (no CPython ABI); manylinux_2_28 runs on AL2023.
XGBOOST_PLATFORM = "manylinux_2_28_x86_64"
XGBOOST_WHEEL = f"xgboost_cpu-{XGBOOST_VERSION}-py3-none-{XGBOOST_PLATFORM}.whl"
# PyPI's sha256 and size of XGBOOST_WHEEL (https://pypi.org/simple/xgboost-cpu/, read 2026-11-28).
XGBOOST_SHA256 = "9c10b1653e1a689bf4094a328144cf3633c9be0e5217a76fbdc2fde6abcb2950"
XGBOOST_SIZE = 5_595_924
WHEELS_FOLDER = "wheels"


class WheelError(ClearanceError):
    """The wheel is missing, swapped or cannot be installed: ``<field>: <problem>. <fix>``."""


def wheel_key(code_key: str) -> str:
    """The wheel's key (or s3:// URI) beside the code bundle's: ``<code prefix>/wheels/<wheel>``."""
    parent, _, _ = code_key.rpartition("/")
    return "/".join(part for part in (parent, WHEELS_FOLDER, XGBOOST_WHEEL) if part)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_wheel(path: Path, field: str = "wheels") -> str:
    """PATH is the pinned wheel (name and sha256); returns its sha256, else raises WheelError."""
    if PurePosixPath(path.name).name != XGBOOST_WHEEL:
        raise WheelError(
            field, f"{path.name} is not the pinned {XGBOOST_WHEEL}", "Use the wheel of the pin"
        )
    if not path.is_file():
        raise WheelError(
            field,
            f"{XGBOOST_WHEEL} is missing",
            "Run `make package` then `make publish` (the wheel travels with the code bundle)",
        )
    actual = sha256_file(path)
    if actual != XGBOOST_SHA256:
        raise WheelError(
            field,
            f"{XGBOOST_WHEEL} has sha256 {actual}, not the pinned {XGBOOST_SHA256}",
            "Replace it with PyPI's file (`make package` downloads and checks it)",
        )
    return actual


def _importable() -> bool:
    try:
        importlib.import_module("xgboost")
    except ImportError:
        return False
    return True


def install_command(wheels: Path, requirements: Path, extra: Sequence[str] = ()) -> list[str]:
    """pip, offline, exactly the hashed requirement (its dependencies are in the image)."""
    return [
        sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--require-hashes",
        "--disable-pip-version-check", "--quiet", "--find-links", str(wheels),
        "-r", str(requirements), *extra,
    ]  # fmt: skip


def install(wheels: Path, extra: Sequence[str] = ()) -> None:
    """Check the wheel in WHEELS, then pip-install it by hash (EXTRA: e.g. ``--target DIR``)."""
    check_wheel(wheels / XGBOOST_WHEEL)
    if importlib.util.find_spec("pip") is None:
        raise WheelError(
            "image",
            "has neither XGBoost nor pip, so the pinned wheel cannot be installed",
            "Use a processing image with pip (the SageMaker scikit-learn images have it)",
        )
    with tempfile.TemporaryDirectory(prefix="clearance-wheels-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(
            f"{XGBOOST_DIST}=={XGBOOST_VERSION} --hash=sha256:{XGBOOST_SHA256}\n", encoding="utf-8"
        )
        result = subprocess.run(
            install_command(wheels, requirements, extra),
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise WheelError(
            "wheels",
            f"pip could not install {XGBOOST_WHEEL} ({last})",
            "See the step's log; the wheel must be PyPI's file for this image's platform",
        )
    importlib.invalidate_caches()


def ensure_xgboost(wheels: Path | None) -> str:
    """Import XGBoost, installing the pinned wheel from WHEELS (never the network) if the image
    lacks it. Returns how XGBoost was found ("image" or "installed"); raises WheelError."""
    if _importable():
        return "image"
    if wheels is None:
        raise WheelError(
            "--wheels",
            "XGBoost is not in the image and no wheels directory was given",
            "Pass --wheels (the pipeline definition's `wheels` input)",
        )
    install(wheels)
    if not _importable():
        raise WheelError(
            "wheels", f"{XGBOOST_WHEEL} installed but `import xgboost` fails", "See the step's log"
        )
    return "installed"
