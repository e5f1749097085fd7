"""LocalAWS: moto's server on loopback, environment set for the block and restored after it."""

from __future__ import annotations

import os
import socket

import boto3
import pytest

from clearance_dev.standin import LocalAWS


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def test_stand_in_serves_aws_calls_on_loopback() -> None:
    """Clients created in the block reach the server through AWS_ENDPOINT_URL."""
    with LocalAWS() as aws:
        assert aws.endpoint_url is not None
        assert aws.endpoint_url.startswith("http://127.0.0.1:")
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="standin-test")
        s3.put_object(Bucket="standin-test", Key="k", Body=b"v")
        assert aws.client("s3").get_object(Bucket="standin-test", Key="k")["Body"].read() == b"v"
        sm = boto3.client("sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="g")
        assert sm.describe_model_package_group(ModelPackageGroupName="g")["ModelPackageGroupName"]


def test_stand_in_stops_and_restores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the block: port closed, AWS_ENDPOINT_URL and credentials exactly as before."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://example.invalid")
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-looking-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-looking-token")
    before = dict(os.environ)
    with LocalAWS() as aws:
        host, port = aws.endpoint_url.removeprefix("http://").split(":")
        # Never a real identity inside the block, whatever the caller had configured.
        assert "AWS_PROFILE" not in os.environ
        assert "AWS_SESSION_TOKEN" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_SECRET_ACCESS_KEY"] == "testing"
        assert _port_open(host, int(port))
    assert dict(os.environ) == before
    assert not aws.running
    assert not _port_open(host, int(port))


def test_stand_in_stops_when_the_block_raises() -> None:
    """An exception inside the block still stops the server and restores the environment."""
    before = dict(os.environ)
    aws = LocalAWS()
    with pytest.raises(RuntimeError, match="boom"):
        with aws:
            endpoint = aws.endpoint_url
            raise RuntimeError("boom")
    assert not aws.running
    assert dict(os.environ) == before
    host, port = endpoint.removeprefix("http://").split(":")
    assert not _port_open(host, int(port))


def test_two_stand_ins_get_different_free_ports() -> None:
    """Port 0 lets the kernel choose, so parallel demos/tests never collide."""
    with LocalAWS() as one, LocalAWS() as two:
        assert one.endpoint_url != two.endpoint_url
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_stand_in_is_not_reentrant() -> None:
    """Starting a running instance again is an error, not a leaked second server."""
    with LocalAWS() as aws:
        with pytest.raises(RuntimeError, match="already running"):
            aws.start()


def test_each_block_starts_empty() -> None:
    """moto state is process-global; a new block must not see the previous block's resources."""
    with LocalAWS():
        boto3.client("s3").create_bucket(Bucket="left-behind")
    with LocalAWS():
        assert boto3.client("s3").list_buckets()["Buckets"] == []
