"""Clearance: policy-as-code governance for SageMaker model packages."""

__version__ = "0.1.0"
