"""Verify step: recompute the package's evidence with its own model, then decide -> checks.json.

    python -m clearance.pipeline.steps.verify --model-package-arn ARN \
        --policy /opt/ml/processing/policy --output-dir /opt/ml/processing/verified \
        [--reported-checks /opt/ml/processing/checks/checks.json] \
        [--allowed-buckets gov-bucket,team-bucket] [--evidence-bucket gov-bucket]
        [--wheels DIR] [--overrides-dir DIR] [--resamples 1000]

Between Evaluate and Update. It downloads the package's verification bundle and model artifact
(``clearance.registry.bundle_fetch``: allow-listed buckets, registered digests; with
``--evidence-bucket`` the manifest and the model are the governance copies copy-artifacts made,
pinned by those digests), scores the
evaluation split with the registered model, recomputes every bias and quality metric with 95 %
intervals (and global SHAP exactly on a sample), reads the champion's values for champion rules,
and writes the checks.json the Update step acts on (``clearance.decide.checks.evaluate`` with the
verification). Evaluate's reported-values-only checks.json, when given, is recorded beside it
(``reported_decision``): what the reports alone said (interval rules cannot pass on them) beside
what the recomputation decided. A bundle that cannot be fetched or does not verify fails every
verifiable rule with the reason (fail closed); exit codes as the Evaluate step.

With ``--evidence-bucket`` (the governance bucket, as for Evaluate), the manifest and the model are
read from their governance copies (pinned by the manifest's ContentDigest and its model sha256),
and checks.json's ``verification`` records the model copy read (``model_read_from``,
``model_version_id``): the deploy gate deploys exactly that copy, so a model.tar.gz the team
replaces after the decision is never what is served.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearance import registry
from clearance.contract.errors import aws_reason
from clearance.decide import checks
from clearance.pipeline import wheels as pipeline_wheels
from clearance.pipeline.steps import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    ArgumentParser,
    InputError,
    aws_clients,
    error,
    log_code_location,
    region_from_arn,
    setup_logging,
)
from clearance.pipeline.steps.evaluate import (
    CHECKS_FILE,
    _evidence_store,
    allowed_buckets,
    overrides_dir_for,
    policy_file,
)
from clearance.policy import Policy, PolicyError, load_policy, resolve_policy

LOGGER = logging.getLogger("clearance.pipeline.steps.verify")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m clearance.pipeline.steps.verify",
        description="Recompute a model package's evidence with its own model and decide.",
    )
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--policy", required=True, type=Path, help="policy file or directory")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--reported-checks", type=Path, default=None)
    parser.add_argument("--allowed-buckets", default="")
    parser.add_argument(
        "--evidence-bucket",
        default=None,
        help="governance bucket holding the copy-artifacts copies: the manifest and the model "
        "are read there, and checks.json records the model copy read",
    )
    parser.add_argument("--overrides-dir", type=Path, default=None)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--wheels", type=Path, default=None, help="offline wheels for what the image lacks"
    )
    return parser.parse_args(argv)


def ensure_xgboost(wheels: Path | None) -> str:
    """Import XGBoost, installing the pinned, sha256-checked wheel from the local WHEELS directory
    (never the network) if the processing image lacks it (:mod:`clearance.pipeline.wheels`)."""
    return pipeline_wheels.ensure_xgboost(wheels)


def recompute(
    s3: Any,
    described: dict[str, Any],
    buckets: list[str],
    policy: Policy,
    resamples: int,
    evidence: registry.EvidenceStore | None = None,
) -> tuple[Any, str | None]:
    """(Verification or None, the reason it failed or None). Never raises for evidence content."""
    from clearance.decide import bundle as bundle_mod

    with tempfile.TemporaryDirectory(prefix="clearance-verify-") as tmp:
        try:
            root, model, pin = registry.fetch_bundle_pinned(
                s3, described, buckets, Path(tmp), evidence
            )
            result = verify_local(root, model, policy, resamples)
            result.bundle.update(pin)  # where the scored model was read (the governance copy)
            return result, None
        except (registry.ReportError, bundle_mod.BundleError) as exc:
            return None, getattr(exc, "reason", None) or str(exc)
        except Exception as exc:  # noqa: BLE001 - anything unforeseen fails closed, with its name
            LOGGER.exception("verification failed")
            return None, f"could not verify ({type(exc).__name__}: {str(exc)[:200]})"


def verify_local(root: Path, model: Path, policy: Policy, resamples: int = 1000) -> Any:
    """The recomputation on a local bundle and model (the demo and `make local` call this too)."""
    from clearance.decide import bundle as bundle_mod
    from clearance.decide import verify

    loaded = bundle_mod.load_bundle(root, model)
    scores = verify.score(model, loaded.test[list(loaded.features)].to_numpy())
    result = verify.recompute_all(loaded, scores, resamples=resamples)
    if any(rule.report == "explainability" for rule in policy.rules):
        result.metrics["explainability"] = verify.explain(loaded, model, resamples=resamples)
    return result


def run(args: argparse.Namespace, clients: tuple[Any, Any] | None = None) -> int:
    arn = args.model_package_arn
    try:
        region = region_from_arn(arn)
        path = policy_file(args.policy)
        buckets = allowed_buckets(args.allowed_buckets)
        evidence = _evidence_store(args.evidence_bucket)
        base_policy = load_policy(path)
        overrides = overrides_dir_for(path, args.overrides_dir)
        if not 100 <= args.resamples <= 100_000:
            raise InputError("--resamples", f"{args.resamples}", "Use 100 to 100000 (1000)")
        reported = checks.load_checks(args.reported_checks) if args.reported_checks else None
    except InputError as exc:
        error(str(exc))
        return EXIT_INVALID
    except PolicyError as exc:
        error(f"policy {exc}")
        return EXIT_INVALID
    except checks.ChecksError as exc:
        error(f"--reported-checks: {exc}. Pass the Evaluate step's checks.json")
        return EXIT_INVALID

    log_code_location()
    try:
        LOGGER.info("XGBoost: %s", ensure_xgboost(args.wheels))
    except pipeline_wheels.WheelError as exc:
        # The approval's own setup, not the package: fail the execution (the package stays
        # pending and the alarm fires) rather than reject every package with this reason.
        error(str(exc))
        return EXIT_FAILED
    sm, s3 = clients or aws_clients(region)
    try:
        described = sm.describe_model_package(ModelPackageName=arn)
    except Exception as exc:  # noqa: BLE001
        error(f"--model-package-arn: cannot describe {arn} ({aws_reason(exc)}). Check the ARN")
        return EXIT_FAILED
    group = described.get("ModelPackageGroupName")
    try:
        policy = resolve_policy(base_policy, overrides, group)
    except PolicyError as exc:
        error(f"policy {exc}")
        return EXIT_INVALID
    fetched = registry.fetch_reports(sm, s3, arn, buckets, described=described, evidence=evidence)
    verification, problem = recompute(s3, described, buckets, policy, args.resamples, evidence)
    champions = registry.champion_values(sm, s3, policy, group, arn, buckets, evidence)
    decision = checks.evaluate(
        policy,
        fetched.reports,
        arn,
        sources=fetched.sources,
        verification=verification,
        verification_error=problem,
        champions=champions,
    )
    if reported is not None:
        decision = checks.with_reported(decision, reported)
    out = checks.write_checks(decision, args.output_dir / CHECKS_FILE)
    undecided = [c.id for c in decision.checks if not c.passed]
    LOGGER.info("%s: %s (not passed: %s) -> %s", arn, decision.decision, undecided, out)
    print(f"{decision.decision}: {arn} ({len(undecided)} of {len(decision.checks)} not passed)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, clients: tuple[Any, Any] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        return run(args, clients)
    except Exception as exc:  # noqa: BLE001 - one line, nothing written
        LOGGER.exception("verify failed")
        error(f"verify: {type(exc).__name__}: {exc}. See the log above")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
