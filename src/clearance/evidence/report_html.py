"""One self-contained HTML page per decision: inline CSS and SVG, no script, no external asset.

The page is Jinja2 templates (``clearance/evidence/templates/``) rendered with autoescape on, so
every string that reaches it is escaped: package ARNs, policy ids, reasons, feature and facet names
are all user-controlled. A Content-Security-Policy meta tag forbids scripts and remote loads as a
second line of defence. The charts' geometry is computed in :mod:`.report_charts`; the templates
only place it.

Numbers: each value is printed rounded for the eye, and carried exactly (Python's repr, which
round-trips a float) in ``data-value``, so tests and tools can prove the page equals checks.json.

Templates are read through importlib.resources, so they load from the approval steps' code bundle
(a zip on PYTHONPATH) as well as from a source tree.
"""

from __future__ import annotations

import html
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from clearance.contract import fmt as contract_fmt
from clearance.contract.status import PENDING
from clearance.evidence.checks_view import Bounds, ChecksView
from clearance.evidence.endpoint_view import EndpointView
from clearance.evidence.parse import Evidence
from clearance.evidence.report_charts import (
    AXIS_COLOUR,
    BAND_COLOUR,
    FAIL_COLOUR,
    INCONCLUSIVE_COLOUR,
    LABEL_WIDTH,
    PASS_COLOUR,
    SHAP_COLOUR,
    check_chart,
    shap_chart,
)

__all__ = [
    "FAIL_COLOUR",
    "INCONCLUSIVE_COLOUR",
    "PASS_COLOUR",
    "fmt",
    "render",
    "write_report",
]

# How a number is shown to people: 6 significant digits (the exact value is in data-value).
fmt = contract_fmt.display
COLOURS = {
    "pass": PASS_COLOUR,
    "fail": FAIL_COLOUR,
    "inconclusive": INCONCLUSIVE_COLOUR,
    "band": BAND_COLOUR,
    "axis": AXIS_COLOUR,
    "shap": SHAP_COLOUR,
    "label_width": LABEL_WIDTH,
}


def _exact(value: float | None) -> str:
    return "null" if value is None else repr(value)


def _bounds_text(bounds: Bounds | dict[str, float]) -> str:
    if isinstance(bounds, Bounds):
        bounds = {"min": bounds.min, "max": bounds.max, "abs_max": bounds.abs_max}
    return contract_fmt.bounds_labelled(bounds)


def _escape(value: Any) -> Any:
    """Autoescape with html.escape's entities (``&quot;``, ``&#x27;``) for every ``{{ }}``.

    Jinja's ``finalize`` runs on each expression before autoescape; returning Markup here means
    the one escaping rule is the standard library's, and Markup (macro output) passes as it is.
    """
    from markupsafe import Markup

    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


def _template_source(name: str) -> tuple[str, None, Any]:
    text = resources.files("clearance.evidence").joinpath("templates", name).read_text("utf-8")
    return text, None, lambda: True


@cache
def environment() -> Any:
    """The one Jinja2 environment (autoescape on for every template, strict undefined)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        finalize=_escape,
    )
    env.filters.update(num=fmt, exact=_exact, bounds_text=_bounds_text)
    env.globals["c"] = COLOURS
    return env


def _summary(checks: ChecksView) -> str:
    if checks.decision == PENDING:  # policy on_inconclusive: pending
        return (
            f"{len(checks.inconclusive)} of {len(checks.checks)} checks inconclusive, left for a "
            "person to decide: " + ", ".join(c.id for c in checks.inconclusive)
        )
    failed = checks.failed
    if not failed:
        return f"all {len(checks.checks)} checks passed"
    text = f"{len(failed)} of {len(checks.checks)} checks failed: " + ", ".join(
        c.id for c in failed
    )
    if checks.inconclusive:
        text += f" ({len(checks.inconclusive)} inconclusive: insufficient evidence)"
    return text


def render(
    checks: ChecksView,
    evidence: Evidence | None = None,
    *,
    package: Any = None,
    card: Any = None,
    endpoint: EndpointView | None = None,
) -> str:
    """The whole page as a string. The endpoint report: ENDPOINT, else the evidence's, else the
    one checks.json carries."""
    from markupsafe import Markup

    evidence = evidence or Evidence()
    ids: list[tuple[str, Any]] = [
        ("Model package", checks.model_package_arn),
        ("Policy", f"{checks.policy_id} version {checks.policy_version}"),
        ("Policy sha256", checks.policy_sha256),
        ("checks.json sha256", checks.sha256),
        ("Evaluated at", checks.evaluated_at),
    ]
    if package is not None:
        ids += [(k, v) for k, v in sorted(package.metadata.items()) if k.startswith("team:")]
        ids.append(("Registry status", package.approval_status))
    if card is not None:
        ids.append(("Model card", f"{card.name} v{card.version} ({card.status}, {card.action})"))
    endpoint_view = endpoint or evidence.endpoint or checks.endpoint
    endpoint_problem = "" if endpoint_view else evidence.endpoint_problem or checks.endpoint_problem
    sources = [
        (kind, evidence.sources.get(kind, ""), evidence.problems.get(kind, ""))
        for kind in sorted(set(evidence.sources) | set(evidence.problems))
    ]
    env = environment()
    css = env.get_template("report.css.j2").render()
    return env.get_template("report.html.j2").render(
        checks=checks,
        evidence=evidence,
        summary=_summary(checks),
        ids=ids,
        css=Markup(css),  # our own stylesheet: static text and colour constants
        check_charts=[(c, check_chart(c)) for c in checks.checks],
        shap_charts=[(s, shap_chart(s)) for s in evidence.shap],
        verified=[c for c in checks.checks if c.verification is not None],
        endpoint_view=endpoint_view,
        endpoint_problem=endpoint_problem,
        sources=sources,
    )


def write_report(
    path: str | Path, checks: ChecksView, evidence: Evidence | None = None, **kwargs: Any
) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a page behind."""
    path = Path(path)
    page = render(checks, evidence, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
