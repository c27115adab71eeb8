"""JSON Schema validation and the route table shared by 4pass and the agent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).with_name("schemas")
SCHEMA_BASE_URI = "https://4pass.dev/schemas/bridges/v1/"
PROTOCOL_VERSION = "v1"
MAX_BODY_BYTES = 256 * 1024


class MessageValidationError(ValueError):
    """A message does not match its JSON Schema; `errors` lists each problem with its JSON path."""

    def __init__(self, schema_name: str, errors: list[str]) -> None:
        super().__init__(f"{schema_name}: " + "; ".join(errors))
        self.schema_name = schema_name
        self.errors = errors


def schema_names() -> list[str]:
    return sorted(path.stem for path in SCHEMA_DIR.glob("*.json") if path.stem != "common")


@cache
def _schema_documents() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.json")}


def _inline_references(node: Any, documents: dict[str, dict[str, Any]], depth: int = 0) -> Any:
    """Replace `{"$ref": "file.json#/$defs/x"}` by the referenced schema (the schemas have no cycles).

    Validating against the inlined schema skips URI resolution on every message, which is most of the
    validation cost with the `referencing` registry.
    """
    if depth > 32:
        raise ValueError("schema references nest too deeply (cycle?)")
    if isinstance(node, list):
        return [_inline_references(item, documents, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target_file, _, pointer = node["$ref"].partition("#")
        target: Any = documents[target_file]
        for part in filter(None, pointer.split("/")):
            target = target[part]
        target = {key: value for key, value in target.items() if key not in ("$id", "$schema", "title")}
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _inline_references({**target, **siblings}, documents, depth + 1)
    return {key: _inline_references(value, documents, depth) for key, value in node.items()}


@cache
def _validator(schema_name: str) -> Any:
    import jsonschema

    documents = _schema_documents()
    if f"{schema_name}.json" not in documents:
        raise KeyError(f"no schema named {schema_name!r}")
    schema = documents[f"{schema_name}.json"]
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    inlined = _inline_references(schema, documents)
    inlined.pop("$id", None)
    return validator_class(inlined, format_checker=validator_class.FORMAT_CHECKER)


def validate_message(schema_name: str, message: Any) -> None:
    """Raise MessageValidationError listing every violation of `schema_name` in `message`."""
    errors = sorted(_validator(schema_name).iter_errors(message), key=lambda error: list(error.path))
    if errors:
        raise MessageValidationError(
            schema_name, [f"{'/'.join(str(p) for p in error.path) or '<root>'}: {error.message}" for error in errors]
        )


@dataclass(frozen=True)
class Route:
    """One protocol operation: HTTP method + path pattern, and the schemas of its two bodies."""

    name: str
    method: str
    pattern: re.Pattern[str]
    request_schema: str | None
    response_schema: str


_ID = r"(?P<instance_id>[A-Za-z0-9._:-]{1,64})"
_COID = r"(?P<client_order_id>[A-Za-z0-9._:-]{1,64})"

ROUTES: tuple[Route, ...] = (
    Route("health", "GET", re.compile(r"^/v1/health$"), None, "health_response"),
    Route("start_instance", "POST", re.compile(r"^/v1/instances$"), "instance_start_request", "instance_response"),
    Route("get_instance", "GET", re.compile(rf"^/v1/instances/{_ID}$"), None, "instance_response"),
    Route("stop_instance", "POST", re.compile(rf"^/v1/instances/{_ID}/stop$"), "instance_action_request", "instance_response"),
    Route("restart_instance", "POST", re.compile(rf"^/v1/instances/{_ID}/restart$"), "instance_action_request", "instance_response"),
    Route("place_order", "POST", re.compile(rf"^/v1/instances/{_ID}/orders$"), "order_place_request", "order_place_response"),
    Route("list_orders", "GET", re.compile(rf"^/v1/instances/{_ID}/orders$"), None, "order_list_response"),
    Route("get_order", "GET", re.compile(rf"^/v1/instances/{_ID}/orders/{_COID}$"), None, "order_response"),
    Route("cancel_order", "POST", re.compile(rf"^/v1/instances/{_ID}/orders/{_COID}/cancel$"), "order_cancel_request", "order_response"),
    Route("positions", "GET", re.compile(rf"^/v1/instances/{_ID}/positions$"), None, "positions_response"),
    Route("account", "GET", re.compile(rf"^/v1/instances/{_ID}/account$"), None, "account_response"),
    Route("symbols", "GET", re.compile(rf"^/v1/instances/{_ID}/symbols$"), None, "symbols_response"),
    Route("symbol", "GET", re.compile(rf"^/v1/instances/{_ID}/symbols/(?P<symbol>[A-Za-z0-9._#!+-]{{1,32}})$"), None, "symbol_response"),
    Route("events", "GET", re.compile(rf"^/v1/instances/{_ID}/events$"), None, "events_response"),
    Route("sim_command", "POST", re.compile(rf"^/v1/instances/{_ID}/sim$"), "sim_command_request", "sim_command_response"),
)


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """Find the route for `method path`; returns None for an unknown path, raises LookupError for a bad method."""
    allowed: list[str] = []
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
    if allowed:
        raise LookupError(", ".join(sorted(set(allowed))))
    return None


def encode(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
