"""Stand-in shim: moto's model packages get a real ``LastModifiedBy.IamIdentity``.

SageMaker records on every UpdateModelPackage the IAM identity of the caller
(``LastModifiedBy.IamIdentity.Arn``: ``arn:aws:sts::<account>:assumed-role/<role>/<session>`` for
a role session). The deploy gate reads it to tell a governance approval from a hand approval.
moto 5.x leaves ``LastModifiedBy`` as the creator's fake Studio user profile and never sets
``IamIdentity``, so without this shim every package would look hand-approved (the gate would refuse
all of them, which hides bugs as well).

:func:`record_last_modified_by` patches moto's SageMaker response handler for the duration of a
``with`` block: after each successful UpdateModelPackage it resolves the request's access key with
moto's own STS backend (the same lookup as GetCallerIdentity, so sts:AssumeRole sessions give the
assumed-role ARN and the default test credentials give ``user/moto``) and stores the identity on the
package. It works for ``mock_aws`` and for the threaded server the stand-in runs (same process), so
calls made by subprocesses (the demo's approval steps) are recorded too. The shape it writes is
checked against botocore's ``UserContext`` shape in tests/deploy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def caller_identity(response: Any) -> dict[str, str]:
    """IamIdentity for the access key of the request moto is handling."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    account = response.current_account
    partition = get_partition(response.region)
    principal_id, arn, _ = sts_backends[account][partition].get_caller_identity(
        response.get_access_key(), response.region
    )
    return {"Arn": arn, "PrincipalId": principal_id}


@contextlib.contextmanager
def record_last_modified_by() -> Iterator[None]:
    """Inside the block, UpdateModelPackage records the caller in ``LastModifiedBy.IamIdentity``."""
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.update_model_package

    def update_model_package(self: Any) -> Any:
        result = original(self)
        arn = self._get_param("ModelPackageArn")
        backend = self.sagemaker_backend
        package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
        if package is not None:
            package.last_modified_by = {**(package.created_by or {})}
            package.last_modified_by["IamIdentity"] = caller_identity(self)
        return result

    SageMakerResponse.update_model_package = update_model_package  # type: ignore[method-assign]
    try:
        yield
    finally:
        SageMakerResponse.update_model_package = original  # type: ignore[method-assign]
