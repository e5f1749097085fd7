"""``make demo``: the whole clearance flow end to end on one machine, no AWS account.

    python -m clearance.demo [--out build/demo] [--biased-bias 0.5] [--json] [--baked DIR]
    python -m clearance.demo --llm          (make demo-llm: the LLM variant, see run_llm)

What it does, in the order a real account sees it:

 1. starts a local AWS stand-in (moto's server on 127.0.0.1, a free port; stopped on exit);
 2. bakes the default team project with cookiecutter's Python API into OUT/bake;
 3. runs the baked repo's ``make local`` twice, in parallel: a fair model (BIAS=0.0) and one trained
    on data with injected group bias (BIAS=--biased-bias);
 4. creates the governance and team buckets (encrypted, public access blocked), uploads the
    approval code bundle and the default policy, and creates the approval pipeline from the
    SageMaker SDK v3 definition (clearance.approval_pipeline, rendered offline);
 5. uploads each build's reports and model.tar.gz to the team bucket and registers both versions as
    PendingManualApproval with ModelMetrics (with ContentDigest) and team:* metadata;
 6. emits each registration's "SageMaker Model Package State Change" event on the stand-in's
    EventBridge, where a rule with the shared pattern (clearance/patterns) routes it to a queue the
    demo drains into the start-approval handler, which starts the approval pipeline;
 7. runs every started execution's two steps locally exactly as SageMaker would: the definition's
    entrypoint and arguments, its S3 inputs downloaded to local stand-ins of /opt/ml/processing,
    the code from the uploaded clearance.zip on PYTHONPATH, outputs uploaded back;
 8. reads both packages back with describe_model_package: one Approved, one Rejected with its
    failed checks; writes OUT/decisions.json and OUT/<version>/checks.json.

The Update step calls the evidence hook (clearance.steps.after_decision -> clearance.evidence), so
model cards and HTML reports appear under OUT/<version>/evidence/ when that module is shipped.
moto's pipeline executions do not run anything (they are "Succeeded" at once), which is why step 7
plays the SageMaker part; see LocalPipelineRunner.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from clearance.progress import Progress

LOGGER = logging.getLogger("clearance.demo")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = Path("build/demo")
PIPELINE_NAME = "clearance-approval"
GOVERNANCE_BUCKET = "clearance-governance-demo"
APPROVAL_ROLE = "arn:aws:iam::{account}:role/clearance-approval-pipeline"
PENDING = "PendingManualApproval"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
EVENT_SOURCE = "aws.sagemaker"
FAIR_BIAS = 0.0
# At 0.5 the disadvantaged group gets markedly fewer favourable labels; the README (demo) lists the
# metric values this produces and the default policy's bounds they cross.
BIASED_BIAS = 0.5
BUILD_TIMEOUT_S = 600
STEP_TIMEOUT_S = 300

# Where `make local` writes each report (baked repo contract) and the ModelMetrics slot it fills.
REPORTS = (
    # (ModelMetrics section, key, file under OUT/reports, content type)
    ("Bias", "PreTrainingReport", "data_bias/analysis.json", "application/json"),
    ("Bias", "PostTrainingReport", "model_bias/analysis.json", "application/json"),
    ("Explainability", "Report", "explainability/analysis.json", "application/json"),
    ("ModelQuality", "Statistics", "model_quality/statistics.json", "application/json"),
)


class DemoError(Exception):
    """A demo step could not complete; ``str()`` is the one line shown to the user."""


@dataclass
class Build:
    """One local build of the baked repo and, later, its registered package."""

    label: str
    bias: float
    out_dir: Path
    log: Path
    package_arn: str | None = None
    version: int | None = None
    execution_arn: str | None = None
    steps: dict[str, int] = field(default_factory=dict)

    @property
    def reports_dir(self) -> Path:
        return self.out_dir / "reports"


# --------------------------------------------------------------------------------------- bake


def bake(template: Path, out_dir: Path, extra_context: Mapping[str, Any] | None = None) -> Path:
    """Bake the team template with cookiecutter's Python API; returns the baked repo path.

    cookiecutter's replay and cache directories are pointed under ``out_dir`` so the demo writes
    nothing to the home directory. A failed bake (the pre-gen hook prints its own ERROR line) is
    one DemoError line.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    _require_template(template)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    config = out_dir.parent / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(out_dir.parent / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(out_dir.parent / 'replay'))}\n",
        encoding="utf-8",
    )
    try:
        baked = cookiecutter(
            str(template),
            no_input=True,
            output_dir=str(out_dir),
            config_file=str(config),
            extra_context=dict(extra_context or {}),
        )
    except CookiecutterException as exc:
        raise DemoError(
            f"bake: cookiecutter failed ({type(exc).__name__}: {exc}). "
            "The template's own message is above"
        ) from None
    return Path(baked)


def _require_template(template: Path) -> None:
    if not (template / "cookiecutter.json").is_file():
        raise DemoError(f"--template: {template} has no cookiecutter.json. Run from the repo root")


def template_answers(
    template: Path, extra_context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The answers a --no-input bake uses (derived names rendered), from cookiecutter's own API."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    _require_template(template)
    context = generate_context(
        context_file=str(template / "cookiecutter.json"),
        extra_context=dict(extra_context or {}),
    )
    return dict(prompt_for_config(context, no_input=True))


# -------------------------------------------------------------------------------------- build


def start_build(baked: Path, build: Build, python: str) -> subprocess.Popen[bytes]:
    """``make -C <baked> local`` for one build, output to its log file."""
    build.log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "make",
        "--no-print-directory",
        "-C",
        str(baked),
        "local",
        f"PYTHON={python}",
        f"BIAS={build.bias}",
        f"OUT={build.out_dir.resolve()}",
    ]
    LOGGER.info("running %s", " ".join(cmd))
    handle = build.log.open("wb")
    try:
        # Own process group: make's children (the Python build) can be stopped with it.
        return subprocess.Popen(
            cmd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        handle.close()


def run_builds(baked: Path, builds: Sequence[Build], python: str) -> None:
    """Both builds at once (2 cores: they overlap their imports and I/O)."""
    procs: list[tuple[Build, subprocess.Popen[bytes]]] = []
    failures = []
    try:
        for b in builds:
            procs.append((b, start_build(baked, b, python)))
        for build, proc in procs:
            try:
                code = proc.wait(timeout=BUILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                code = -1
            if code != 0:
                failures.append(f"{build.label} (exit {code}, log {build.log}): {_tail(build.log)}")
                continue
            missing = [f for *_, f, _ in REPORTS if not (build.reports_dir / f).is_file()]
            if missing:
                failures.append(f"{build.label}: make local wrote no {', '.join(missing)}")
    finally:
        # Ctrl-C, a timeout or an error: no build keeps running behind the demo's back.
        for _, proc in procs:
            if proc.poll() is None:
                _stop_group(proc)
    if failures:
        raise DemoError("local build failed: " + "; ".join(failures))


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a build started in its own session: make and the interpreter it runs."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) if text else "empty log"


# --------------------------------------------------------------------- approval pipeline definition


def definition_cache_key(**kwargs: Any) -> str:
    """Changes whenever the builder, the SDK or the arguments do."""
    digest = hashlib.sha256()
    digest.update((Path(__file__).parent / "approval_pipeline.py").read_bytes())
    try:
        from importlib.metadata import version

        digest.update(version("sagemaker").encode())
    except Exception:  # noqa: BLE001 - no SDK metadata: the render itself will say so
        digest.update(b"no-sdk")
    digest.update(json.dumps(kwargs, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def start_definition_render(cache_dir: Path, **kwargs: Any) -> tuple[Path, subprocess.Popen | None]:
    """Render the approval pipeline definition in a child process (the SDK import takes seconds,
    so it overlaps the builds); reuse a cached render when nothing changed."""
    key = definition_cache_key(**kwargs)
    target = cache_dir / f"approval-pipeline-{key}.json"
    if target.is_file():
        return target, None
    cache_dir.mkdir(parents=True, exist_ok=True)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from clearance.approval_pipeline import render_definition\n"
        "kwargs = json.loads(sys.argv[2])\n"
        "text = render_definition(**kwargs)\n"
        "tmp = Path(sys.argv[1] + '.tmp')\n"
        "tmp.write_text(text, encoding='utf-8')\n"
        "tmp.replace(sys.argv[1])\n"
    )
    log = (cache_dir / "render.log").open("wb")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(target), json.dumps(kwargs)],
            stdout=log,
            stderr=subprocess.STDOUT,
            # moto must stay in-process in the child: never point it at the stand-in.
            env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        )
    finally:
        log.close()
    return target, proc


def finish_definition_render(target: Path, proc: subprocess.Popen | None) -> str:
    if proc is not None and proc.wait(timeout=BUILD_TIMEOUT_S) != 0:
        raise DemoError(
            f"approval pipeline definition: render failed ({_tail(target.parent / 'render.log')})"
        )
    return target.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------- AWS set-up


def secure_bucket(s3: Any, bucket: str, region: str) -> None:
    """A bucket as the governance product creates them: encrypted, no public access."""
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    # No TLS-only bucket policy here although the governance product sets one: moto's server
    # evaluates bucket policies, the stand-in speaks plain http on loopback, and
    # aws:SecureTransport=false then denies every request (403 Forbidden).


def default_policy_path() -> Path:
    path = Path(__file__).resolve().parent / "policies" / "default.yaml"
    if not path.is_file():
        raise DemoError(f"policy: {path} is missing. Reinstall clearance (make venv)")
    return path


def upload_file(s3: Any, path: Path, bucket: str, key: str) -> tuple[str, str]:
    """Upload one file; returns (s3 uri, sha256 hex)."""
    data = path.read_bytes()
    s3.put_object(Bucket=bucket, Key=key, Body=data, ServerSideEncryption="aws:kms")
    return f"s3://{bucket}/{key}", hashlib.sha256(data).hexdigest()


def register(
    sm: Any,
    s3: Any,
    build: Build,
    context: Mapping[str, Any],
    team_bucket: str,
    region: str,
) -> str:
    """Upload one build's artifacts and register it as PendingManualApproval; returns the ARN."""
    group = context["model_package_group_name"]
    prefix = f"{context['sagemaker_project_name']}/{build.label}"
    model_uri, _ = upload_file(
        s3, build.out_dir / "model" / "model.tar.gz", team_bucket, f"{prefix}/model/model.tar.gz"
    )
    metrics: dict[str, dict[str, Any]] = {}
    for section, key, rel, content_type in REPORTS:
        uri, digest = upload_file(
            s3, build.reports_dir / rel, team_bucket, f"{prefix}/reports/{rel}"
        )
        metrics.setdefault(section, {})[key] = {
            "ContentType": content_type,
            "S3Uri": uri,
            "ContentDigest": f"sha256:{digest}",
        }
    response = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"{context['project_name']}: local build, BIAS={build.bias}",
        InferenceSpecification={
            "Containers": [
                {
                    # The built-in XGBoost image the team pipeline trains with (us-east-1 account;
                    # the stand-in does not pull it).
                    "Image": f"683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": model_uri,
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=PENDING,
        ModelMetrics=metrics,
        CustomerMetadataProperties=team_metadata(context),
    )
    return response["ModelPackageArn"]


def team_metadata(context: Mapping[str, Any]) -> dict[str, str]:
    """team:* keys (contract with EVIDENCE), clipped to the API's 256-character values."""
    values = {
        "team:project": context.get("sagemaker_project_name", ""),
        "team:description": context.get("description", ""),
        "team:problem-type": context.get("problem_type", ""),
        "team:label": context.get("label_column", ""),
        "team:facet": f"{context.get('facet_column', '')}={context.get('facet_value', '')}",
        "team:model-type": context.get("model_type", ""),
    }
    return {k: _metadata_value(str(v)) for k, v in values.items() if str(v)}


def _metadata_value(text: str) -> str:
    # CustomerMetadataProperties values allow letters, digits, spaces and _.:/=+-@ only.
    allowed = "_.:/=+-@ "
    cleaned = "".join(ch if ch.isalnum() or ch in allowed else " " for ch in text)
    return " ".join(cleaned.split())[:256] or "-"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def state_change_event(described: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    """The EventBridge event SageMaker emits for a package, from its describe_model_package.

    Shape of the documented sample (reference-formats/eventbridge-model-package-state-change),
    with the real string ``source`` (the documented sample repeats the key as a list).
    """
    detail = _jsonable(dict(described))
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [described["ModelPackageArn"]],
        "detail": detail,
    }


EVENT_RULE = "clearance-model-package-pending"
EVENT_QUEUE = "clearance-approval-events"


def pending_pattern() -> str:
    """The shared EventBridge pattern (the same file the CloudFormation embeds)."""
    path = Path(__file__).resolve().parent / "patterns" / "model_package_pending.json"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"event pattern: cannot read {path} ({exc.strerror})") from None


def route_pending_events(events: Any, sqs: Any) -> str:
    """An EventBridge rule with the shared pattern on the stand-in, delivering to a queue.

    The governance product targets the start-approval Lambda; the stand-in runs no Lambda, so the
    rule's target is a queue the demo drains into the handler's core. Only events the pattern
    matches reach the handler, exactly as in the account.
    """
    queue_url = sqs.create_queue(QueueName=EVENT_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=EVENT_RULE, EventPattern=pending_pattern(), State="ENABLED")
    events.put_targets(Rule=EVENT_RULE, Targets=[{"Id": "start-approval", "Arn": queue_arn}])
    return queue_url


def emit_state_change(events: Any, described: Mapping[str, Any]) -> None:
    """Play SageMaker: emit the package's state-change event on the default bus.

    (A real account does not let anyone but SageMaker put ``aws.sagemaker`` events; the stand-in
    does, which is what lets the rule's pattern be exercised here.)
    """
    detail = _jsonable(dict(described))
    response = events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "Resources": [described["ModelPackageArn"]],
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise DemoError(f"EventBridge: put_events failed: {response.get('Entries')}")


def receive_events(sqs: Any, queue_url: str, expected: int, timeout_s: float = 20) -> list[dict]:
    """Drain the rule's queue until ``expected`` events arrived (bounded wait)."""
    received: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while len(received) < expected and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in response.get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    if len(received) != expected:
        raise DemoError(
            f"EventBridge: {len(received)} of {expected} events matched the rule's pattern "
            f"({EVENT_RULE}); check src/clearance/patterns/model_package_pending.json"
        )
    return received


def deliver_event(event: Mapping[str, Any], sm: Any, pipeline_name: str) -> Any:
    """Hand the event to the start-approval handler's core, as the Lambda would."""
    from clearance.handlers.start_approval import start_approval

    return start_approval(dict(event), sm, pipeline_name)


# ------------------------------------------------------------------------ local pipeline runner


class LocalPipelineRunner:
    """Plays SageMaker for one pipeline execution: each ProcessingStep of the definition, in order.

    For every step: resolve the definition's expressions (Parameters.*, Execution.*, Std:Join,
    Steps.<name>...S3Output.S3Uri), download each S3Prefix input into a local directory standing in
    for its /opt/ml/processing path, run the ContainerEntrypoint + ContainerArguments with this
    Python and the step's Environment (PYTHONPATH -> the downloaded clearance.zip), then upload each
    output directory to its S3 URI. Only what the approval pipeline uses is supported; anything else
    is an error, not a silent skip.
    """

    CONTAINER_ROOT = "/opt/ml/processing"

    def __init__(
        self,
        definition: Mapping[str, Any],
        s3: Any,
        workdir: Path,
        pipeline_name: str,
        execution_arn: str,
        parameters: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.definition = definition
        self.s3 = s3
        self.workdir = workdir
        self.pipeline_name = pipeline_name
        self.execution_arn = execution_arn
        self.execution_id = execution_arn.rsplit("/", 1)[-1]
        defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        self.parameters = {**defaults, **parameters}
        self.env = dict(env if env is not None else os.environ)
        self.python = python
        self.step_outputs: dict[str, dict[str, str]] = {}
        self.exit_codes: dict[str, int] = {}

    # Expression evaluation ---------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | float) or value is None:
            return value
        if isinstance(value, dict) and set(value) == {"Get"}:
            return self._get(value["Get"])
        if isinstance(value, dict) and set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return join["On"].join(str(self.resolve(v)) for v in join["Values"])
        raise DemoError(f"local runner: unsupported pipeline expression {value!r}")

    def _get(self, path: str) -> str:
        if path.startswith("Parameters."):
            name = path.removeprefix("Parameters.")
            if self.parameters.get(name) is None:
                raise DemoError(f"local runner: parameter {name} has no value")
            return str(self.parameters[name])
        if path == "Execution.PipelineExecutionId":
            return self.execution_id
        if path == "Execution.PipelineName":
            return self.pipeline_name
        if path == "Execution.PipelineExecutionArn":
            return self.execution_arn
        if path.startswith("Steps."):
            step, _, rest = path.removeprefix("Steps.").partition(".")
            prefix = "ProcessingOutputConfig.Outputs['"
            suffix = "'].S3Output.S3Uri"
            if rest.startswith(prefix) and rest.endswith(suffix):
                output = rest[len(prefix) : -len(suffix)]
                try:
                    return self.step_outputs[step][output]
                except KeyError:
                    raise DemoError(f"local runner: {path} is not available yet") from None
        raise DemoError(f"local runner: unsupported property {path!r}")

    def local(self, container_path: str) -> Path:
        posix = PurePosixPath(container_path)
        root = PurePosixPath(self.CONTAINER_ROOT)
        if posix != root and root not in posix.parents:
            raise DemoError(f"local runner: {container_path} is not under {root}")
        return self.workdir.joinpath(*posix.relative_to(root).parts)

    def _map_arg(self, arg: Any) -> str:
        text = str(self.resolve(arg))
        if text.startswith(self.CONTAINER_ROOT + "/") or text == self.CONTAINER_ROOT:
            return str(self.local(text))
        return text

    # S3 transfer -------------------------------------------------------------------------
    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise DemoError(f"local runner: {uri!r} is not an s3:// URI")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bucket, key

    def download_prefix(self, uri: str, dest: Path) -> int:
        """S3Prefix semantics: every object under the prefix, relative path kept."""
        bucket, prefix = self._split(uri)
        dest.mkdir(parents=True, exist_ok=True)
        count = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                rel = key[len(prefix) :].lstrip("/") or PurePosixPath(key).name
                target = dest.joinpath(*PurePosixPath(rel).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                target.write_bytes(body)
                count += 1
        if count == 0:
            raise DemoError(f"local runner: input {uri} matched no object")
        return count

    def upload_dir(self, source: Path, uri: str) -> int:
        bucket, prefix = self._split(uri)
        count = 0
        for path in sorted(source.rglob("*")):
            if path.is_file():
                key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}"
                self.s3.put_object(
                    Bucket=bucket, Key=key, Body=path.read_bytes(), ServerSideEncryption="aws:kms"
                )
                count += 1
        return count

    # Steps -------------------------------------------------------------------------------
    def run(self) -> bool:
        """Run every step; False as soon as one fails (later steps do not start)."""
        for step in self.definition["Steps"]:
            if step["Type"] != "Processing":
                raise DemoError(f"local runner: step type {step['Type']} is not supported")
            code = self.run_step(step)
            self.exit_codes[step["Name"]] = code
            if code != 0:
                return False
        return True

    def run_step(self, step: Mapping[str, Any]) -> int:
        name = step["Name"]
        args = step["Arguments"]
        for item in args.get("ProcessingInputs", []):
            s3_input = item["S3Input"]
            if s3_input.get("S3DataType") != "S3Prefix":
                raise DemoError(f"local runner: {name}: only S3Prefix inputs are supported")
            self.download_prefix(self.resolve(s3_input["S3Uri"]), self.local(s3_input["LocalPath"]))
        outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
        resolved_outputs: dict[str, str] = {}
        for item in outputs:
            out = item["S3Output"]
            self.local(out["LocalPath"]).mkdir(parents=True, exist_ok=True)
            resolved_outputs[item["OutputName"]] = self.resolve(out["S3Uri"])

        app = args["AppSpecification"]
        entry = [self._map_arg(a) for a in app.get("ContainerEntrypoint", [])]
        if entry and entry[0] in ("python3", "python"):
            entry[0] = self.python
        argv = entry + [self._map_arg(a) for a in app.get("ContainerArguments", [])]
        env = dict(self.env)
        for key, value in args.get("Environment", {}).items():
            env[key] = self._map_arg(value)
        log = self.workdir / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as handle:
            proc = subprocess.run(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                timeout=STEP_TIMEOUT_S,
                check=False,
            )
        if proc.returncode == 0:
            # SageMaker uploads outputs only when the job succeeds.
            for item in outputs:
                self.upload_dir(
                    self.local(item["S3Output"]["LocalPath"]), resolved_outputs[item["OutputName"]]
                )
            self.step_outputs[name] = resolved_outputs
        return proc.returncode


# ---------------------------------------------------------------------------------------- main


def pending_executions(sm: Any, pipeline_name: str, done: set[str]) -> list[tuple[str, dict]]:
    """Executions started on the stand-in and not run yet, with their parameters."""
    found = []
    paginator = sm.get_paginator("list_pipeline_executions")
    for page in paginator.paginate(PipelineName=pipeline_name):
        for summary in page["PipelineExecutionSummaries"]:
            arn = summary["PipelineExecutionArn"]
            if arn in done:
                continue
            params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
            found.append((arn, {p["Name"]: p["Value"] for p in params["PipelineParameters"]}))
    return found


def run_llm(argv: Sequence[str]) -> int:
    """``make demo-llm``: delegated to ``clearance.llm.demo.main(argv) -> int``."""
    try:
        module = importlib.import_module("clearance.llm.demo")
    except ModuleNotFoundError as exc:
        if exc.name not in ("clearance.llm", "clearance.llm.demo"):
            raise
        print(
            "ERROR: --llm: the LLM flow (clearance.llm.demo) is not installed. "
            "Run `make demo` for the tabular flow",
            file=sys.stderr,
        )
        return 2
    return int(module.main(list(argv)))


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    from clearance.steps import ArgumentParser

    parser = ArgumentParser(
        prog="python -m clearance.demo",
        description="End-to-end clearance demo on a local AWS stand-in (no AWS account).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--template", type=Path, default=REPO_ROOT, help="cookiecutter template")
    parser.add_argument(
        "--baked", type=Path, default=None, help="reuse this baked team repo (skips the bake)"
    )
    parser.add_argument("--biased-bias", type=float, default=BIASED_BIAS)
    parser.add_argument("--policy", type=Path, default=None, help="default: the packaged policy")
    parser.add_argument("--json", action="store_true", help="print the decisions as JSON")
    parser.add_argument("--llm", action="store_true", help="the LLM variant (make demo-llm)")
    return parser.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if "--llm" in raw:
        # The LLM flow has its own parser (--out, --baked, --policy, --json mean the same there);
        # hand it every argument but the switch rather than what the tabular parser left over.
        return run_llm([arg for arg in raw if arg != "--llm"])
    args, rest = parse_args(raw)
    if rest:
        print(f"ERROR: arguments: unrecognised {' '.join(rest)}. See --help", file=sys.stderr)
        return 2
    if not 0.0 <= args.biased_bias <= 1.0:
        print("ERROR: --biased-bias: must be within [0, 1]. Try 0.5", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args)
    except DemoError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


def run(args: argparse.Namespace, on_decision: Callable[[dict], None] | None = None) -> dict:
    from clearance.approval_pipeline import CODE_BUNDLE_NAME, build_code_bundle
    from clearance.standin import LocalAWS

    out: Path = args.out.resolve()
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    progress = Progress(total=8)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("decisions.json", "fair", "biased"):
        path = out / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    policy_path = (args.policy or default_policy_path()).resolve()
    builds = [
        Build("fair", FAIR_BIAS, out / "builds" / "fair", out / "logs" / "build-fair.log"),
        Build(
            "biased", args.biased_bias, out / "builds" / "biased", out / "logs" / "build-biased.log"
        ),
    ]

    template = args.template.resolve()
    context = template_answers(template)
    with progress.step("Baking the default team project (cookiecutter)"):
        if args.baked is not None:
            baked = args.baked.resolve()
            if not (baked / "Makefile").is_file():
                raise DemoError(f"--baked: {baked} has no Makefile. Pass a baked team repo")
            progress.note(f"reusing {baked} (--baked)")
        else:
            baked = bake(template, out / "bake")
            progress.note(f"{baked}")

    account = "123456789012"  # moto's default account
    render_kwargs = {
        "region": region,
        "role": APPROVAL_ROLE.format(account=account),
        "default_bucket": GOVERNANCE_BUCKET,
        "pipeline_name": PIPELINE_NAME,
        "allowed_buckets": [GOVERNANCE_BUCKET, _team_bucket(context)],
    }
    # Rendering needs the SageMaker SDK (seconds to import): start now, collect after the builds.
    render_target, render_proc = start_definition_render(out / "cache", **render_kwargs)
    try:
        with progress.step(
            f"Building twice with `make local` (BIAS={FAIR_BIAS} and BIAS={args.biased_bias})"
        ):
            run_builds(baked, builds, sys.executable)
            for b in builds:
                progress.note(f"{b.label}: {b.reports_dir}")
        with progress.step("Approval pipeline definition (SageMaker SDK v3, rendered offline)"):
            definition_text = finish_definition_render(render_target, render_proc)
            definition = json.loads(definition_text)
            progress.note(f"steps: {', '.join(s['Name'] for s in definition['Steps'])}")
    finally:
        if render_proc is not None and render_proc.poll() is None:
            render_proc.kill()
            render_proc.wait()

    with LocalAWS(region=region) as aws:
        sm, s3 = aws.client("sagemaker"), aws.client("s3")
        team_bucket = _team_bucket(context)
        with progress.step(f"Local AWS stand-in on {aws.endpoint_url}: buckets, policy, pipeline"):
            for bucket in (GOVERNANCE_BUCKET, team_bucket):
                secure_bucket(s3, bucket, region)
            bundle = build_code_bundle(out / "cache" / CODE_BUNDLE_NAME)
            upload_file(s3, bundle, GOVERNANCE_BUCKET, f"{PIPELINE_NAME}/code/{CODE_BUNDLE_NAME}")
            upload_file(s3, policy_path, GOVERNANCE_BUCKET, f"{PIPELINE_NAME}/policy/policy.yaml")
            sm.create_pipeline(
                PipelineName=PIPELINE_NAME,
                PipelineDefinition=definition_text,
                RoleArn=render_kwargs["role"],
                PipelineDescription="Clearance: policy-as-code approval of model packages",
            )
            sm.create_model_package_group(
                ModelPackageGroupName=context["model_package_group_name"],
                ModelPackageGroupDescription=str(context.get("description", ""))[:1000],
            )
            progress.note(f"governance bucket s3://{GOVERNANCE_BUCKET}, team s3://{team_bucket}")
            progress.note(f"policy {policy_path.name}; group {context['model_package_group_name']}")

        with progress.step("Registering both versions as PendingManualApproval"):
            for b in builds:
                b.package_arn = register(sm, s3, b, context, team_bucket, region)
                progress.note(f"{b.label}: {b.package_arn}")

        with progress.step("EventBridge rule -> start-approval handler -> pipeline executions"):
            events, sqs = aws.client("events"), aws.client("sqs")
            queue_url = route_pending_events(events, sqs)
            for b in builds:
                described = sm.describe_model_package(ModelPackageName=b.package_arn)
                emit_state_change(events, described)
            delivered = receive_events(sqs, queue_url, expected=len(builds))
            by_package = {b.package_arn: b for b in builds}
            for event in delivered:
                b = by_package[event["detail"]["ModelPackageArn"]]
                (out / b.label).mkdir(parents=True, exist_ok=True)
                (out / b.label / "event.json").write_text(
                    json.dumps(event, indent=2) + "\n", encoding="utf-8"
                )
                outcome = deliver_event(event, sm, PIPELINE_NAME)
                progress.note(f"{b.label}: {_short(outcome)}")

        with progress.step("Running the approval pipeline's Evaluate and Update steps locally"):
            by_arn = {b.package_arn: b for b in builds}
            started = pending_executions(sm, PIPELINE_NAME, set())
            if len(started) != len(builds):
                raise DemoError(
                    f"start-approval: expected {len(builds)} pipeline executions, "
                    f"found {len(started)}"
                )
            env = {**os.environ, "AWS_ENDPOINT_URL": aws.endpoint_url}

            def execute(item: tuple[str, dict]) -> tuple[Build, LocalPipelineRunner, bool]:
                arn, params = item
                build = by_arn.get(params.get("ModelPackageArn"))
                if build is None:
                    raise DemoError(f"execution {arn} is for an unknown package {params}")
                build.execution_arn = arn
                runner = LocalPipelineRunner(
                    definition, s3, out / build.label, PIPELINE_NAME, arn, params, env=env
                )
                return build, runner, runner.run()

            with concurrent.futures.ThreadPoolExecutor(max_workers=len(started)) as pool:
                results = list(pool.map(execute, started))
            for build, runner, ok in results:
                build.steps = dict(runner.exit_codes)
                checks = runner.local("/opt/ml/processing/checks/checks.json")
                if checks.is_file():
                    shutil.copyfile(checks, out / build.label / "checks.json")
                codes = ", ".join(f"{k} exit {v}" for k, v in runner.exit_codes.items())
                progress.note(f"{build.label}: {codes} (logs in {out / build.label / 'logs'})")
                if not ok:
                    failed = next(k for k, v in runner.exit_codes.items() if v != 0)
                    log = out / build.label / "logs" / f"{failed}.log"
                    raise DemoError(
                        f"approval step {failed} failed for {build.label}: {_tail(log)}"
                    )

        with progress.step("Reading the decisions back from the model registry"):
            decisions = [_decision(sm, b, out) for b in builds]
            for d in decisions:
                if on_decision is not None:
                    on_decision(d)

    (out / "decisions.json").write_text(json.dumps(decisions, indent=2) + "\n", encoding="utf-8")
    ok = [d["status"] for d in decisions] == ["Approved", "Rejected"]
    _print_summary(decisions, out, progress, ok)
    return {"ok": ok, "decisions": decisions, "elapsed_s": round(progress.elapsed, 1)}


def _team_bucket(context: Mapping[str, Any]) -> str:
    return f"{context['sagemaker_project_name']}-artifacts".lower()[:63].rstrip("-.")


def _short(outcome: Any) -> str:
    if hasattr(outcome, "to_json"):
        outcome = outcome.to_json()
    if isinstance(outcome, dict):
        outcome = {k: v for k, v in outcome.items() if k in ("action", "execution_arn")}
        return ", ".join(f"{k}={v}" for k, v in outcome.items())
    return str(outcome)


def _decision(sm: Any, build: Build, out: Path) -> dict[str, Any]:
    described = sm.describe_model_package(ModelPackageName=build.package_arn)
    metadata = described.get("CustomerMetadataProperties") or {}
    checks_path = out / build.label / "checks.json"
    failed: list[dict[str, Any]] = []
    if checks_path.is_file():
        doc = json.loads(checks_path.read_text(encoding="utf-8"))
        failed = [
            {"id": c["id"], "values": c["values"], "bounds": c["bounds"], "reason": c["reason"]}
            for c in doc.get("checks", [])
            if not c.get("passed")
        ]
    evidence_dir = out / build.label / "evidence"
    evidence = sorted(str(p) for p in evidence_dir.rglob("*") if p.is_file())
    cards = []
    # The evidence hook names each HTML report after the package's model card.
    for html in sorted(evidence_dir.glob("*.html")):
        try:
            card = sm.describe_model_card(ModelCardName=html.stem)
        except Exception:  # noqa: BLE001 - a report without a card is shown without one
            continue
        cards.append(
            {
                "name": card["ModelCardName"],
                "arn": card.get("ModelCardArn"),
                "status": card.get("ModelCardStatus"),
                "version": card.get("ModelCardVersion"),
            }
        )
    return {
        "label": build.label,
        "bias": build.bias,
        "model_package_arn": build.package_arn,
        "version": described.get("ModelPackageVersion"),
        "status": described.get("ModelApprovalStatus"),
        "approval_description": described.get("ApprovalDescription"),
        "clearance_metadata": {k: v for k, v in metadata.items() if k.startswith("clearance:")},
        "failed_checks": failed,
        "checks_path": str(checks_path),
        "pipeline_execution_arn": build.execution_arn,
        "evidence": evidence,
        "model_cards": cards,
    }


def _print_summary(decisions: list[dict], out: Path, progress: Progress, ok: bool) -> None:
    stream = sys.stderr
    print("", file=stream)
    for d in decisions:
        print(
            f"  {d['label']:<7} v{d['version']}  BIAS={d['bias']:<4}  {d['status']}",
            file=stream,
        )
        for check in d["failed_checks"]:
            print(f"      failed {check['id']}: {check['reason']}", file=stream)
        for card in d["model_cards"]:
            print(
                f"      model card {card['name']} v{card['version']} ({card['status']})",
                file=stream,
            )
        for path in d["evidence"]:
            print(f"      report: {path}", file=stream)
    print(f"\n  decisions: {out / 'decisions.json'}", file=stream)
    print(f"  finished in {progress.elapsed:.1f} s", file=stream)
    if not ok:
        got = ", ".join(f"{d['label']}={d['status']}" for d in decisions)
        print(f"ERROR: decisions: expected fair=Approved, biased=Rejected, got {got}", file=stream)


if __name__ == "__main__":
    sys.exit(main())
