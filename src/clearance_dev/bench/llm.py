"""LLM figures for ``make bench``: model load (first/cached), generation speed, evaluation times.

    python -m clearance_dev.bench.llm [--json] [--cache DIR]

The evaluation code lives in the team template (pipelines/<module>/llm/), so this bakes the LLM
variant into a temporary directory and imports it from there, exactly as a team's repo runs it.
`--cache` names the dequantized-weights cache; an empty directory measures the first (dequantizing)
load, the default cache measures a warm one. Numbers depend on the machine's load: torch's thread
count follows the idle cores (see model.torch_threads), and the figures say how many it used.
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
        model.generate(PROMPTS[:1], 4)  # warm-up: first call allocates
        for label, prompts in (("batch_1", PROMPTS[:1]), ("batch_16", PROMPTS * 4)):
            before = model.generated_tokens
            start = time.perf_counter()
            model.generate(prompts, NEW_TOKENS)
            elapsed = time.perf_counter() - start
            tokens = model.generated_tokens - before
            figures[f"tokens_per_s_{label}"] = round(tokens / elapsed, 1)
        start = time.perf_counter()
        for prompt in PROMPTS:
            model.loglikelihood(prompt, [" yes", " no", " maybe"])
        elapsed = time.perf_counter() - start
        figures["loglikelihood_calls_per_s"] = round(len(PROMPTS) / elapsed, 2)
        report = runner.run_evaluations(model, runner.EvaluationConfig())
        figures["evaluation_s"] = report["timings_seconds"]
        figures["metrics"] = {
            section: {k: v for k, v in body.items() if k != "group_rates"}
            for section, body in report["llm_evaluation"].items()
        }
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
    print(f"  log-likelihood (3 options) {figures['loglikelihood_calls_per_s']:8.2f} calls/s")
    for section, seconds in figures["evaluation_s"].items():
        print(f"  evaluation {section:<15} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
