"""Names of the central registry: one model package group per team project, keyed by account +
project, and where that project's evidence may come from.

The governance account owns every group (servicecatalog/governance-product.yaml's registry-groups
Lambda creates it when a team launches a project, with the same function as here):

    group  = <team account id>-<project name>-<project id>
    bucket = sagemaker-<project id>-<team account id>-artifacts   (model-build-product.yaml)

Length budget (SageMaker limits, botocore's shapes):

- project name: ``^[a-zA-Z](-*[a-zA-Z0-9]){0,31}$`` AND at most 32 characters (ProjectEntityName:
  the pattern alone does not count hyphens, ``a-b-c-...`` would pass it at 63 characters);
- project id: ``p-`` + at most 12 lowercase letters/digits (SageMaker's project ids), 14 characters;
- group: 12 + 1 + 32 + 1 + 14 = 60 <= 63 (EntityName ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``), so
  a group name is never truncated, and two projects never share one: the account and the project id
  are both in it, and the project id is unique in its account.
- team bucket: 10 + 14 + 1 + 12 + 10 = 47 <= 63.

Overrides (``policies/overrides/<group>.yaml``) and model card names derive from the group name,
so they are keyed by account + project too: another team cannot name its project after yours and
inherit your override or overwrite your card (its group carries its own account id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "bucket_owner",
    "ARTIFACT_PREFIX",
    "copies_prefix",
    "copy_key",
    "GROUP_MAX",
    "ProjectKey",
    "group_name",
    "parse_group_name",
    "report_location",
    "team_bucket",
]

GROUP_MAX = 63
PROJECT_MAX = 32  # botocore ProjectEntityName max; the pattern alone does not count hyphens
PROJECT_NAME = re.compile(r"^[a-zA-Z](-*[a-zA-Z0-9]){0,31}$")
PROJECT_ID = re.compile(r"^p-[a-z0-9]{1,12}$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# account-<name>-p-<id>: the name may contain hyphens, the id is the last "p-..." segment.
_GROUP = re.compile(
    r"^(?P<account>[0-9]{12})-(?P<project>[a-zA-Z](-*[a-zA-Z0-9]){0,31})-(?P<pid>p-[a-z0-9]{1,12})$"
)


@dataclass(frozen=True)
class ProjectKey:
    """A team project: the key of its group, its override and its model cards."""

    account: str
    project: str
    project_id: str

    @property
    def group(self) -> str:
        return f"{self.account}-{self.project}-{self.project_id}"


def group_name(account: str, project: str, project_id: str) -> str:
    """``<account>-<project>-<project id>``; raises ValueError for any part outside its pattern."""
    if not isinstance(account, str) or not ACCOUNT_ID.match(account):
        raise ValueError(f"team account {account!r} is not 12 digits")
    if not isinstance(project, str) or not PROJECT_NAME.match(project) or len(project) > 32:
        raise ValueError(
            f"project name {project!r} is not a SageMaker project name "
            "(a letter, then up to 31 letters, digits or single hyphens)"
        )
    if not isinstance(project_id, str) or not PROJECT_ID.match(project_id):
        raise ValueError(f"project id {project_id!r} is not p-<up to 12 lowercase letters/digits>")
    name = f"{account}-{project}-{project_id}"
    assert len(name) <= GROUP_MAX, name  # the budget above: 60 at most
    return name


def parse_group_name(name: str) -> ProjectKey | None:
    """The project a central-registry group belongs to, or None for any other name.

    SageMaker lowercases group names inside ARNs; pass the name from DescribeModelPackage (or any
    case: the account and id parts are digits and lowercase, the project name keeps its case).
    """
    if not isinstance(name, str):
        return None
    match = _GROUP.match(name)
    if not match or len(match.group("project")) > PROJECT_MAX:
        return None
    return ProjectKey(match.group("account"), match.group("project"), match.group("pid"))


def team_bucket(key: ProjectKey) -> str:
    """The project's artifact bucket in its team account (model-build-product.yaml's name)."""
    return f"sagemaker-{key.project_id}-{key.account}-artifacts"


_TEAM_BUCKET = re.compile(r"^sagemaker-p-[a-z0-9]{1,12}-(?P<account>[0-9]{12})-artifacts$")


def bucket_owner(bucket: str) -> str | None:
    """The account a team artifact bucket's name says owns it, or None for any other name.

    Bucket names are global: anyone can create ``sagemaker-p-x-<your account>-artifacts`` in
    another account. Readers pass this as ``ExpectedBucketOwner`` so S3 refuses a squatted one.
    """
    match = _TEAM_BUCKET.match(bucket) if isinstance(bucket, str) else None
    return match.group("account") if match else None


def report_location(key: ProjectKey) -> tuple[str, str]:
    """(bucket, key prefix) the project's reports must come from: its own artifact bucket, whose
    whole content belongs to the project (the prefix is empty). Any other bucket, including another
    team's or a ``sagemaker-*`` bucket of the same account, is refused."""
    return team_bucket(key), ""


# ------------------------------------------------------------------ governance copies of evidence
ARTIFACT_PREFIX = "artifacts"
NULL_VERSION = "null"  # S3's own name for the version of an object in an unversioned bucket
_VERSION = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")  # S3 version ids: no "/"


def copy_key(bucket: str, key: str, version_id: str | None, prefix: str = ARTIFACT_PREFIX) -> str:
    """Where the copy of one source VERSION lives in the governance bucket:
    ``<prefix>/<source bucket>/<source key>/<version id or "null">``.

    Injective: the last segment is the version (no "/" in a version id) and the rest is the source
    key, so two versions (or two keys) never share a destination, and an older event can never
    overwrite the copy of a newer PUT. The team's read grant
    (``artifacts/sagemaker-*-<account>-artifacts/*``) still matches.
    """
    version = version_id or NULL_VERSION
    if not _VERSION.match(version):
        raise ValueError(f"version id {version[:80]!r} is not an S3 version id")
    parts = [p for p in (prefix.strip("/"), bucket) if p]
    return "/".join([*parts, key, version])


def copies_prefix(bucket: str, key: str, prefix: str = ARTIFACT_PREFIX) -> str:
    """The folder holding every copied version of ``s3://bucket/key`` (trailing slash)."""
    parts = [p for p in (prefix.strip("/"), bucket) if p]
    return "/".join([*parts, key]) + "/"
