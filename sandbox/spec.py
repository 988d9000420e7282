"""Validate Bot API calls the way Telegram does, using the tables derived from the official spec.

Everything here is pure: no HTTP, no world state. ``validate(method, params)`` either returns a
``ValidatedCall`` (parameters coerced to their spec types, message text parsed into what the user
would see) or raises ``ApiError`` carrying Telegram's error code and description.

Where the real error text is known it is used verbatim ("Bad Request: message text is empty",
"Bad Request: BUTTON_DATA_INVALID", "Bad Request: can't parse entities: ..."); elsewhere the text
follows Telegram's style and names the offending parameter.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from careloop.sandbox.errors import ApiError, bad_request
from careloop.sandbox.formatting import FormattedText, format_text, is_valid_url, utf16_len

SPEC_FILE = "botapi_methods.json"

TEXT_LIMIT_ERRORS = {"text": "message is too long", "caption": "message caption is too long"}
MISSING_PARAM_ERRORS = {
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
}
# (owner, field) -> Telegram's own description for any violation of that field's rules.
KNOWN_FIELD_ERRORS = {
    ("InlineKeyboardButton", "callback_data"): "BUTTON_DATA_INVALID",
    ("InlineKeyboardButton", "url"): "BUTTON_URL_INVALID",
    ("BotCommand", "command"): "BOT_COMMAND_INVALID",
    ("BotCommand", "description"): "BOT_COMMAND_DESCRIPTION_INVALID",
    ("sendChatAction", "action"): "wrong parameter action in request",
}
# Parameters no longer documented that Telegram still honours (aiogram still sends them).
LEGACY_PARAMS: dict[str, list[str]] = {
    "reply_to_message_id": ["Integer"],
    "allow_sending_without_reply": ["Boolean"],
    "disable_web_page_preview": ["Boolean"],
}
LEGACY_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage"})
SCALAR_TYPES = frozenset({"Integer", "Float", "String", "Boolean", "True", "InputFile"})
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ValidatedCall:
    method: str
    params: dict[str, Any]
    formatted: dict[str, FormattedText] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


# --------------------------------------------------------------------------- spec tables


@functools.cache
def load_spec() -> dict[str, Any]:
    text = resources.files("careloop.sandbox").joinpath(SPEC_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _method_names() -> dict[str, str]:
    # Telegram resolves method names case-insensitively.
    return {name.lower(): name for name in load_spec()["methods"]}


def canonical_method(name: str) -> str | None:
    return _method_names().get(name.lower())


def method_params(method: str) -> list[dict[str, Any]]:
    return load_spec()["methods"][method]["params"]


def _type_spec(name: str) -> dict[str, Any] | None:
    return load_spec()["types"].get(name)


# --------------------------------------------------------------------------- validation


def validate(method: str, params: Mapping[str, Any]) -> ValidatedCall:
    """Check one call against the spec; raise ``ApiError`` the way Telegram would."""
    name = canonical_method(method)
    if name is None:
        raise ApiError(404, "Not Found")
    table = method_params(name)
    coerced: dict[str, Any] = {}
    for rules in table:
        value = params.get(rules["name"])
        if _is_empty(value):
            if _required(rules, params):
                raise bad_request(
                    MISSING_PARAM_ERRORS.get(rules["name"], f"{rules['name']} is empty")
                )
            continue
        coerced[rules["name"]] = _check_param(name, rules, value)
    if name in LEGACY_METHODS:
        for legacy, types in LEGACY_PARAMS.items():
            if not _is_empty(params.get(legacy)):
                rules = {"name": legacy, "types": types, "required": False}
                coerced[legacy] = _check_param(name, rules, params[legacy])
    formatted = _format_texts(table, coerced)
    return ValidatedCall(method=name, params=coerced, formatted=formatted)


def _is_empty(value: Any) -> bool:
    # Telegram treats an empty string exactly like an absent parameter.
    return value is None or value == ""


def _required(rules: dict[str, Any], params: Mapping[str, Any]) -> bool:
    if rules["required"]:
        return True
    if "required_unless" in rules:
        return not all(not _is_empty(params.get(other)) for other in rules["required_unless"])
    if "required_if" in rules:
        return all(not _is_empty(params.get(other)) for other in rules["required_if"])
    return False


def _check_param(method: str, rules: dict[str, Any], value: Any) -> Any:
    types = rules["types"]
    label = f'parameter "{rules["name"]}"'
    if isinstance(value, str) and _is_json_serialized(tuple(types)):
        value = _decode_json(rules["name"], value)
    if rules["name"] in ("chat_id", "from_chat_id") and types == ["Integer", "String"]:
        return _chat_id(value, rules["name"])
    checked = _check_value(value, types, owner=method, label=label)
    _check_rules(checked, rules, owner=method, label=label)
    return checked


@functools.cache
def _is_json_serialized(types: tuple[str, ...]) -> bool:
    return any(t.startswith("Array of ") or t not in SCALAR_TYPES for t in types)


def _decode_json(name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        noun = "reply keyboard markup" if name == "reply_markup" else name
        raise bad_request(f"can't parse {noun} JSON object") from None


def _chat_id(value: Any, name: str) -> int | str:
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        if _INTEGER.match(value.strip()):
            return int(value)
        if value.startswith("@") and len(value) > 1:
            return value
    # Telegram reads anything else as an unknown username.
    raise bad_request("chat not found")


def _check_value(value: Any, types: list[str], *, owner: str, label: str) -> Any:
    """Coerce ``value`` to the first of the spec ``types`` it fits."""
    if len(types) > 1 and all(_type_spec(t) for t in types):
        return _check_object_union(value, types, owner=owner, label=label)
    errors: list[ApiError] = []
    for type_name in types:
        try:
            return _check_single(value, type_name, owner=owner, label=label)
        except ApiError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    raise bad_request(f"{label} must be of type {' or '.join(types)}")


def _check_single(value: Any, type_name: str, *, owner: str, label: str) -> Any:
    if type_name.startswith("Array of Array of "):
        if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
            raise bad_request(f"{label} should be an Array of Arrays")
        item_type = type_name[len("Array of Array of ") :]
        return [
            [_check_single(v, item_type, owner=owner, label=label) for v in row] for row in value
        ]
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            raise bad_request(f"{label} should be an Array")
        item_type = type_name[len("Array of ") :]
        return [_check_single(v, item_type, owner=owner, label=label) for v in value]
    scalar = _SCALARS.get(type_name)
    if scalar is not None:
        result = scalar(value)
        if result is _INVALID:
            raise bad_request(f"{label} must be of type {type_name}")
        return result
    spec = _type_spec(type_name)
    if spec is None:
        # A type the derived table does not describe: accept any JSON object.
        if not isinstance(value, dict):
            raise bad_request(f"{label} must be a JSON object")
        return value
    return _check_object(value, type_name, spec, label=label)


def _check_object_union(value: Any, types: list[str], *, owner: str, label: str) -> Any:
    if not isinstance(value, dict):
        raise bad_request(f"{label} must be a JSON object")
    for type_name in types:
        required = _required_fields(type_name)
        if required and all(name in value for name in required):
            return _check_object(value, type_name, _type_spec(type_name) or {}, label=label)
    raise bad_request(f"{label} must be one of {', '.join(types)}")


@functools.cache
def _required_fields(type_name: str) -> tuple[str, ...]:
    spec = _type_spec(type_name) or {}
    return tuple(f["name"] for f in spec.get("fields", []) if f["required"])


def _check_object(value: Any, type_name: str, spec: dict[str, Any], *, label: str) -> Any:
    if type_name == "KeyboardButton" and isinstance(value, str):
        value = {"text": value}  # the spec allows a bare String for a text-only button
    if not isinstance(value, dict):
        raise bad_request(f"{label} must be a JSON object of type {type_name}")
    if "subtypes" in spec:
        return _check_subtype(value, type_name, spec["subtypes"], label=label)
    noun = _object_noun(type_name)
    checked: dict[str, Any] = {}
    for rules in spec["fields"]:
        name = rules["name"]
        if name not in value or value[name] is None:
            if rules["required"]:
                raise bad_request(f"can't parse {noun}: Can't find field \"{name}\"")
            continue
        field_label = f'field "{name}" of the {type_name}'
        checked[name] = _check_value(
            value[name], rules["types"], owner=type_name, label=field_label
        )
        _check_rules(checked[name], rules, owner=type_name, label=field_label)
    _check_field_choice(checked, type_name, spec, noun)
    _check_semantics(checked, type_name)
    return checked


def _object_noun(type_name: str) -> str:
    if type_name == "InlineKeyboardButton":
        return "inline keyboard button"
    if type_name == "KeyboardButton":
        return "keyboard button"
    return type_name


def _check_subtype(
    value: dict[str, Any], type_name: str, subtypes: list[str], *, label: str
) -> Any:
    for subtype in subtypes:
        spec = _type_spec(subtype) or {}
        const = next((f.get("const") for f in spec.get("fields", []) if f["name"] == "type"), None)
        if const is not None and value.get("type") == const:
            return _check_object(value, subtype, spec, label=label)
    raise bad_request(f"can't parse {type_name}: unsupported type {json.dumps(value.get('type'))}")


def _check_field_choice(
    checked: dict[str, Any], type_name: str, spec: dict[str, Any], noun: str
) -> None:
    """Rules such as 'exactly one of the fields other than text ... must be used'."""
    if "exactly_one_except" in spec or "at_most_one_except" in spec:
        excluded = spec.get("exactly_one_except") or spec["at_most_one_except"]
        used = [name for name in checked if name not in excluded]
        if not used and "exactly_one_except" in spec:
            if type_name == "InlineKeyboardButton":
                raise bad_request(
                    f"can't parse {noun}: Text buttons are unallowed in the inline keyboard"
                )
            raise bad_request(f"can't parse {noun}: one of the optional fields must be used")
        if len(used) > 1:
            raise bad_request(
                f"can't parse {noun}: only one of the fields {', '.join(used)} may be used"
            )
    if "exactly_one_of" in spec:
        used = [name for name in spec["exactly_one_of"] if name in checked]
        if len(used) != 1:
            choices = " or ".join(spec["exactly_one_of"])
            raise bad_request(f"can't parse {noun}: exactly one of {choices} must be used")


def _check_semantics(checked: dict[str, Any], type_name: str) -> None:
    """Rules the spec states only in prose and Telegram enforces."""
    if (
        type_name == "InlineKeyboardButton"
        and "url" in checked
        and not is_valid_url(checked["url"])
    ):
        raise bad_request(KNOWN_FIELD_ERRORS[(type_name, "url")])
    if type_name == "InlineKeyboardMarkup":
        count = sum(len(row) for row in checked["inline_keyboard"])
        if count > 100:
            raise bad_request("reply markup is too long")


def _check_rules(value: Any, rules: dict[str, Any], *, owner: str, label: str) -> None:
    """Length, byte, range, enum, const and pattern limits derived from the descriptions."""
    problem = _rule_violation(value, rules)
    if problem is None:
        return
    known = KNOWN_FIELD_ERRORS.get((owner, rules["name"]))
    raise bad_request(known or f"{label} {problem}")


def _rule_violation(value: Any, rules: dict[str, Any]) -> str | None:
    if isinstance(value, str):
        if rules.get("counted_after_entities"):
            return None  # checked on the parsed text by _format_texts
        if "max_len" in rules and not rules["min_len"] <= len(value) <= rules["max_len"]:
            return f"must be {rules['min_len']}-{rules['max_len']} characters long"
        size = len(value.encode("utf-8"))
        if "max_bytes" in rules and not rules["min_bytes"] <= size <= rules["max_bytes"]:
            return f"must be {rules['min_bytes']}-{rules['max_bytes']} bytes long"
        if "pattern" in rules and not re.match(rules["pattern"], value):
            return "contains unallowed characters"
    if isinstance(value, int) and "max_value" in rules and not _in_range(value, rules):
        return f"must be between {rules['min_value']} and {rules['max_value']}"
    if isinstance(value, list) and "max_items" in rules and len(value) > rules["max_items"]:
        return f"must have at most {rules['max_items']} items"
    if "const" in rules and value != rules["const"]:
        return f"must be {rules['const']}"
    if "enum" in rules and value not in rules["enum"]:
        return f"must be one of {', '.join(map(str, rules['enum']))}"
    return None


def _in_range(value: int, rules: dict[str, Any]) -> bool:
    return bool(rules["min_value"] <= value <= rules["max_value"])


# --------------------------------------------------------------------------- scalars

_INVALID = object()


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    return _INVALID


def _as_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _INVALID
        return number if math.isfinite(number) else _INVALID
    return _INVALID


def _as_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    # JSON bodies may carry numbers where the spec says String (ids); Telegram accepts them.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _INVALID


def _as_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return _INVALID


def _as_true(value: Any) -> Any:
    return True if _as_bool(value) is True else _INVALID


def _as_input_file(value: Any) -> Any:
    # A part of the multipart body, or an "attach://name" the server could not resolve.
    return value if isinstance(value, UploadedFile) else _INVALID


_SCALARS = {
    "Integer": _as_int,
    "Float": _as_float,
    "String": _as_str,
    "Boolean": _as_bool,
    "True": _as_true,
    "InputFile": _as_input_file,
}


# --------------------------------------------------------------------------- message text


def _format_texts(table: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, FormattedText]:
    """Parse every 'N characters after entities parsing' parameter and check its length."""
    formatted: dict[str, FormattedText] = {}
    for rules in table:
        name = rules["name"]
        if not rules.get("counted_after_entities") or name not in params:
            continue
        mode_param = "parse_mode" if name in ("text", "caption") else f"{name}_parse_mode"
        entities_param = "entities" if name == "text" else f"{name}_entities"
        result = format_text(params[name], params.get(mode_param), params.get(entities_param))
        _check_text_length(name, result.text, rules)
        formatted[name] = result
    return formatted


def _check_text_length(name: str, text: str, rules: dict[str, Any]) -> None:
    # Telegram counts message length in UTF-16 code units of the text after parsing.
    length = utf16_len(text)
    if length < rules.get("min_len", 0):
        raise bad_request(MISSING_PARAM_ERRORS.get(name, f"{name} is empty"))
    if length > rules["max_len"]:
        raise bad_request(TEXT_LIMIT_ERRORS.get(name, f"{name} is too long"))
