"""The model package ARN: one strict pattern for every input that carries one.

arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version> (or unversioned);
the name follows botocore's EntityName, the account is 12 digits.
"""

from __future__ import annotations

import re

MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]{9,16}):(?P<account>\d{12}):"
    r"model-package/(?P<name>[A-Za-z0-9](-*[A-Za-z0-9]){0,62})(/(?P<version>\d+))?$"
)


def is_model_package_arn(value: object) -> bool:
    """True for a string that matches :data:`MODEL_PACKAGE_ARN`."""
    return isinstance(value, str) and MODEL_PACKAGE_ARN.match(value) is not None
