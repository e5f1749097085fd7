"""Test access to the bench's bundle builder (clearance_dev.bench.verify_bundle)."""

from clearance_dev.bench.verify_bundle import (
    FEATURES,
    make_bundle,
    write_archive,
    write_manifest,
)

__all__ = ["FEATURES", "make_bundle", "write_archive", "write_manifest"]
