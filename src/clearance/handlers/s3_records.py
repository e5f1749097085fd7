"""S3 notification records for copy-artifacts: the parsed record and the S3 ``sequencer`` order.

A record is validated field by field (a malformed one raises ValueError with the reason, which the
handler counts as ``MalformedEvents``) and then read through aws-lambda-powertools' typed view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["Record", "is_sequencer", "parse_record", "sequencer_order"]


@dataclass(frozen=True)
class Record:
    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    size: int | None
    sequencer: str | None = None


def sequencer_order(sequencer: str) -> int:
    """S3's comparison of two ``sequencer`` values: hexadecimal, right-padded with zeros to the same
    length (AWS: "compare the strings after right-padding the shorter value with zeros"); the
    integer of the value padded to 64 digits compares the same way."""
    return int(sequencer.ljust(64, "0")[:64], 16)


def is_sequencer(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c in "0123456789abcdefABCDEF" for c in value)
    )


def parse_record(record: Any) -> Record:
    """One S3 notification record. Raises ValueError (malformed) with the reason."""
    if not isinstance(record, Mapping):
        raise ValueError("record is not an object")
    if record.get("eventSource") != "aws:s3":
        raise ValueError(f"eventSource is {record.get('eventSource')!r}, not 'aws:s3'")
    s3 = record.get("s3")
    if not isinstance(s3, Mapping):
        raise ValueError("record has no 's3' object")
    bucket = (s3.get("bucket") or {}).get("name") if isinstance(s3.get("bucket"), Mapping) else None
    obj = s3.get("object")
    if not isinstance(bucket, str) or not bucket:
        raise ValueError("record has no s3.bucket.name")
    if not isinstance(obj, Mapping) or not isinstance(obj.get("key"), str) or not obj["key"]:
        raise ValueError("record has no s3.object.key")
    # Validated above; read through powertools' typed view of the record from here on.
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

    typed = S3EventRecord(dict(record)).s3.get_object
    sequencer = typed.get("sequencer")  # optional: the typed property raises when absent
    if sequencer is not None and not is_sequencer(sequencer):
        raise ValueError(f"s3.object.sequencer {str(sequencer)[:80]!r} is not hexadecimal")
    size = typed.get("size")
    version = typed.version_id
    return Record(
        bucket=bucket,
        # S3 notifications URL-encode keys (space -> "+", "+" -> "%2B").
        key=unquote_plus(typed.key),
        etag=str(typed.etag).strip('"') or None,
        version_id=str(version) if version not in (None, "", "null") else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        sequencer=sequencer,
    )
