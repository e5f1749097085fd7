"""Request validity: every request our code sends must fit botocore's shapes, patterns included.

botocore's own ``ParamValidator`` (run before every call) checks types, required members and
``min`` lengths, but NOT ``max`` lengths, ``pattern`` or ``enum``: moto accepts nearly anything, so
a request that AWS refuses (a project description with a comma in ``CustomerMetadataProperties``, a
name one character too long) passes every offline test. :func:`validate` walks the operation's
input shape and checks all of them.

Pattern semantics: AWS services apply a shape's pattern to the WHOLE value (Java ``matches``), and
several sagemaker patterns are written unanchored (``([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}``,
a Java quirk that quantifies ``$``): a search would accept ``a,b`` (it matches ``b`` at the end),
so the validator full-matches. Java classes (``\\p{L}``, ``\\p{Z}``...) are read by the ``regex``
module; a pattern it cannot compile is reported as unverifiable, never silently passed.

Recording (:class:`Recorder`): a ``before-parameter-build`` hook on a boto3/botocore session writes
one JSON line per call: principal (who the session acts as), service, operation, params. The demo
attaches it to every session of the stand-in, and to the approval steps' subprocesses through
:mod:`clearance_dev.recording_site` (a ``sitecustomize`` on their PYTHONPATH).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

__all__ = [
    "STEP_REQUESTS",
    "definition_problems",
    "ENV_PATH",
    "ENV_PRINCIPAL",
    "Recorder",
    "Request",
    "load_requests",
    "validate",
    "validate_request",
]

ENV_PATH = "CLEARANCE_RECORD_CALLS"
ENV_PRINCIPAL = "CLEARANCE_RECORD_PRINCIPAL"
# Response members worth keeping: the ARN a create call made (the IAM resource of that call).
RESPONSE_KEYS = ("ModelPackageArn", "ModelCardArn", "PipelineExecutionArn", "VersionId")


@dataclass(frozen=True)
class Request:
    principal: str
    service: str
    operation: str
    params: Mapping[str, Any]
    status: int | None = None
    response: Mapping[str, Any] | None = None


@functools.lru_cache(maxsize=32)
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.lru_cache(maxsize=2048)
def _compiled(pattern: str) -> Any:
    """A botocore (Java) pattern as a full-match ``regex`` object, or None if unreadable."""
    text = regex.sub(r"\$\{\d+,\d+\}", "$", pattern)  # "...)${1,256}": a quantified anchor
    try:
        return regex.compile(text, flags=regex.V0)
    except regex.error:
        return None


def _length(value: Any) -> int:
    return len(value)


def _check(shape: Any, value: Any, path: str, out: list[str]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        if not isinstance(value, Mapping):
            return  # botocore's own validator reports types
        for name in shape.required_members:
            # botocore fills an idempotency token the caller leaves out.
            token = shape.members[name].metadata.get("idempotencyToken")
            if name not in value and not token:
                out.append(f"{path}.{name}: required")
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], f"{path}.{name}", out)
        return
    if kind == "list":
        if isinstance(value, list | tuple):
            _bounds(meta, len(value), path, "items", out)
            for index, item in enumerate(value):
                _check(shape.member, item, f"{path}[{index}]", out)
        return
    if kind == "map":
        if isinstance(value, Mapping):
            _bounds(meta, len(value), path, "entries", out)
            for key, item in value.items():
                _check(shape.key, key, f"{path} key {str(key)[:40]!r}", out)
                _check(shape.value, item, f"{path}[{str(key)[:40]!r}]", out)
        return
    if kind == "string":
        if not isinstance(value, str):
            return
        _bounds(meta, _length(value), path, "characters", out)
        if shape.enum and value not in shape.enum:
            out.append(f"{path}: {value[:60]!r} is not one of {sorted(shape.enum)[:8]}")
        pattern = meta.get("pattern")
        if pattern:
            compiled = _compiled(pattern)
            if compiled is None:
                out.append(f"{path}: pattern {pattern[:60]!r} unverifiable (regex cannot read it)")
            elif compiled.fullmatch(value) is None:
                out.append(f"{path}: {value[:60]!r} does not match {pattern[:80]!r}")
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "min" in meta and value < meta["min"]:
                out.append(f"{path}: {value} < min {meta['min']}")
            if "max" in meta and value > meta["max"]:
                out.append(f"{path}: {value} > max {meta['max']}")
        return
    if kind == "blob" and isinstance(value, bytes | bytearray | str):
        _bounds(meta, len(value), path, "bytes", out)


def _bounds(meta: Mapping[str, Any], size: int, path: str, unit: str, out: list[str]) -> None:
    if "min" in meta and size < meta["min"]:
        out.append(f"{path}: {size} {unit} < min {meta['min']}")
    if "max" in meta and size > meta["max"]:
        out.append(f"{path}: {size} {unit} > max {meta['max']}")


def validate(
    service: str, operation: str, params: Mapping[str, Any], *, botocore_checks: bool = True
) -> list[str]:
    """Every shape problem of one request (empty: valid), botocore's own checks included unless
    ``botocore_checks`` is False (a pipeline definition's arguments hold expressions where values
    go; those are skipped, everything literal is checked)."""
    from botocore.validate import ParamValidator

    operation_model = _service_model(service).operation_model(operation)
    shape = operation_model.input_shape
    out: list[str] = []
    if shape is None:
        return out
    if botocore_checks:
        report = ParamValidator().validate(dict(params), shape)
        if report.has_errors():
            out.extend(line.strip() for line in report.generate_report().splitlines()[1:])
    _check(shape, params, operation, out)
    return out


# Pipeline step type -> the SageMaker request SageMaker sends for it (and the name it generates).
STEP_REQUESTS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "ClarifyCheck": ("CreateProcessingJob", "ProcessingJobName"),
    "QualityCheck": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
}
GENERATED_NAME = "pipelines-0abc123def45-step-1a2b3c4d5e"


def _resolve(value: Any, defaults: Mapping[str, Any]) -> Any:
    """Parameters become their defaults; other expressions (step properties, joins, JsonGet)
    stay dicts, which the string checks skip."""
    if isinstance(value, Mapping):
        if set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
            name = str(value["Get"]).split(".", 1)[1]
            return defaults.get(name, value)
        return {k: _resolve(v, defaults) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, defaults) for v in value]
    return value


def definition_problems(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each step's request, as SageMaker would send it, against botocore's shapes.

    Returns {step name: problems} for every step (an unknown step type is a problem too)."""
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    out: dict[str, list[str]] = {}
    for step in definition.get("Steps", []):
        kind = step.get("Type")
        if kind not in STEP_REQUESTS:
            out[step.get("Name", "?")] = [f"step type {kind!r}: no request mapping"]
            continue
        operation, name_member = STEP_REQUESTS[kind]
        params = _resolve(dict(step.get("Arguments") or {}), defaults)
        if name_member:
            params[name_member] = GENERATED_NAME
        out[step["Name"]] = validate("sagemaker", operation, params, botocore_checks=False)
    return out


def validate_request(request: Request) -> list[str]:
    return validate(request.service, request.operation, request.params)


# ------------------------------------------------------------------------------------ recording
def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)[:64]).decode(), "length": len(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return f"<{type(value).__name__}>"  # a stream body: its type is what matters here


def _restore(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"__bytes__", "length"}:
            return b"\0" * int(value["length"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


class Recorder:
    """Append every request of the sessions it is attached to, as JSON lines, to ``path``."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def attach(self, session: Any, principal: str) -> Any:
        """Record the calls of ``session`` (a boto3 or botocore session) as ``principal``.

        The params are taken at ``before-parameter-build`` (what the caller asked for, before any
        botocore customisation) and written at ``after-call`` with the HTTP status and the ARNs the
        response names (a created package's ARN is its IAM resource).
        """
        if hasattr(session, "get_component"):  # botocore
            events = session.get_component("event_emitter")
        else:  # boto3
            events = session.events
        tag = f"clearance-recorder-{id(self)}-{principal}"
        events.register(
            "before-parameter-build", functools.partial(self._before, principal), unique_id=tag
        )
        events.register("after-call", self._after, unique_id=f"{tag}-after")
        return session

    def _before(self, principal: str, params: Mapping[str, Any], model: Any, **kwargs: Any) -> None:
        record = {
            "principal": principal,
            "service": model.service_model.service_name,
            "operation": model.name,
            "params": _jsonable(params),
        }
        context = kwargs.get("context")
        if isinstance(context, dict):
            context["clearance_record"] = record
        else:
            self._write(record)

    def _after(self, http_response: Any, parsed: Any, **kwargs: Any) -> None:
        context = kwargs.get("context")
        record = context.pop("clearance_record", None) if isinstance(context, dict) else None
        if record is None:
            return
        record["status"] = getattr(http_response, "status_code", None)
        if isinstance(parsed, Mapping):
            record["response"] = {k: parsed[k] for k in RESPONSE_KEYS if k in parsed}
        self._write(record)

    def _write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(_jsonable(record), sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    @classmethod
    def from_environment(cls) -> tuple[Recorder, str] | None:
        path = os.environ.get(ENV_PATH)
        return (cls(path), os.environ.get(ENV_PRINCIPAL) or "unknown") if path else None


def load_requests(paths: Iterable[str | Path]) -> list[Request]:
    out: list[Request] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                doc = json.loads(line)
                params = _restore(doc["params"])
                out.append(
                    Request(
                        doc["principal"],
                        doc["service"],
                        doc["operation"],
                        params,
                        doc.get("status"),
                        doc.get("response"),
                    )
                )
    return out
