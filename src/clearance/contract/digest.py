"""sha256 of a streamed S3 body under a size cap (one loop for every reader of pinned bytes)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

CHUNK = 8 * 1024 * 1024


def stream_sha256(
    body: Any, cap: int, write: Callable[[bytes], Any] | None = None
) -> tuple[str, int]:
    """(sha256 hex, size) of BODY read in chunks, each passed to WRITE when given.

    Raises ValueError as soon as more than CAP bytes have been read, so a body larger than its
    limit is never read (or written) whole.
    """
    digest, size = hashlib.sha256(), 0
    while chunk := body.read(CHUNK):
        size += len(chunk)
        if size > cap:
            raise ValueError(f"over the {cap}-byte limit")
        digest.update(chunk)
        if write is not None:
            write(chunk)
    return digest.hexdigest(), size
