"""Developer tooling, never shipped: the end-to-end demo (``python -m clearance_dev.demo``), the
bench (``python -m clearance_dev.bench``), the local AWS stand-in, the LLM demo and bench, progress.

It imports ``clearance``; ``clearance`` never imports it (import-linter, ``make lint``).
"""
