"""Test-session settings: no AWS account, no network, no SDK telemetry.

Set at import, before any test module imports boto3 or the SageMaker SDK: both read these when
they are imported or create clients (`import sagemaker.mlops` already needs a region).
"""

from __future__ import annotations

import os

_TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # No IAM to ask whether the fake role may run the jobs.
    "SAGEMAKER_VALIDATE_ROLE": "false",
}
for _key, _value in _TEST_ENV.items():
    os.environ[_key] = _value
# A developer's real profile or endpoint must never leak into a test run.
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)
