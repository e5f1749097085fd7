"""Two accounts in the stand-in: team 111111111111, governance 222222222222.

moto 5.2.5 keys its state by account and picks the account from the request's credentials: keys
issued by moto's own ``sts:AssumeRole`` act in the account of the role ARN (the role need not
exist), anything else acts in the default account (123456789012, or ``MOTO_ACCOUNT_ID``). So each
principal of the flow is a session that assumed its role in its account, and every call lands in
the right account, on the moto server (:class:`clearance_dev.standin.LocalAWS`) as in
``mock_aws()``.

Names follow the templates (servicecatalog/*.yaml) and :mod:`clearance.contract.names`, equal to
the authorization harness's world (tests/authz/authz_harness.py): a recorded call is a harness call.
Project ``credit-risk`` / ``p-abcdefghijkl`` of the team account, group
``111111111111-credit-risk-p-abcdefghijkl`` in the governance account, team bucket
``sagemaker-p-abcdefghijkl-111111111111-artifacts``, governance bucket
``clearance-gov-222222222222-<region>``.

One moto gap is shimmed: moto has no cross-account model package groups (CreateModelPackage with
another account's group ARN answers "Model Package Group does not exist"), so the team's
registration is sent with governance credentials while it is recorded as the team pipeline's call;
whether the team pipeline may make it is decided by the harness from the group's resource policy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.contract import names
from clearance_dev.requests import ENV_PATH, ENV_PRINCIPAL, Recorder

TEAM_ACCOUNT = "111111111111"
GOVERNANCE_ACCOUNT = "222222222222"
PROJECT_NAME = "credit-risk"
PROJECT_ID = "p-abcdefghijkl"
NAME_PREFIX = "clearance"
PROJECT = names.ProjectKey(TEAM_ACCOUNT, PROJECT_NAME, PROJECT_ID)
GROUP = PROJECT.group
TEAM_BUCKET = names.team_bucket(PROJECT)
APPROVAL_PIPELINE = f"{NAME_PREFIX}-approval"
SITE_ENV = "CLEARANCE_RECORD_SITE"
SRC_ENV = "CLEARANCE_RECORD_SRC"
SETUP = "setup"  # administrators preparing the stand-in; not a principal of the flow

# principal (the harness's name) -> (account, role path+name as the templates create it)
ROLES: dict[str, tuple[str, str]] = {
    "team-pipeline": (TEAM_ACCOUNT, f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-smexec"),
    "team-admin": (TEAM_ACCOUNT, "team-admin"),
    "approval-role": (GOVERNANCE_ACCOUNT, f"{NAME_PREFIX}-approval-pipeline-role"),
    "start-approval-role": (GOVERNANCE_ACCOUNT, f"{NAME_PREFIX}-start-approval-role"),
    "copy-role": (GOVERNANCE_ACCOUNT, f"{NAME_PREFIX}-copy-artifacts-role"),
    "registry-groups-role": (GOVERNANCE_ACCOUNT, f"{NAME_PREFIX}-registry-groups-role"),
    "governance-admin": (GOVERNANCE_ACCOUNT, "governance-admin"),
}
# Setup work happens as each account's administrator.
SETUP_ROLE = {TEAM_ACCOUNT: "team-admin", GOVERNANCE_ACCOUNT: "governance-admin"}


def governance_bucket(region: str) -> str:
    """``${NamePrefix}-gov-${AWS::AccountId}-${AWS::Region}`` (governance-product.yaml)."""
    return f"{NAME_PREFIX}-gov-{GOVERNANCE_ACCOUNT}-{region}"


def role_arn(principal: str) -> str:
    account, role = ROLES[principal]
    return f"arn:aws:iam::{account}:role/{role}"


def _object_lock_copy_header(request: Any, **_: Any) -> None:
    """moto 5.2.5 refuses a CopyObject into a bucket with a default Object Lock retention unless it
    carries Content-MD5 or x-amz-sdk-checksum-algorithm (S3 asks that of uploads with a body; a copy
    has none, and botocore sends neither). Stand-in only: the shipped code sends the real request.
    """
    request.headers["x-amz-sdk-checksum-algorithm"] = "SHA256"


def _group_arn_to_name(params: dict[str, Any], model: Any, **_: Any) -> None:
    if model.name != "CreateModelPackage":
        return
    group = params.get("ModelPackageGroupName")
    if isinstance(group, str) and group.startswith("arn:"):
        params["ModelPackageGroupName"] = group.rsplit("/", 1)[-1]


@dataclass
class TwoAccounts:
    """Sessions of the flow's principals on the stand-in (``endpoint_url`` None: ``mock_aws``)."""

    region: str
    endpoint_url: str | None = None
    recorder: Recorder | None = None

    def _credentials(self, principal: str) -> dict[str, str]:
        import boto3

        account, role = ROLES[principal]
        sts = boto3.client(
            "sts",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the stand-in's fake key
        )
        issued = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName=f"demo-{principal}"
        )["Credentials"]
        return {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }

    def session(self, principal: str, *, recorded_as: str | None = None) -> Any:
        """A boto3 session acting as ``principal`` in its account, recorded as ``recorded_as``."""
        import boto3

        session = boto3.session.Session(region_name=self.region, **self._credentials(principal))
        session.events.register("before-sign.s3.CopyObject", _object_lock_copy_header)
        if self.recorder is not None:
            self.recorder.attach(session, recorded_as or principal)
        return session

    def client(self, principal: str, service: str, *, recorded_as: str | None = None) -> Any:
        session = self.session(principal, recorded_as=recorded_as)
        return session.client(service, endpoint_url=self.endpoint_url)

    def setup_client(self, account: str, service: str) -> Any:
        """An administrator's client of ``account``, recorded as setup (not part of the flow)."""
        return self.client(SETUP_ROLE[account], service, recorded_as=SETUP)

    def registration_client(self) -> Any:
        """The team pipeline's SageMaker client for the central registry (see the module note:
        sent with governance credentials because moto lacks cross-account groups, and with the
        group's name because moto does not resolve a group ARN; recorded as sent by the team)."""
        session = self.session("governance-admin", recorded_as="team-pipeline")
        # On the generic event, registered last: botocore calls more specific handlers first,
        # and the recorder (generic) must see the request as the team sent it.
        session.events.register_last("before-parameter-build", _group_arn_to_name)
        return session.client("sagemaker", endpoint_url=self.endpoint_url)

    def environment(self, principal: str) -> dict[str, str]:
        """Environment of a subprocess acting as ``principal`` (credentials, recording)."""
        creds = self._credentials(principal)
        env = {
            "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": creds["aws_session_token"],
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.recorder is not None:
            site = Path(__file__).resolve().parent / "recording_site"
            src = Path(__file__).resolve().parents[1]
            path = [str(site), str(src), os.environ.get("PYTHONPATH", "")]
            env.update(
                {
                    ENV_PATH: str(self.recorder.path),
                    ENV_PRINCIPAL: principal,
                    "PYTHONPATH": os.pathsep.join(p for p in path if p),
                    # The local pipeline runner re-applies these around a step's own PYTHONPATH.
                    SITE_ENV: str(site),
                    SRC_ENV: str(src),
                }
            )
        return env
