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
PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
SCALAR_TYPES = frozenset({"Integer", "Float", "String", "Boolean", "True", "InputFile"})
URL_SCHEMES = ("http://", "https://", "tg://", "ton://")
_DOMAIN_URL = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(:\d+)?([/?#]\S*)?$", re.IGNORECASE)
_INTEGER = re.compile(r"^[+-]?\d+$")
_SPACES = " \t\r\n\v\f"


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, plus Telegram's description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.description!r})"


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Text as the user sees it, with its entities, and what the bot sent to produce it."""

    text: str
    entities: list[dict[str, Any]]
    source: str
    parse_mode: str | None


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
    text = resources.files("bot.sandbox").joinpath(SPEC_FILE).read_text(encoding="utf-8")
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


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- validation


def validate(method: str, params: Mapping[str, Any]) -> ValidatedCall:
    """Check one call against the spec; raise ``ApiError`` the way Telegram would."""
    name = canonical_method(method)
    if name is None:
        raise ApiError(404, "Not Found")
    table = method_params(name)
    present = {p["name"] for p in table if not _is_empty(params.get(p["name"]))}
    coerced: dict[str, Any] = {}
    for rules in table:
        value = params.get(rules["name"])
        if _is_empty(value):
            if _required(rules, present):
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


def _required(rules: dict[str, Any], present: set[str]) -> bool:
    if rules["required"]:
        return True
    if "required_unless" in rules:
        return not all(other in present for other in rules["required_unless"])
    if "required_if" in rules:
        return all(other in present for other in rules["required_if"])
    return False


def _check_param(method: str, rules: dict[str, Any], value: Any) -> Any:
    types = rules["types"]
    label = f'parameter "{rules["name"]}"'
    if isinstance(value, str) and _is_json_serialized(types):
        value = _decode_json(rules["name"], value)
    if rules["name"] in ("chat_id", "from_chat_id") and types == ["Integer", "String"]:
        return _chat_id(value, rules["name"])
    checked = _check_value(value, types, owner=method, label=label)
    _check_rules(checked, rules, owner=method, label=label)
    return checked


def _is_json_serialized(types: list[str]) -> bool:
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
        spec = _type_spec(type_name) or {}
        required = [f["name"] for f in spec.get("fields", []) if f["required"]]
        if required and all(name in value for name in required):
            return _check_object(value, type_name, spec, label=label)
    raise bad_request(f"{label} must be one of {', '.join(types)}")


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


def is_valid_url(url: str) -> bool:
    if any(url.lower().startswith(scheme) for scheme in URL_SCHEMES):
        return len(url) > url.index("://") + 3 and not any(c in url for c in _SPACES)
    return bool(_DOMAIN_URL.match(url))


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


def format_text(
    source: str, parse_mode: str | None = None, entities: list[dict[str, Any]] | None = None
) -> FormattedText:
    """What the user sees for ``source`` sent with ``parse_mode`` or explicit ``entities``."""
    if entities:
        # Explicit entities win over parse_mode, as in Telegram.
        _check_entity_bounds(source, entities)
        text, found = _strip(source, [dict(e) for e in entities])
        return FormattedText(text, found, source, None)
    mode = None
    if parse_mode:
        mode = PARSE_MODES.get(parse_mode.lower())
        if mode is None:
            raise bad_request("unsupported parse_mode")
    if mode == "HTML":
        plain, found = parse_html(source)
    else:
        # Markdown modes are accepted leniently: the text is kept as sent, without entities.
        plain, found = source, []
    text, found = _strip(plain, found)
    return FormattedText(text, found, source, mode)


def _check_entity_bounds(text: str, entities: list[dict[str, Any]]) -> None:
    length = utf16_len(text)
    for entity in entities:
        if (
            entity["offset"] < 0
            or entity["length"] <= 0
            or entity["offset"] + entity["length"] > length
        ):
            raise bad_request("can't parse entities: entity is out of the text bounds")


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace and shifts entities to match."""
    stripped = text.strip(_SPACES)
    if stripped == text:
        return text, entities
    lead = len(text) - len(text.lstrip(_SPACES))  # whitespace is BMP: 1 UTF-16 unit each
    end = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        stop = min(end, entity["offset"] + entity["length"] - lead)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept


# --------------------------------------------------------------------------- HTML

HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
     "tg-emoji", "code", "pre", "blockquote"}
)  # fmt: skip
_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
}  # fmt: skip
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _Html:
    """Telegram's HTML subset, parsed as Telegram's parser does (tags, entities, byte offsets)."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.utf16 = 0
        self.open: list[tuple[str, str, int]] = []  # (tag, argument, utf16 start)
        self.entities: list[dict[str, Any]] = []

    def error(self, reason: str) -> ApiError:
        return bad_request(f"can't parse entities: {reason}")

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.utf16 += utf16_len(chars)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i, n = 0, len(self.src)
        while i < n:
            char = self.src[i]
            if char == "&":
                decoded, i = self.char_reference(i, strict=True)
                self.emit(decoded)
            elif char != "<":
                self.emit(char)
                i += 1
            elif self.src.startswith("</", i):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.open:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.open[-1][0]}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def char_reference(self, i: int, *, strict: bool) -> tuple[str, int]:
        """Decode '&...;' at ``i``; return (text, next index).

        Telegram keeps an unknown '&' literally; here, in message text, it is an error on purpose:
        a bot that leaves '&' unescaped will leave '<' unescaped too, and that one does fail.
        Inside attribute values ('href="...?a=1&b=2"') the lenient rule applies.
        """
        src, j = self.src, i + 1
        value: str | None = None
        if src.startswith("#", j):
            j += 1
            hexa = src[j : j + 1] in ("x", "X")
            if hexa:
                j += 1
            start = j
            while j < len(src) and (
                src[j] in "0123456789abcdefABCDEF" if hexa else src[j].isdigit()
            ):
                j += 1
            if j > start:
                code = int(src[start:j], 16 if hexa else 10)
                if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF:
                    value = chr(code)
        else:
            while j < len(src) and src[j].isascii() and src[j].isalpha():
                j += 1
            value = NAMED_ENTITIES.get(src[i + 1 : j])
        if value is None:
            if strict:
                shown = src[i:j] + (";" if src.startswith(";", j) else "")
                raise self.error(
                    f'Unsupported HTML entity "{shown}" at byte offset {self.byte_offset(i)}'
                )
            return "&", i + 1
        return value, j + 1 if src.startswith(";", j) else j

    def skip_spaces(self, i: int) -> int:
        while i < len(self.src) and self.src[i] in _SPACES:
            i += 1
        return i

    def start_tag(self, begin: int) -> int:
        src, n = self.src, len(self.src)
        i = begin + 1
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        offset = self.byte_offset(begin)
        if i >= n:
            raise self.error(f"Unclosed start tag at byte offset {offset}")
        tag = src[begin + 1 : i].lower()
        if tag not in HTML_TAGS:
            raise self.error(f'Unsupported start tag "{tag}" at byte offset {offset}')
        argument, i = self.attributes(tag, i, offset)
        if tag == "span" and argument != "spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        self.open.append((tag, argument, self.utf16))
        return i + 1

    def attributes(self, tag: str, i: int, offset: int) -> tuple[str, int]:
        """Parse attributes up to '>'; return the one argument Telegram uses, and the '>' index."""
        src, n = self.src, len(self.src)
        argument = ""
        while True:
            i = self.skip_spaces(i)
            if i >= n:
                raise self.error(f"Unclosed start tag at byte offset {offset}")
            if src[i] == ">":
                return argument, i
            name_start = i
            while i < n and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            name = src[name_start:i].lower()
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
            i = self.skip_spaces(i)
            if i >= n or src[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    argument = "expandable"
                    continue
                if i >= n:
                    raise self.error(f"Unclosed start tag at byte offset {offset}")
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {offset}"
                )
            value, i = self.attribute_value(tag, self.skip_spaces(i + 1), offset)
            argument = _tag_argument(tag, name, value, argument)

    def attribute_value(self, tag: str, i: int, offset: int) -> tuple[str, int]:
        src, n = self.src, len(self.src)
        if i >= n:
            raise self.error(f'Unclosed start tag "{tag}" at byte offset {offset}')
        if src[i] not in "\"'":
            # An unquoted name token: letters, digits, periods and hyphens only.
            start = i
            while i < n and (src[i].isalnum() or src[i] in ".-"):
                i += 1
            if i < n and src[i] not in _SPACES and src[i] != ">":
                raise self.error(
                    f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                )
            return src[start:i].lower(), i
        quote, i = src[i], i + 1
        chars: list[str] = []
        while i < n and src[i] != quote:
            if src[i] == "&":
                decoded, i = self.char_reference(i, strict=False)
                chars.append(decoded)
            else:
                chars.append(src[i])
                i += 1
        return "".join(chars), i + 1 if i < n else i

    def end_tag(self, begin: int) -> int:
        src, n = self.src, len(self.src)
        offset = self.byte_offset(begin)
        if not self.open:
            raise self.error(f"Unexpected end tag at byte offset {offset}")
        i = begin + 2
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        name = src[begin + 2 : i].lower()
        i = self.skip_spaces(i)
        if i >= n or src[i] != ">":
            raise self.error(f"Unclosed end tag at byte offset {offset}")
        tag, argument, start = self.open.pop()
        if name and name != tag:
            raise self.error(
                f'Unmatched end tag at byte offset {offset}, expected "</{tag}>", found "</{name}>"'
            )
        self.close_entity(tag, argument, start)
        return i + 1

    def close_entity(self, tag: str, argument: str, start: int) -> None:
        length = self.utf16 - start
        if length <= 0:
            return  # Telegram drops empty entities
        entity: dict[str, Any] = {"offset": start, "length": length}
        if tag == "a":
            url = argument or _utf16_tail("".join(self.out), length)
            if not is_valid_url(url):
                return  # Telegram silently drops links it cannot use
            entity.update(type="text_link", url=url if "://" in url else f"http://{url}")
        elif tag == "tg-emoji":
            if not argument.isdigit():
                raise self.error("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        elif tag == "pre":
            entity["type"] = "pre"
            inner = self.entities[-1] if self.entities else None
            if (
                inner
                and inner["type"] == "code"
                and (inner["offset"], inner["length"]) == (start, length)
            ):
                # <pre><code class="language-x"> is one pre entity with a language.
                self.entities.pop()
                if inner.get("language"):
                    entity["language"] = inner["language"]
        else:
            entity["type"] = _TAG_ENTITY[tag]
            if tag == "code" and argument and self.open and self.open[-1][0] == "pre":
                entity["language"] = argument
        self.entities.append(entity)


def _tag_argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return current


def _utf16_tail(text: str, units: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[len(encoded) - 2 * units :].decode("utf-16-le")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, entities with UTF-16 offsets)."""
    return _Html(text).run()
