"""``make bench``: how fast the clearance decides, and that it loses nothing under a burst.

    python -m clearance_dev.bench [--json] [--latency-packages 200] [--burst-packages 1000]

Prints three figures (plus peak memory):

 (a) policy evaluation throughput, in process: report sets per second for the default policy on
     realistic reports (the exact shapes and sizes ``make local`` writes: full Clarify bias metric
     lists with their null CDDL/CDDPL entries, kernel SHAP over the baked features, Model Monitor
     statistics with ROC and precision-recall curves), parsed from bytes as the Evaluate step does;
 (b) decision latency, event to status update, against the local stand-in (moto's server on
     127.0.0.1): the EventBridge event goes to the start-approval handler, the started execution's
     Evaluate and Update entry points run in process with their real argv, and the clock stops when
     update_model_package has returned; p50 and p95 over --latency-packages packages. Processing
     job start-up (minutes on real SageMaker) is not part of it: this is the code's own latency;
 (c) a burst: --burst-packages packages registered at once (half fair, half biased), every event
     delivered, every started execution run; then the registry is counted: Approved + Rejected must
     equal the burst and nothing may be left pending.

Loops are bounded (counts or a time box), traffic stays on loopback, no AWS account is needed.

Modules: :mod:`.reports` (inputs), :mod:`.registry` (stand-in scaffolding), :mod:`.measures`,
:mod:`.flow` (run and print), :mod:`.llm` (the LLM figures).
"""

from __future__ import annotations

from clearance_dev.bench.flow import main
from clearance_dev.bench.reports import default_policy, realistic_reports

__all__ = ["default_policy", "main", "realistic_reports"]
