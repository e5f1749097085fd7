"""Render the CloudFormation templates' policies with concrete accounts (for the IAM simulator).

A small resolver for the intrinsics the Clearance templates use (Ref, Fn::GetAtt, Fn::Sub,
Fn::FindInMap, Fn::Join, Fn::Split, Fn::Select, Fn::If with Conditions, AWS::NoValue), so the
policies the simulator evaluates are exactly the templates' policies with ids filled in. Physical
names follow the templates' own name properties; ARNs follow each service's documented format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "servicecatalog"
NO_VALUE = object()


def load(name: str) -> dict[str, Any]:
    template, matches = decode_str((TEMPLATE_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert not matches and isinstance(template, dict), matches
    return json.loads(json.dumps(template))


class Rendered:
    """One template deployed in one account with the given parameters."""

    def __init__(
        self,
        template: dict[str, Any],
        params: dict[str, Any],
        account: str,
        region: str = "us-east-1",
        attributes: dict[tuple[str, str], Any] | None = None,
    ) -> None:
        self.template = template
        self.account = account
        self.region = region
        self.attributes = attributes or {}
        self.params: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = params.get(name, spec.get("Default"))
            if value is None:
                raise KeyError(f"parameter {name} has no value")
            if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            self.params[name] = value
        unknown = set(params) - set(self.params)
        assert not unknown, f"unknown parameters {unknown}"
        self.resources = template["Resources"]

    # ------------------------------------------------------------------ intrinsics
    def pseudo(self, name: str) -> str:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "stack",
        }[name]

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:  # noqa: C901, PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(node, list):
            values = [self.resolve(v) for v in node]
            return [v for v in values if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(resource, attribute)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in arg)
                return self.template["Mappings"][mapping][top][second]
            if key == "Fn::Join":
                sep, values = arg
                return sep.join(str(v) for v in self.resolve(values))
            if key == "Fn::Split":
                sep, value = arg
                return str(self.resolve(value)).split(sep)
            if key == "Fn::Select":
                index, values = arg
                return self.resolve(values)[int(self.resolve(index))]
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
        out = {}
        for key, value in node.items():
            resolved = self.resolve(value)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        resource = self.resources[name]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            return self.resolve(props["RoleName"])
        if kind == "AWS::S3::Bucket":
            return self.resolve(props["BucketName"])
        if kind == "AWS::IAM::ManagedPolicy":
            return self.get_att(name, "PolicyArn")
        if kind == "AWS::Lambda::Function":
            return self.resolve(props["FunctionName"])
        if kind == "AWS::SageMaker::Pipeline":
            return self.resolve(props["PipelineName"])
        if kind == "AWS::KMS::Key":
            return f"{name.lower()}-0000"
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(props["LogGroupName"])
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.resolve(props['QueueName'])}"
        if kind == "AWS::SNS::Topic":
            return self.get_att(name, "TopicArn")
        if kind == "AWS::CodePipeline::Pipeline":
            return self.resolve(props["Name"])
        if kind == "AWS::CodeBuild::Project":
            return self.resolve(props["Name"])
        return name

    def get_att(self, name: str, attribute: str) -> Any:  # noqa: PLR0911 - one ARN format per type
        if (name, attribute) in self.attributes:
            return self.attributes[(name, attribute)]
        resource = self.resources[name]
        props = resource.get("Properties", {})
        kind, region, account = resource["Type"], self.region, self.account
        if kind == "AWS::IAM::Role":
            path = props.get("Path", "/")
            return f"arn:aws:iam::{account}:role{path}{self.resolve(props['RoleName'])}"
        if kind == "AWS::IAM::ManagedPolicy":
            path = props.get("Path", "/")
            return f"arn:aws:iam::{account}:policy{path}{self.resolve(props['ManagedPolicyName'])}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.resolve(props['BucketName'])}"
        if kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{region}:{account}:key/{self.ref(name)}"
        if kind == "AWS::SQS::Queue":
            if attribute == "QueueName":
                return self.resolve(props["QueueName"])
            return f"arn:aws:sqs:{region}:{account}:{self.resolve(props['QueueName'])}"
        if kind == "AWS::Logs::LogGroup":
            return (
                f"arn:aws:logs:{region}:{account}:log-group:{self.resolve(props['LogGroupName'])}:*"
            )
        if kind == "AWS::Lambda::Function":
            return (
                f"arn:aws:lambda:{region}:{account}:function:{self.resolve(props['FunctionName'])}"
            )
        if kind == "AWS::Events::Rule":
            return f"arn:aws:events:{region}:{account}:rule/{self.resolve(props['Name'])}"
        if kind == "AWS::CodeBuild::Project":
            return f"arn:aws:codebuild:{region}:{account}:project/{self.resolve(props['Name'])}"
        if kind == "AWS::CodeCommit::Repository":
            return f"arn:aws:codecommit:{region}:{account}:{self.resolve(props['RepositoryName'])}"
        if kind == "AWS::CodeConnections::Connection":
            return f"arn:aws:codeconnections:{region}:{account}:connection/{name.lower()}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{region}:{account}:{self.resolve(props['TopicName'])}"
        raise KeyError(f"no ARN format for {kind} {name}.{attribute}")

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in values:
                return str(values[expr])
            if "." in expr and not expr.startswith("AWS::"):
                resource, attribute = expr.split(".", 1)
                return str(self.get_att(resource, attribute))
            value = self.ref(expr)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    # ------------------------------------------------------------------ policies
    def properties(self, name: str) -> dict[str, Any]:
        return self.resolve(self.resources[name].get("Properties", {}))

    def role_policies(self, name: str) -> list[dict[str, Any]]:
        """A role's inline policies as simulator identity policies ({name, policy})."""
        props = self.resources[name]["Properties"]
        return [
            {"name": p["PolicyName"], "policy": self.resolve(p["PolicyDocument"])}
            for p in props.get("Policies", [])
        ]

    def role_arn(self, name: str) -> str:
        return self.get_att(name, "Arn")
