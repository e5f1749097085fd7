"""Render pipeline definitions with no AWS account and no network: an in-process S3/STS stand-in.

Building a definition is not free of AWS calls: the SageMaker SDK asks STS for the account (to name
the default bucket), and uploads the processing scripts and the Clarify analysis configurations to
S3 while it compiles the steps. `offline_aws()` answers those calls in process with moto's
`mock_aws`, with fake credentials, a fake role and the SDK's telemetry switched off, and restores
the environment afterwards.

    with offline_aws("us-east-1") as aws:
        pipeline = get_pipeline(region="us-east-1", role=aws.role_arn)
        print(pipeline.definition())

Start it before anything creates a boto3 session or a SageMaker session: clients created earlier
keep talking to the real endpoints.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/offline-sagemaker-execution-role"
# Opting out of the SDK's usage telemetry: offline means no network call at all.
SAGEMAKER_CONFIG = """\
SchemaVersion: "1.0"
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


@dataclass(frozen=True)
class OfflineAWS:
    """What the stand-in provides: a region, a role the SDK accepts, the account id."""

    region: str
    role_arn: str = FAKE_ROLE_ARN
    account_id: str = ACCOUNT_ID

    @property
    def default_bucket(self) -> str:
        """The bucket the SageMaker SDK names by default (`sagemaker-<region>-<account>`)."""
        return f"sagemaker-{self.region}-{self.account_id}"


@contextmanager
def offline_aws(region: str, buckets: tuple[str, ...] = ()) -> Iterator[OfflineAWS]:
    """Fake AWS for the duration of the block; `buckets` are created up front."""
    from moto import mock_aws  # a dev dependency: only the offline path needs it

    with tempfile.TemporaryDirectory(prefix="offline-sagemaker-") as tmp:
        config_file = Path(tmp) / "sagemaker-config.yaml"
        config_file.write_text(SAGEMAKER_CONFIG)
        env = {
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # No IAM to ask whether the fake role may do what the jobs need.
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config_file),
        }
        # A real profile or endpoint must not leak into an offline render.
        removed = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS")
        saved = {key: os.environ.get(key) for key in (*env, *removed)}
        os.environ.update(env)
        for key in removed:
            os.environ.pop(key, None)
        try:
            with mock_aws():
                import boto3

                aws = OfflineAWS(region=region)
                s3 = boto3.client("s3", region_name=region)
                for bucket in buckets:
                    _create_bucket(s3, bucket, region)
                yield aws
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _create_bucket(s3, bucket: str, region: str) -> None:
    if region == "us-east-1":  # S3 rejects a location constraint naming us-east-1
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
