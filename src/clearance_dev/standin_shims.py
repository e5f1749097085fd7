"""Stand-in shims for the deploy side: what moto 5.x lacks and the deploy code relies on.

- :func:`record_last_modified_by`: UpdateModelPackage records the caller's IAM identity;
- :func:`deploy_shims`: that, plus AddTags/ListTags on model packages, UpdateEndpoint with
  SageMaker's semantics, and DescribeEndpoint's DataCaptureConfig in the service's summary shape.

Each is tested against botocore's shapes in tests/deploy.

LastModifiedBy
--------------

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


def _package(backend: Any, arn: str) -> Any:
    return backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))


@contextlib.contextmanager
def deploy_shims() -> Iterator[None]:
    """All deploy-side shims for the duration of a ``with`` block.

    - AddTags/ListTags on a model package ARN (moto only tags groups): tags replace same-key tags,
      as the service does.
    - UpdateEndpoint: switches the endpoint to the new config; a config that does not exist is a
      ValidationError and the endpoint keeps serving the previous config (SageMaker keeps the old
      fleet in service until the new one is healthy, and rolls back when it is not).
    - DescribeEndpoint: DataCaptureConfig as ``DataCaptureConfigSummary`` (EnableCapture,
      CaptureStatus, CurrentSamplingPercentage, DestinationS3Uri), not moto's copy of the config.
    """
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import ActionResult, SageMakerResponse

    original_resource = SageMakerModelBackend._get_resource_from_arn
    original_add_tags = SageMakerModelBackend.add_tags
    original_describe = SageMakerModelBackend.describe_endpoint

    def get_resource(self: Any, arn: str) -> Any:
        if ":model-package/" in arn:
            package = _package(self, arn)
            if package is None:
                raise ValidationError(message=f"Could not find model package {arn}")
            if package.tags is None:
                package.tags = []
            return package
        return original_resource(self, arn)

    def add_tags(self: Any, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        resource = get_resource(self, arn)
        keys = {tag["Key"] for tag in tags}
        resource.tags[:] = [tag for tag in resource.tags if tag["Key"] not in keys]
        return original_add_tags(self, arn, tags)

    def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
        described = dict(original_describe(self, endpoint_name))
        capture = described.get("DataCaptureConfig") or {}
        if capture:
            summary = {
                "EnableCapture": bool(capture.get("EnableCapture")),
                "CaptureStatus": "Started" if capture.get("EnableCapture") else "Stopped",
                "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 0),
                "DestinationS3Uri": capture.get("DestinationS3Uri", ""),
                "KmsKeyId": capture.get("KmsKeyId", ""),
            }
            described["DataCaptureConfig"] = summary
        return described

    def update_endpoint(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint {name}")
        config_name = self._get_param("EndpointConfigName")
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            raise ValidationError(message=f"Could not find endpoint configuration {config_name}")
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config.production_variants
        )
        endpoint.data_capture_config = config.data_capture_config
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerModelBackend._get_resource_from_arn = get_resource  # type: ignore[method-assign]
    SageMakerModelBackend.add_tags = add_tags  # type: ignore[method-assign]
    SageMakerModelBackend.describe_endpoint = describe_endpoint  # type: ignore[method-assign]
    SageMakerResponse.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    try:
        with record_last_modified_by():
            yield
    finally:
        SageMakerModelBackend._get_resource_from_arn = original_resource  # type: ignore[method-assign]
        SageMakerModelBackend.add_tags = original_add_tags  # type: ignore[method-assign]
        SageMakerModelBackend.describe_endpoint = original_describe  # type: ignore[method-assign]
        del SageMakerResponse.update_endpoint  # type: ignore[attr-defined]
