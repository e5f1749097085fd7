"""Stage: run each started pipeline execution's steps locally, as SageMaker would.

moto's pipeline executions run nothing (they are "Succeeded" at once).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from clearance_dev.demo.common import STEP_TIMEOUT_S, DemoError


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
        if env.get("CLEARANCE_RECORD_SITE"):
            # Recording (clearance_dev.accounts): its sitecustomize first, the step's code next,
            # the dev tooling last (the shipped clearance comes from the step's bundle).
            parts = [env["CLEARANCE_RECORD_SITE"], env.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join([*parts, env.get("CLEARANCE_RECORD_SRC", "")])
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
