"""The vendor's request schema, made checkable in Python.

`openapi-async.yaml` is a verbatim copy of shared/edges/openapi-async.yaml (a test keeps them equal).
OpenAPI's `nullable` and the JavaScript-style `/…/` pattern are translated for jsonschema here, once.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_FILE = Path(__file__).with_name("openapi-async.yaml")
ASYNC_PATH = "/actions/salesnavigator-search-company-metrics/run/async"


@functools.cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))


def _translate(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_translate(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _translate(target, root)
    out = {k: _translate(v, root) for k, v in node.items() if not k.startswith("x-")}
    out.pop("example", None)
    out.pop("examples", None)
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.startswith("/") and pattern.endswith("/"):
        out["pattern"] = pattern[1:-1]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def async_body_schema() -> dict[str, Any]:
    operation = spec()["paths"][ASYNC_PATH]["post"]
    raw = operation["requestBody"]["content"]["application/json"]["schema"]
    return _translate(raw, spec())


@functools.cache
def callback_body_schema() -> dict[str, Any]:
    operation = spec()["paths"][ASYNC_PATH]["post"]
    (expression,) = operation["callbacks"]["onSave"].values()
    raw = expression["post"]["requestBody"]["content"]["application/json"]["schema"]
    return _translate(raw, spec())


@functools.cache
def schedule_body_schema() -> dict[str, Any]:
    """The async body plus the schedule fields of API-NOTES.md (the vendor's page gives no schema)."""
    schema = copy.deepcopy(async_body_schema())
    schema["properties"].update(
        {
            "cron": {"type": "string", "maxLength": 256, "minLength": 1},
            "timezone": {"type": ["string", "null"]},
            "schedule_at": {"type": ["string", "null"], "format": "date-time"},
        }
    )
    return schema


@functools.cache
def live_body_schema() -> dict[str, Any]:
    base = async_body_schema()["properties"]
    return {
        "type": "object",
        "properties": {
            "input": base["inputs"]["items"],
            "identity_ids": base["identity_ids"],
            "identity_mode": base["identity_mode"],
        },
        "required": ["input"],
        "additionalProperties": False,
    }


def errors(schema: dict[str, Any], body: Any) -> list[jsonschema.ValidationError]:
    """Every way `body` breaks `schema`, shallowest first."""
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return sorted(validator.iter_errors(body), key=lambda e: (len(e.absolute_path), e.message))
