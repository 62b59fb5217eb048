"""CloudFormation's template language as the local stack reads it: YAML with the short tags (!Ref, !Sub, !GetAtt,
...) loaded as the long-form dicts they stand for, and the intrinsic functions a local stack can evaluate, with
the pseudo parameters (stack name, region, account) of the local stack.

Apart from local/template.py (what the stack takes from a SAM template), the deploy preflight reads templates
with it too.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

LOCAL_STACK_NAME = "order-engine"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "000000000000"


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns every `!Tag value` into CloudFormation's long form (`{"Fn::Tag": value}`)."""


def _construct_tag(loader: CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=CloudFormationLoader) or {}


class Resolver:
    """Evaluates the intrinsic functions a local stack can know: Ref to parameters and pseudo parameters,
    Fn::Sub, Fn::Join, Fn::GetAtt of a function's Arn, Fn::If is not evaluated (its first branch is kept)."""

    def __init__(self, resources: Mapping[str, Any], parameters: Mapping[str, Any], stack_name: str):
        self.resources = resources
        self.parameters = dict(parameters)
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return name  # a resource: its logical id stands in for its physical id

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id, {})
        if resource.get("Type") == "AWS::Serverless::Function" and attribute == "Arn":
            name = self.resolve((resource.get("Properties") or {}).get("FunctionName")) or logical_id
            return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{name}"
        return f"{logical_id}.{attribute}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(i)) for i in self.resolve(items))
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::If":
                return self.resolve(arg[1])
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)
