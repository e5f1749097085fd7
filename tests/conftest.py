"""Session-wide settings for the template's own tests: no AWS account, no network, no telemetry."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# AWS-format samples, each folder with a SOURCE.txt (origin, licence); never outside the repo.
REFERENCE_FORMATS = REPO_ROOT / "tests" / "fixtures" / "aws-formats"

# Set before any test module imports boto3 or the SageMaker SDK: both read these at import or at
# client creation.
_TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "SAGEMAKER_USER_CONFIG_OVERRIDE": str(REPO_ROOT / "tests" / "sagemaker-config.yaml"),
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
for _key, _value in _TEST_ENV.items():
    os.environ[_key] = _value
# A developer's real profile or endpoint must never leak into a test run.
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
