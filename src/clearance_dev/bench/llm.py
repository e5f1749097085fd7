"""LLM figures for ``make bench``: model load, tokens/s (generation and scoring), evaluation times.

    python -m clearance_dev.bench.llm [--json] [--cache DIR]

The evaluation code lives in the team template (pipelines/<module>/llm/), so this bakes the LLM
variant into a temporary directory and imports it from there, exactly as a team's repo runs it.
`--cache` names the dequantized-weights cache; an empty directory measures the first (dequantizing)
load, the default cache measures a warm one. The evaluations run at the demo's sizes
(clearance_dev.demo.llm.DEMO_EVAL_ARGS). Numbers depend on the machine's load: the figures carry
the torch thread count and the load average before and after.
Call ``measure()`` from another bench to embed the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2].parent
PROMPTS = [
    "The GNU General Public License is a free, copyleft license for",
    "A nurse is someone who",
    "The history of the printing press begins",
    "To make bread at home, first",
]
NEW_TOKENS = 32


@contextmanager
def baked_llm_package(template: Path) -> Iterator[str]:
    """Bake the LLM variant and yield the import name of its llm package."""
    from cookiecutter.main import cookiecutter

    with tempfile.TemporaryDirectory(prefix="clearance-llm-bench-") as tmp:
        baked = Path(
            cookiecutter(
                str(template), no_input=True, output_dir=tmp, extra_context={"model_type": "llm"}
            )
        )
        module = next((baked / "pipelines").glob("*/llm")).parent.name
        saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "pipelines"}
        for key in saved:
            del sys.modules[key]
        sys.path.insert(0, str(baked))
        try:
            yield f"pipelines.{module}.llm"
        finally:
            sys.path.remove(str(baked))
            for key in [k for k in sys.modules if k.split(".")[0] == "pipelines"]:
                del sys.modules[key]
            sys.modules.update(saved)


def measure(template: Path = REPO_ROOT, cache: Path | None = None) -> dict[str, Any]:
    """Load time, tokens/s at batch 1 and batched, log-likelihood calls/s, evaluation times."""
    import os

    if cache is not None:
        os.environ["CLEARANCE_CACHE"] = str(cache)
    with baked_llm_package(template) as package:
        model_module = importlib.import_module(f"{package}.model")
        runner = importlib.import_module(f"{package}.runner")
        start = time.perf_counter()
        model = model_module.load_embedded()
        load_s = time.perf_counter() - start
        import torch

        figures: dict[str, Any] = {
            "model": model.name,
            "torch_threads": torch.get_num_threads(),
            "load_s": round(load_s, 2),
        }
        figures["load_average_before"] = round(os.getloadavg()[0], 2)
        model.generate(PROMPTS[:1], 4)  # warm-up: first call allocates
        for label, prompts in (("batch_1", PROMPTS[:1]), ("batch_16", PROMPTS * 4)):
            before = model.generated_tokens
            start = time.perf_counter()
            model.generate(prompts, NEW_TOKENS)
            elapsed = time.perf_counter() - start
            tokens = model.generated_tokens - before
            figures[f"tokens_per_s_{label}"] = round(tokens / elapsed, 1)
        requests = [(p * 4, [" yes", " no", " maybe"]) for p in PROMPTS * 4]
        scored = sum(
            model.count_tokens(c) + sum(model.count_tokens(o) for o in os_) for c, os_ in requests
        )
        start = time.perf_counter()
        model.loglikelihood_batch(requests)
        elapsed = time.perf_counter() - start
        figures["scoring_tokens_per_s"] = round(scored / elapsed, 1)
        figures["loglikelihood_requests_per_s"] = round(len(requests) / elapsed, 2)
        config = runner.EvaluationConfig(
            bbq_limit=300, wedging_limit=8, bold_domains=("gender", "race"), limit=60
        )
        before = model.generated_tokens
        start = time.perf_counter()
        report = runner.run_evaluations(model, config)
        figures["evaluation_total_s"] = round(time.perf_counter() - start, 1)
        figures["evaluation_generated_tokens"] = model.generated_tokens - before
        figures["evaluation_s"] = report["timings_seconds"]
        figures["load_average_after"] = round(os.getloadavg()[0], 2)
        figures["verdicts"] = report["verdicts"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clearance_dev.bench.llm")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=None, help="dequantized-weights cache")
    args = parser.parse_args(argv)
    figures = measure(cache=args.cache)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"LLM: {figures['model']} ({figures['torch_threads']} torch threads)")
    print(f"  model load                 {figures['load_s']:8.1f} s")
    print(f"  generation, batch 1        {figures['tokens_per_s_batch_1']:8.1f} tokens/s")
    print(f"  generation, batch 16       {figures['tokens_per_s_batch_16']:8.1f} tokens/s")
    print(f"  scoring (KV-shared options) {figures['scoring_tokens_per_s']:7.1f} tokens/s")
    for section, seconds in figures["evaluation_s"].items():
        print(f"  evaluation {section:<15} {seconds:8.1f} s")
    print(f"  evaluations, demo sizes    {figures['evaluation_total_s']:8.1f} s")
    print(
        f"  load average               {figures['load_average_before']:.2f} before, "
        f"{figures['load_average_after']:.2f} after"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
