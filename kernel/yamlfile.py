"""YAML configuration read with the place of every value, so that a mistake is reported as
one line an operator can act on: `FILE:LINE: FIELD: PROBLEM`.

`yaml.safe_load` returns plain dicts and lists and forgets where each value was written;
this module walks the composed node tree instead, which keeps each node's line. It never
constructs Python objects from tags, so a file cannot make it run anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

MAX_BYTES = 1024 * 1024  # a configuration file, not a data set


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


def parse(text: str, source: str) -> Value | None:
    """The document's root, or None for a file with no document (empty or only comments)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(source, line, None, f"not valid YAML: {_syntax(exc)}") from None
    except yaml.YAMLError as exc:  # e.g. a control character, which carries no line
        raise YamlError(source, None, None, f"not valid YAML: {exc}") from None
    return None if node is None else Value(node, source, "")


def read(path: Path, source: str | None = None) -> Value | None:
    """Parse a file; an unreadable file is a YamlError too, so callers handle one error."""
    name = source or str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise YamlError(name, None, None, f"larger than {MAX_BYTES // 1024} KB")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise YamlError(name, None, None, "no such file") from None
    except UnicodeDecodeError:
        raise YamlError(name, None, None, "not UTF-8 text") from None
    except OSError as exc:
        raise YamlError(name, None, None, exc.strerror or str(exc)) from None
    return parse(text, name)
