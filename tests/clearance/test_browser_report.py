"""A real headless Chromium loads a decision report: the DOM it renders and a screenshot of it.

Needs Debian's `chromium` (and `chromium-driver`, which .ci/run installs alongside). The page has no
script, so the command-line modes `--dump-dom` and `--screenshot` are all the browser we need.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from test_modelcard import REPORTS, report_bytes
from test_report_html import parse

from clearance.evidence.checks_view import parse_checks
from clearance.evidence.parse import parse_reports
from clearance.evidence.report_html import FAIL_COLOUR, PASS_COLOUR, write_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL_HINT = (
    "chromium is not installed: run "
    "`apt-get update && apt-get install -y chromium chromium-driver` "
    "(Debian; .ci/run does this before make test)"
)
WINDOW = (1100, 2600)
BROWSER_TIMEOUT_S = 90
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--force-color-profile=srgb",
]
CHECKS = {
    "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/9",
    "policy": {"id": "governance", "version": "7", "sha256": "5e" * 32},
    "decision": "Rejected",
    "evaluated_at": "2026-11-25T09:00:00Z",
    "checks": [
        {
            "id": "treatment-equity",
            "report": "bias_post_training",
            "metric": "TE",
            "passed": True,
            "values": [-0.21],
            "bounds": {"abs_max": 0.8},
            "reason": "all values within bounds",
        },
        {
            "id": "conditional-disparity",
            "report": "bias_post_training",
            "metric": "CDDPL",
            "passed": False,
            "values": [None],
            "bounds": {"abs_max": 0.5},
            "reason": "value is null: Group variable is empty or not provided",
        },
        {
            "id": "accuracy-floor",
            "report": "model_quality",
            "metric": "accuracy",
            "passed": False,
            "values": [0.88],
            "bounds": {"min": 0.9},
            "reason": "0.88 is below min 0.9",
        },
        {
            "id": "income-influence",
            "report": "explainability",
            "metric": "income",
            "passed": True,
            "values": [0.31],
            "bounds": {"max": 0.5},
            "reason": "within bounds",
        },
    ],
}


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    """Start chromium in its own process group so a hang is cleaned up by that group's id only."""
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "HOME": str(profile)},
    )
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {BROWSER_TIMEOUT_S} s: {' '.join(cmd)}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip(INSTALL_HINT)
    out = tmp_path_factory.mktemp("browser") / "report.html"
    evidence = parse_reports({k: report_bytes(v) for k, v in REPORTS.items()})
    return write_report(out, parse_checks(CHECKS), evidence)


def test_chromium_renders_the_decision_and_every_check(page, tmp_path):
    """The DOM after load holds the decision and every check id, visible as text."""
    result = run_chromium(["--dump-dom", page.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    elements = parse(result.stdout)
    (header,) = [e for e in elements if e["attrs"].get("id") == "decision"]
    assert header["attrs"]["data-decision"] == "Rejected"
    assert header["text"].strip().startswith("Rejected")
    ids = [e["text"] for e in elements if e["attrs"].get("class") == "check-id"]
    assert ids == [c["id"] for c in CHECKS["checks"]]
    assert [e["tag"] for e in elements if e["tag"] == "svg"], "no chart rendered"


def test_chromium_screenshot_shows_pass_and_fail_bars(page, tmp_path):
    """The screenshot is a real PNG of the whole window, with green and red bars, not blank."""
    from PIL import Image

    shot = tmp_path / "report.png"
    result = run_chromium(
        [f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()],
        tmp_path / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as image:
        assert image.size == WINDOW
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, "screenshot looks blank"

    def pixels_near(hex_colour: str, tolerance: int = 12) -> int:
        target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(
            count
            for count, colour in colours
            if all(abs(c - t) <= tolerance for c, t in zip(colour, target, strict=True))
        )

    # Pass bars, the PASS badges and the fail bars / Rejected banner are drawn in these colours.
    assert pixels_near(PASS_COLOUR) > 500
    assert pixels_near(FAIL_COLOUR) > 5000


def test_chromium_draws_interval_bars_and_the_inconclusive_colour(tmp_path):
    """Measured checks: the DOM keeps every error bar, the screenshot shows the amber outcome."""
    from PIL import Image
    from test_report_render import ENDPOINT, INCONCLUSIVE, NO_INTERVAL, TOUCHING, checks_doc

    from clearance.evidence.report_html import INCONCLUSIVE_COLOUR

    if CHROMIUM is None:
        pytest.skip(INSTALL_HINT)
    doc = checks_doc(TOUCHING, INCONCLUSIVE, NO_INTERVAL, endpoint=ENDPOINT)
    page = write_report(tmp_path / "measured.html", parse_checks(doc))
    result = run_chromium(["--dump-dom", page.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    elements = parse(result.stdout)
    bars = [e["attrs"] for e in elements if e["attrs"].get("class") == "interval"]
    assert [(b["data-lower"], b["data-upper"], b["data-outcome"]) for b in bars] == [
        ("0.02", "0.1", "pass"),
        ("-0.04", "0.2", "inconclusive"),
    ]
    shot = tmp_path / "measured.png"
    result = run_chromium(
        [f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()],
        tmp_path / "profile2",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    target = tuple(int(INCONCLUSIVE_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    amber = sum(
        n for n, c in colours if all(abs(a - b) <= 12 for a, b in zip(c, target, strict=True))
    )
    assert amber > 800  # the badge, the block's border and the error bar
