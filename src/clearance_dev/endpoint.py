"""A local stand-in for a SageMaker endpoint that really serves the model from its artifact.

    with LocalEndpoint(Path("build/local/model/model.tar.gz")) as endpoint:
        endpoint.url                     # http://127.0.0.1:<free port>
        http_invoker(endpoint.url)(b"0.1,3,...\\n", "text/csv")

It speaks the SageMaker serving contract the built-in XGBoost container speaks:

- ``GET /ping``: 200 with an empty body once the model is loaded;
- ``POST /invocations``: ``Content-Type: text/csv`` rows of features (no header, no label), one
  prediction per row back as ``text/csv`` (newline-separated; ``Accept: application/json`` gives
  ``{"predictions": [{"score": x}, ...]}``); 415 for another content type, 400 for a malformed
  payload, 413 over 6 MB (SageMaker's real-time payload limit), 404 elsewhere.

The model is loaded from ``model.tar.gz`` (the ``xgboost-model`` member, as ``make local`` and the
built-in algorithm write it), so the endpoint serves the exact bytes the package points at. It binds
127.0.0.1 on a port the kernel picks, and stops itself: on leaving the ``with`` block, after
``idle_timeout_s`` without a request, or after ``max_lifetime_s`` in total.

Run by hand: ``python -m clearance_dev.endpoint --model build/local/model/model.tar.gz``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from clearance.deploy.endpoint_checks import http_invoker

__all__ = ["LocalEndpoint", "ModelError", "http_invoker", "ping"]

LOGGER = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MODEL_MEMBER = "xgboost-model"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
CSV = "text/csv"
JSON = "application/json"


class ModelError(Exception):
    """The artifact cannot be served."""


def load_booster(archive: Path) -> Any:
    """The XGBoost Booster inside model.tar.gz."""
    import xgboost as xgb

    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile(tar.getmember(MODEL_MEMBER))
            if member is None:
                raise ModelError(f"{archive}: {MODEL_MEMBER} is not a regular file")
            raw = member.read()
    except (OSError, KeyError, tarfile.TarError) as exc:
        raise ModelError(f"{archive}: cannot read {MODEL_MEMBER} ({exc})") from exc
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"{archive}: {MODEL_MEMBER} is not an XGBoost model") from exc
    return booster


class Model:
    """Parse CSV rows, predict, format: the inference code behind /invocations."""

    def __init__(self, archive: Path) -> None:
        import numpy as np
        import xgboost as xgb

        self._np, self._xgb = np, xgb
        self.booster = load_booster(archive)
        self.n_features = int(self.booster.num_features())
        self._lock = threading.Lock()  # Booster.predict is not documented as thread-safe

    def parse(self, body: bytes) -> Any:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("payload is not UTF-8") from exc
        rows = [line for line in text.splitlines() if line.strip()]
        if not rows:
            raise ValueError("payload has no rows")
        values = []
        for number, line in enumerate(rows, 1):
            cells = line.split(",")
            if len(cells) != self.n_features:
                raise ValueError(
                    f"row {number} has {len(cells)} columns, the model takes {self.n_features}"
                )
            try:
                row = [float(cell) for cell in cells]
            except ValueError as exc:
                raise ValueError(f"row {number} has a non-numeric cell") from exc
            if not all(math.isfinite(v) for v in row):
                raise ValueError(f"row {number} has a non-finite cell")
            values.append(row)
        return self._np.asarray(values, dtype="float64")

    def predict(self, body: bytes, accept: str) -> tuple[bytes, str]:
        features = self.parse(body)
        with self._lock:
            scores = self.booster.predict(self._xgb.DMatrix(features))
        if accept.startswith(JSON):
            doc = {"predictions": [{"score": float(s)} for s in scores]}
            return json.dumps(doc).encode(), JSON
        return ("\n".join(repr(float(s)) for s in scores) + "\n").encode(), CSV


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        LOGGER.debug("%s " + format, self.address_string(), *args)

    def _send(self, code: int, body: bytes = b"", content_type: str = CSV) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.touch()
        if self.path == "/ping":
            self._send(200)
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        self.server.touch()
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/invocations":
            self._send(404, b"not found\n", "text/plain")
            return
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._send(413, b"payload over 6 MB\n", "text/plain")
            return
        body = self.rfile.read(length)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != CSV:
            self._send(415, f"unsupported content type {content_type!r}\n".encode(), "text/plain")
            return
        try:
            out, out_type = self.server.model.predict(body, self.headers.get("Accept") or CSV)
        except ValueError as exc:
            self._send(400, f"{exc}\n".encode(), "text/plain")
            return
        self.server.invocations += 1
        self._send(200, out, out_type)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, model: Model) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.model = model
        self.invocations = 0
        self.last_request = time.monotonic()

    def touch(self) -> None:
        self.last_request = time.monotonic()


class LocalEndpoint:
    """Serve model.tar.gz on 127.0.0.1 (free port) for a ``with`` block; stops itself."""

    def __init__(
        self, archive: Path, idle_timeout_s: float = 120.0, max_lifetime_s: float = 900.0
    ) -> None:
        self.archive = Path(archive)
        self.idle_timeout_s = idle_timeout_s
        self.max_lifetime_s = max_lifetime_s
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self.stop_reason: str | None = None

    def __enter__(self) -> LocalEndpoint:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop("with-block ended")

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalEndpoint is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        return self._server is not None and not self._stopped.is_set()

    @property
    def invocations(self) -> int:
        return self._server.invocations if self._server else 0

    def start(self) -> str:
        if self._server is not None:
            raise RuntimeError("LocalEndpoint is already started")
        self._server = _Server(Model(self.archive))
        started = time.monotonic()
        serve = threading.Thread(target=self._server.serve_forever, name="local-endpoint")
        watch = threading.Thread(target=self._watch, args=(started,), name="local-endpoint-watch")
        self._threads = [serve, watch]
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        LOGGER.info("local endpoint serving %s on %s", self.archive, self.url)
        return self.url

    def _watch(self, started: float) -> None:
        while not self._stopped.wait(0.2):
            server = self._server
            if server is None:
                return
            now = time.monotonic()
            if now - server.last_request > self.idle_timeout_s:
                self._shutdown(f"idle for {self.idle_timeout_s:g} s")
            elif now - started > self.max_lifetime_s:
                self._shutdown(f"running for {self.max_lifetime_s:g} s")

    def _shutdown(self, reason: str) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.stop_reason = reason
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        LOGGER.info("local endpoint stopped: %s", reason)

    def stop(self, reason: str = "stopped") -> None:
        """Stop serving and join the threads; safe to call twice."""
        self._shutdown(reason)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)


def ping(url: str, timeout_s: float = 5.0) -> int:
    """The status of GET /ping (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout_s) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve model.tar.gz on 127.0.0.1 (SageMaker contract)."
    )
    parser.add_argument("--model", type=Path, required=True, help="model.tar.gz from `make local`")
    parser.add_argument(
        "--idle-timeout", type=float, default=120.0, help="seconds without requests"
    )
    parser.add_argument("--max-lifetime", type=float, default=900.0, help="seconds in total")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        endpoint = LocalEndpoint(args.model, args.idle_timeout, args.max_lifetime)
        endpoint.start()
    except ModelError as exc:
        print(f"ERROR: --model: {exc}. Pass the model.tar.gz `make local` wrote", file=sys.stderr)
        return 2
    print(f"serving {args.model} on {endpoint.url} (/ping, /invocations)", flush=True)
    try:
        while endpoint.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        endpoint.stop("interrupted")
    print(f"stopped: {endpoint.stop_reason}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
