"""`clearance.contract.digest.stream_sha256`: the one capped hashing loop behind Verify's model and
bundle reads and the deploy gate's model-copy check."""

from __future__ import annotations

import hashlib
import io

import pytest

from clearance.contract.digest import CHUNK, stream_sha256


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5])
def test_digest_and_size_of_what_was_read(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    written = io.BytesIO()
    assert stream_sha256(io.BytesIO(data), cap=size, write=written.write) == (
        hashlib.sha256(data).hexdigest(),
        size,
    )
    assert written.getvalue() == data


def test_a_body_over_the_cap_is_refused_before_the_rest_is_read() -> None:
    body = io.BytesIO(b"y" * (3 * CHUNK))
    written = io.BytesIO()
    with pytest.raises(ValueError, match=f"over the {CHUNK + 1}-byte limit"):
        stream_sha256(body, cap=CHUNK + 1, write=written.write)
    assert body.tell() == 2 * CHUNK  # the third chunk is never read
    assert len(written.getvalue()) == CHUNK  # nor is the chunk that crossed the cap written
