"""Reading policy YAML: strict loading (no duplicate keys), sources and versions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from clearance.policy.model import POLICY_ID_PATTERN, PolicyError
from clearance.policy.rules import _type_name


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys.

    PyYAML silently keeps the last one, and a policy with two ``max:`` lines would mean
    something its author did not read.
    """


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            raise PolicyError(
                "yaml",
                f"unhashable mapping key at line {key_node.start_mark.line + 1}",
                "Use plain strings as keys",
            ) from None
        if duplicate:
            rule_id = next(
                (
                    v.value
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode)
                    and k.value == "id"
                    and isinstance(v, yaml.ScalarNode)
                ),
                None,
            )
            raise PolicyError(
                str(key),
                f"duplicate key at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key].start_mark.line + 1})",
                "Keep one of them",
                rule=rule_id,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except PolicyError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise PolicyError(
            "yaml", f"not valid YAML{where} ({problem})", "Fix the YAML syntax"
        ) from None
    except RecursionError:
        raise PolicyError("yaml", "nested too deeply", "Write a flat policy document") from None


def _read_source(path_or_text: str | Path) -> tuple[str, str, str | None]:
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and (
            path_or_text.endswith((".yaml", ".yml", ".json")) or Path(path_or_text).is_file()  # noqa: PTH113
        )
    ):
        path = Path(path_or_text)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise PolicyError(
                "file", f"{path} does not exist", "Pass the path of a policy YAML file"
            ) from None
        except OSError as exc:
            raise PolicyError(
                "file", f"cannot read {path} ({exc.strerror or exc})", "Check the path"
            ) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PolicyError("file", f"{path} is not UTF-8 text", "Save it as UTF-8") from None
        return text, str(path), path.stem
    if not isinstance(path_or_text, str):
        raise PolicyError("file", "expected a path or YAML text", "Pass a policy file path")
    return path_or_text, "inline", None


def _safe_id(stem: str) -> str:
    """Turn a file stem into a policy id that fits the metadata value pattern."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:@+=/-]", "-", stem).strip("-_.") or "inline"
    return cleaned[:100]


def _parse_version(value: Any, *, rule: str | None) -> int | str:
    if value is None:
        raise PolicyError(
            "version",
            "missing",
            "Add 'version: 1' (an integer you raise on every change)",
            rule=rule,
        )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(
            "version",
            f"expected an integer, got {_type_name(value)}",
            "Write e.g. 'version: 1'",
            rule=rule,
        )
    if isinstance(value, int) and value < 1:
        raise PolicyError("version", f"{value} is not positive", "Use an integer >= 1", rule=rule)
    if isinstance(value, str) and not POLICY_ID_PATTERN.match(value):
        raise PolicyError(
            "version",
            f"{value!r} is not a valid version",
            "Use an integer, or a short string of letters, digits and . - _",
            rule=rule,
        )
    return value
