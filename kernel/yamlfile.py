"""YAML configuration read with the place of every value, so that a mistake is reported as
one line an operator can act on: `FILE:LINE: FIELD: PROBLEM`.

`yaml.safe_load` returns plain dicts and lists and forgets where each value was written;
this module walks the composed node tree instead, which keeps each node's line. It never
constructs Python objects from tags, so a file cannot make it run anything.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

MAX_BYTES = 1024 * 1024  # a configuration file, not a data set
# careloop's files nest a few levels (a campaign's variants' buttons are the deepest); PyYAML
# composes nested nodes by recursion, so a file nested thousands deep would end in a
# RecursionError instead of a line the operator can act on.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class YamlError(ValueError):
    """A configuration file is unusable; str() is the one line the operator sees."""

    def __init__(self, source: str, line: int | None, field: str | None, problem: str) -> None:
        place = source if line is None else f"{source}:{line}"
        super().__init__(f"{place}: {field}: {problem}" if field else f"{place}: {problem}")
        self.source = source
        self.line = line
        self.field = field
        self.problem = problem


def _kind(node: Any) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a single value"


@dataclass(frozen=True, slots=True)
class Value:
    """One node of a YAML document, with the file it came from and its field path
    (`rules[3].after`)."""

    node: Any  # yaml.Node; PyYAML ships no type information
    source: str
    path: str

    @property
    def kind(self) -> str:
        return _kind(self.node)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_list(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, problem: str) -> YamlError:
        return YamlError(self.source, self.line, self.path or None, problem)

    def fail(self, problem: str) -> NoReturn:
        raise self.error(problem)

    def _child(self, node: Any, key: str | int) -> Value:
        if isinstance(key, int):
            return Value(node, self.source, f"{self.path}[{key}]")
        return Value(node, self.source, f"{self.path}.{key}" if self.path else key)

    def mapping(self, fields: Sequence[str], required: Sequence[str] = ()) -> dict[str, Value]:
        """The fields of a mapping; an unknown, repeated or missing field is an error."""
        if not isinstance(self.node, yaml.MappingNode):
            self.fail(f"must be a mapping with {', '.join(fields)}, not {_kind(self.node)}")
        found: dict[str, Value] = {}
        for key_node, value_node in self.node.value:
            key = Value(key_node, self.source, self.path)
            if not isinstance(key_node, yaml.ScalarNode):
                key.fail(f"a field name must be a single word, not {_kind(key_node)}")
            name = str(key_node.value)
            here = self._child(key_node, name)
            if name in found:
                here.fail(f"appears twice (first on line {found[name].line})")
            if name not in fields:
                close = difflib.get_close_matches(name, fields, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                here.fail(f"unknown field; {hint}expected one of {', '.join(fields)}")
            found[name] = self._child(value_node, name)
        for name in required:
            if name not in found:
                self._child(self.node, name).fail("is missing")
        return found

    def pairs(self) -> list[tuple[str, Value]]:
        """The entries of a mapping whose keys are data (languages, scores), not field
        names; a repeated key is an error."""
        if not isinstance(self.node, yaml.MappingNode):
            self.fail(f"must be a mapping, not {_kind(self.node)}")
        found: dict[str, Value] = {}
        for key_node, value_node in self.node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                Value(key_node, self.source, self.path).fail(
                    f"a key must be a single value, not {_kind(key_node)}")
            name = str(key_node.value).strip()
            if name in found:
                self._child(key_node, name).fail(
                    f"appears twice (first on line {found[name].line})")
            found[name] = self._child(value_node, name)
        return list(found.items())

    def items(self) -> list[Value]:
        """The entries of a list."""
        if not isinstance(self.node, yaml.SequenceNode):
            self.fail(f"must be a list, not {_kind(self.node)}")
        return [self._child(node, i) for i, node in enumerate(self.node.value)]

    def text(self) -> str:
        """A single value exactly as written. YAML 1.1 would read an unquoted 10:00 as the
        number 600 and `no` as false; a configuration means the characters it shows."""
        if not isinstance(self.node, yaml.ScalarNode):
            self.fail(f"must be a single value, not {_kind(self.node)}")
        if self.node.tag == "tag:yaml.org,2002:null" and self.node.style is None:
            self.fail("needs a value")
        return str(self.node.value).strip()


def _syntax(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or exc.context or "unreadable"
    if exc.context and not exc.context.startswith("while"):
        problem = f"{exc.context}, {problem}"  # "expected a single document ..., but found"
    if "<block" in problem:
        problem += " (check the indentation)"  # PyYAML's words for a misaligned line
    return problem


class _Unusable(Exception):
    """A value the loader read that careloop cannot use; parse() adds the file's name."""

    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem)
        self.line = int(mark.line) + 1
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """SafeLoader's composition, with a limit on nesting and every scalar checked to be text
    a database can store."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Unusable(self.peek_event().start_mark,
                                f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        node.value = _text(node.value, node.start_mark)
        return node


def _text(value: str, mark: Any) -> str:
    """A scalar as text careloop can store and send. A double-quoted scalar may write any
    code point as an escape: "\\ud800" is half of a UTF-16 pair, no character at all (no
    database or Telegram takes it), and "\\0" is a NUL, which PostgreSQL refuses in text.
    A pair written as two escapes, as JSON writes an emoji, is the character it encodes."""
    if "\x00" in value:
        raise _Unusable(mark, "not valid text: contains a NUL character (\\0)")
    if _SURROGATE.search(value) is None:
        return value
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        lone = _SURROGATE.search(value)
        assert lone is not None
        raise _Unusable(mark, f"not valid Unicode: \\u{ord(lone.group()):04x} is half of a "
                        "UTF-16 surrogate pair, not a character") from None


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def parse(text: str, source: str) -> Value | None:
    """The document's root, or None for a file with no document (empty or only comments)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except _Unusable as exc:
        raise YamlError(source, exc.line, None, exc.problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(source, line, None, f"not valid YAML: {_syntax(exc)}") from None
    except yaml.reader.ReaderError as exc:  # a control character: its place in the text
        raise YamlError(source, _line_at(text, exc.position), None,
                        f"not valid YAML: character #x{exc.character:04x} is not allowed"
                        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(source, None, None, f"not valid YAML: {exc}") from None
    except ValueError:  # an escape past the last code point ("\\U00110000") fails chr()
        line = loader.get_mark().line + 1 if loader is not None else None
        raise YamlError(source, line, None,
                        "not valid Unicode: an escape names no character") from None
    finally:
        if loader is not None:
            loader.dispose()
    return None if node is None else Value(node, source, "")


def read(path: Path, source: str | None = None) -> Value | None:
    """Parse a file; an unreadable file is a YamlError too, so callers handle one error."""
    name = source or str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise YamlError(name, None, None, f"larger than {MAX_BYTES // 1024} KB")
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise YamlError(name, None, None, "no such file") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(name, line, None, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                        "save the file as UTF-8") from None
    except OSError as exc:
        raise YamlError(name, None, None, exc.strerror or str(exc)) from None
    return parse(text, name)
