"""A local AWS stand-in: moto's server on 127.0.0.1, for the demo and the bench.

``LocalAWS`` starts ``moto.server.ThreadedMotoServer`` on a free loopback port, points every boto3
client created inside the block at it through ``AWS_ENDPOINT_URL`` (botocore honours the variable
since 1.31), and puts the environment back and stops the server on exit, even when the block raises.
Inside the block the credentials are always fake (and any profile or session token is unset): if
some code path ignored AWS_ENDPOINT_URL and reached real AWS, it would be refused there instead of
acting on a real account. Each block starts from an empty moto state.
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import Any

LOGGER = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"

# Variables the block sets; their previous values (or absence) are restored on exit.
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
# A real profile or session token would otherwise be sent to (and ignored by) the stand-in, and a
# profile named in the environment but missing from the machine makes botocore fail before any call.
_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class LocalAWS:
    """Context manager running moto's server on 127.0.0.1 for the duration of a ``with`` block.

    >>> with LocalAWS() as aws:                       # doctest: +SKIP
    ...     boto3.client("s3").create_bucket(Bucket="b")  # goes to aws.endpoint_url
    """

    def __init__(self, region: str | None = None) -> None:
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.endpoint_url: str | None = None

    def __enter__(self) -> LocalAWS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> str:
        """Start the server on a free port and point AWS clients at it; return the endpoint URL."""
        if self._server is not None:
            raise RuntimeError("LocalAWS is already running; use one instance per with-block.")
        from moto.server import ThreadedMotoServer

        from clearance_dev.lifecycle_shim import install

        install()  # ModelLifeCycle, which moto drops (clearance_dev.lifecycle_shim)

        # Port 0 lets the kernel pick a free port at bind time: no probe-then-bind race with
        # other processes on a shared machine.
        # werkzeug logs every request at INFO; the demo and bench print their own progress.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        try:
            self._reset_state()
            self._set_env()
        except BaseException:
            self.stop()
            raise
        LOGGER.info("local AWS stand-in listening on %s", self.endpoint_url)
        return self.endpoint_url

    def _reset_state(self) -> None:
        # moto keeps its backends in module globals, shared by every server and mock in this
        # process: without a reset, a second block would see the first block's buckets and packages.
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            response.read()

    def _set_env(self) -> None:
        changes: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
        }
        changes.update(_FAKE_CREDENTIALS)
        for key in _CLEARED:
            changes[key] = None
        for key, value in changes.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def stop(self) -> None:
        """Restore the environment and stop the server; safe to call twice."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            LOGGER.info("local AWS stand-in on %s stopped", self.endpoint_url)

    @property
    def running(self) -> bool:
        return self._server is not None

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client bound to the stand-in explicitly (does not rely on the environment)."""
        if self.endpoint_url is None:
            raise RuntimeError("LocalAWS is not running; use it as a context manager.")
        import boto3

        kwargs.setdefault("region_name", self.region)
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return boto3.client(service, **kwargs)
