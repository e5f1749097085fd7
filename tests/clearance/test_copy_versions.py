"""copy-artifacts keys copies by source version, honours the S3 sequencer, counts what it skips.

Issue 9: "the copy path keys destinations by version, respects sequencer, and alarms on skipped or
malformed objects".
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clearance import handlers
from clearance.handlers import copy_artifacts
from clearance.handlers.copy_artifacts import copy_records, sequencer_order

TEAM = "sagemaker-p-abcdefghijkl-111111111111-artifacts"
GOV = "clearance-gov-222222222222-us-east-1"
KEY = "credit-risk-p-abcdefghijkl/reports/bias.json"
EVENT = Path(__file__).parents[1] / "events" / "s3_object_created_put.json"


class Recorder:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=TEAM)
        client.put_bucket_versioning(Bucket=TEAM, VersioningConfiguration={"Status": "Enabled"})
        client.create_bucket(Bucket=GOV)
        yield client


def _put_event(client: Any, body: bytes, sequencer: str, *, version: bool = True) -> dict:
    response = client.put_object(Bucket=TEAM, Key=KEY, Body=body)
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    obj = event["Records"][0]["s3"]["object"]
    event["Records"][0]["s3"]["bucket"]["name"] = TEAM
    obj.update(key=KEY, size=len(body), eTag=response["ETag"].strip('"'), sequencer=sequencer)
    if version:
        obj["versionId"] = response["VersionId"]
    else:
        obj.pop("versionId", None)
    return event


def _copies(client: Any) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=GOV, Prefix=f"artifacts/{TEAM}/{KEY}/")
    return {
        o["Key"]: client.get_object(Bucket=GOV, Key=o["Key"])["Body"].read()
        for o in listed.get("Contents", [])
    }


def test_each_version_has_its_own_copy_and_late_events_overwrite_nothing(s3: Any) -> None:
    """Two PUTs delivered newest-first: both versions are copied, each under its own VersionId."""
    first = _put_event(s3, b'{"v": 1}', "0055AED6DCD90281E5")
    second = _put_event(s3, b'{"v": 2}', "0055AED6DCD90281F0")
    v1 = first["Records"][0]["s3"]["object"]["versionId"]
    v2 = second["Records"][0]["s3"]["object"]["versionId"]
    assert copy_records(second, s3, GOV)[0].action == "copied"
    # The first event arrives late: its source version is still readable by id, and it lands
    # beside the newer copy instead of over it.
    assert copy_records(first, s3, GOV)[0].action == "copied"
    assert _copies(s3) == {
        f"artifacts/{TEAM}/{KEY}/{v1}": b'{"v": 1}',
        f"artifacts/{TEAM}/{KEY}/{v2}": b'{"v": 2}',
    }


def test_an_older_event_never_replaces_a_newer_copy_of_an_unversioned_object(s3: Any) -> None:
    """One destination for an unversioned source: the sequencer orders the events."""
    s3.put_bucket_versioning(Bucket=TEAM, VersioningConfiguration={"Status": "Suspended"})
    old = _put_event(s3, b'{"v": 1}', "0055AED6DCD90281E5", version=False)
    new = _put_event(s3, b'{"v": 2}', "0055AED6DCD90281F0", version=False)
    metrics = Recorder()
    assert copy_records(new, s3, GOV, metrics=metrics)[0].action == "copied"
    # The sequencer is checked first: the copy there is newer, so the event never reaches S3.
    [result] = copy_records(old, s3, GOV, metrics=metrics)
    assert result.action == "skipped" and "stale event" in result.reason
    assert _copies(s3) == {f"artifacts/{TEAM}/{KEY}/null": b'{"v": 2}'}
    assert metrics.counts == {"SkippedObjects": 1}


def test_sequencer_comparison_pads_like_s3() -> None:
    """AWS: compare after right-padding the shorter value with zeros."""
    assert sequencer_order("0055AED6DCD90281F0") > sequencer_order("0055AED6DCD90281E5")
    assert sequencer_order("0055AED6DCD90281E5") > sequencer_order("0055AED6DCD9028")
    assert sequencer_order("0055AED6DCD90281E500") == sequencer_order("0055AED6DCD90281E5")


def test_malformed_ignored_and_skipped_are_counted(s3: Any) -> None:
    event = _put_event(s3, b"{}", "0055AED6DCD90281E5")
    put = event["Records"][0]
    delete = copy.deepcopy(put) | {"eventName": "ObjectRemoved:Delete"}
    bad_sequencer = copy.deepcopy(put)
    bad_sequencer["s3"]["object"]["sequencer"] = "not-hex"
    bad_version = copy.deepcopy(put)
    bad_version["s3"]["object"]["versionId"] = "a/b"
    own = copy.deepcopy(put)
    own["s3"]["bucket"]["name"] = GOV
    metrics = Recorder()
    results = copy_records(
        {"Records": [delete, bad_sequencer, bad_version, own]}, s3, GOV, metrics=metrics
    )
    assert [r.action for r in results] == ["skipped", "malformed", "malformed", "skipped"]
    assert metrics.counts == {"IgnoredEvents": 1, "MalformedEvents": 2, "SkippedObjects": 1}
    copy_records({"no": "records"}, s3, GOV, metrics=metrics)
    assert metrics.counts["MalformedEvents"] == 3


def test_handler_emits_the_alarmed_metrics_as_emf(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The EMF line carries the namespace, dimension and names the product's alarms watch."""
    template = (Path(__file__).parents[2] / "servicecatalog" / "governance-product.yaml").read_text(
        encoding="utf-8"
    )
    for name in ("MalformedEvents", "IgnoredEvents", "SkippedObjects", "copy-artifacts"):
        assert name in template  # the alarm side (trust-infra's HandlerEventAlarms)
    monkeypatch.setitem(handlers.CLIENTS, "s3", s3)
    monkeypatch.setenv("GOVERNANCE_BUCKET", GOV)
    capsys.readouterr()
    copy_artifacts.lambda_handler({"Records": [{"eventName": "ObjectRemoved:Delete"}]}, None)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert len(lines) == 1
    emf = lines[0]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Clearance" and directive["Dimensions"] == [["service"]]
    assert emf["service"] == "copy-artifacts"
    assert sum(emf["IgnoredEvents"]) == 1 and sum(emf["SkippedObjects"]) == 0


# ----------------------------------------------------------------------------- start-approval
def test_start_approval_counts_and_ignores_packages_of_other_accounts() -> None:
    from clearance.handlers.start_approval import start_approval

    event = json.loads(
        (EVENT.parent / "model_package_state_change_pending.json").read_text(encoding="utf-8")
    )
    owner = event["detail"]["ModelPackageArn"].split(":")[4]
    metrics = Recorder()
    result = start_approval(event, object(), "p", account="999999999999", metrics=metrics)
    assert result.action == "ignored" and f"account {owner}" in result.reason
    assert start_approval({"source": "aws.sagemaker"}, object(), "p", metrics=metrics).action in (
        "ignored",
        "malformed",
    )
    assert start_approval([], object(), "p", metrics=metrics).action == "malformed"
    assert metrics.counts == {"IgnoredEvents": 2, "MalformedEvents": 1}


# ------------------------------------------------------------------------- bucket-name squatting
class Recording:
    """Passes calls through to moto and keeps their parameters."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return getattr(self._client, name)(**kwargs)

        return call


def test_every_read_of_a_team_bucket_names_the_owner_its_name_says(s3: Any) -> None:
    """sagemaker-<project id>-<account>-artifacts: S3 refuses the read if another account owns a
    bucket squatting that name (ExpectedBucketOwner / ExpectedSourceBucketOwner)."""
    event = _put_event(s3, b'{"v": 1}', "0055AED6DCD90281E5")
    recording = Recording(s3)
    assert copy_records(event, recording, GOV, team_buckets_only=True)[0].action == "copied"
    reads = [(n, k) for n, k in recording.calls if k.get("Bucket") == TEAM]
    assert reads and all(k["ExpectedBucketOwner"] == "111111111111" for _, k in reads)
    [(_, copied)] = [(n, k) for n, k in recording.calls if n == "copy_object"]
    assert copied["ExpectedSourceBucketOwner"] == "111111111111"


def test_the_handler_copies_team_artifact_buckets_only(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket(Bucket="reports-of-someone")
    s3.put_object(Bucket="reports-of-someone", Key="r.json", Body=b"{}")
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    event["Records"][0]["s3"]["bucket"]["name"] = "reports-of-someone"
    event["Records"][0]["s3"]["object"]["key"] = "r.json"
    monkeypatch.setitem(handlers.CLIENTS, "s3", s3)
    monkeypatch.setenv("GOVERNANCE_BUCKET", GOV)
    monkeypatch.delenv("TEAM_BUCKETS_ONLY", raising=False)
    [result] = copy_artifacts.lambda_handler(event, None)["results"]
    assert result["action"] == "skipped" and "not a team artifact bucket" in result["reason"]


def test_a_record_without_sequencer_or_etag_is_still_copied(s3: Any) -> None:
    """Both are optional in the typed view: an older notification format still works."""
    event = _put_event(s3, b'{"v": 1}', "0055AED6DCD90281E5")
    del event["Records"][0]["s3"]["object"]["sequencer"]
    del event["Records"][0]["s3"]["object"]["eTag"]
    assert copy_records(event, s3, GOV)[0].action == "copied"
