"""Message text as Telegram formats it: parse modes, Telegram's HTML subset, explicit entities.

``format_text`` turns what the bot sent into what the user sees (``FormattedText``): the plain
text and its entities, with offsets in UTF-16 code units as Telegram counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from careloop.sandbox.errors import ApiError, bad_request

PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
URL_SCHEMES = ("http://", "https://", "tg://", "ton://")
_DOMAIN_URL = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(:\d+)?([/?#]\S*)?$", re.IGNORECASE)
_SPACES = " \t\r\n\v\f"
_MARKUP = re.compile("[&<]")  # where plain text ends in HTML


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Text as the user sees it, with its entities, and what the bot sent to produce it."""

    text: str
    entities: list[dict[str, Any]]
    source: str
    parse_mode: str | None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def is_valid_url(url: str) -> bool:
    if any(url.lower().startswith(scheme) for scheme in URL_SCHEMES):
        return len(url) > url.index("://") + 3 and not any(c in url for c in _SPACES)
    return bool(_DOMAIN_URL.match(url))


# --------------------------------------------------------------------------- message text


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
                # Plain text up to the next markup, in one piece.
                found = _MARKUP.search(self.src, i)
                end = n if found is None else found.start()
                self.emit(self.src[i:end])
                i = end
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
