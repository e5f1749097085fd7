"""A rule against a recomputed metric: mismatch, group sizes, point and interval decisions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clearance.decide import judge, stats
from clearance.decide.measure import Measured


def rule(**kwargs):
    base = {"metric": "DI", "min": None, "max": None, "abs_max": None}
    return SimpleNamespace(**{**base, **kwargs})


def di(value, lower, upper, facet=50, rest=450):
    return Measured(
        "DI",
        value,
        facet + rest,
        None if lower is None else stats.Interval(lower, upper, 0.95, "katz-log"),
        {"facet": facet, "rest": rest},
    )


FOUR_FIFTHS = {"min": 0.8, "max": 1.25}


@pytest.mark.parametrize(
    ("rule_args", "measured", "reported", "outcome", "reason_start"),
    [
        ({**FOUR_FIFTHS}, di(0.83, 0.63, 1.11), 0.83, "pass", "recomputed DI 0.83 is within"),
        (
            {**FOUR_FIFTHS, "decide_on": "interval"},
            di(0.83, 0.63, 1.11),
            0.83,
            "inconclusive",
            "insufficient evidence: DI 0.83: the 95% interval [0.63, 1.11] straddles",
        ),
        ({**FOUR_FIFTHS, "decide_on": "interval"}, di(0.95, 0.85, 1.1), 0.95, "pass", "DI 0.95"),
        ({**FOUR_FIFTHS, "decide_on": "interval"}, di(0.4, 0.3, 0.55), 0.4, "fail", "DI 0.4"),
        ({**FOUR_FIFTHS}, di(0.83, 0.63, 1.11), 0.95, "fail", "reported DI 0.950, recomputed"),
        ({**FOUR_FIFTHS}, None, 0.95, "fail", "DI cannot be recomputed"),
        (
            {**FOUR_FIFTHS, "min_group_size": 100},
            di(0.95, 0.85, 1.1),
            0.95,
            "inconclusive",
            "insufficient evidence: facet has 50 rows, fewer than min_group_size 100",
        ),
        ({**FOUR_FIFTHS}, di(None, None, None), None, "fail", "recomputed DI is undefined"),
        (
            {**FOUR_FIFTHS, "decide_on": "interval"},
            di(None, None, None),
            None,
            "inconclusive",
            "insufficient evidence",
        ),
        ({"abs_max": 0.1, "decide_on": "interval"}, di(0.0, -0.1, 0.1), 0.0, "pass", "DI 0"),
    ],
)
def test_judgements(rule_args, measured, reported, outcome, reason_start) -> None:
    verdict = judge.judge(rule(**rule_args), measured, reported)
    assert verdict.outcome == outcome
    assert verdict.reason.startswith(reason_start), verdict.reason


def test_inconclusive_interval_says_the_rows_that_would_decide() -> None:
    verdict = judge.judge(rule(decide_on="interval", **FOUR_FIFTHS), di(0.95, 0.75, 1.15), 0.95)
    assert verdict.outcome == "inconclusive"
    assert verdict.needed_n and verdict.needed_n["facet"] > 50 and verdict.needed_n["rest"] > 450
    assert "rows would decide at this effect" in verdict.reason
    fields = verdict.fields()
    assert fields["needed_n"] == verdict.needed_n
    assert fields["group_sizes"] == {"facet": 50, "rest": 450}
    assert fields["interval"]["method"] == "katz-log"


def test_policy_minimum_applies_when_the_rule_has_none() -> None:
    verdict = judge.judge(rule(**FOUR_FIFTHS), di(0.95, 0.85, 1.1), 0.95, policy_min_group_size=60)
    assert verdict.outcome == "inconclusive"
    assert verdict.needed_n == {"facet": 60, "rest": 450}


def test_allowed_range_combines_min_max_and_abs_max() -> None:
    assert judge.allowed_range(rule(min=-0.5, max=0.8, abs_max=0.6)) == (-0.5, 0.6)
    assert judge.allowed_range(rule(abs_max=0.1)) == (-0.1, 0.1)
    assert judge.allowed_range(rule(min=0.7)) == (0.7, None)


def test_deciding_needs_no_numpy() -> None:
    """judge, stats' decisions and compare are pure Python (the Lambda and Evaluate import them)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['pandas'] = None\n"
        "from clearance.decide import compare, judge, stats\n"
        "print(stats.decide(stats.wilson(3, 10), 0.0, 1.0).outcome)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pass"
