"""Where a KPI turns yellow and red, from a small YAML file (the shipped one holds the
playbooks' lines: SLA compliance red below 90 %, CSAT yellow below 80 %, ...), and the
colour of a figure against them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from careloop.kernel import yamlfile
from careloop.kernel.yamlfile import Value, YamlError
from careloop.surveys.kpis import KPI_KEYS

ThresholdsError = YamlError

NUMBER = re.compile(r"^[+-]?\d{1,6}(\.\d{1,3})?$")
BELOW = ("red_below", "yellow_below")  # a share: the higher the better
ABOVE = ("red_above", "yellow_above")  # a time: the lower the better
# A time's KPI key ends so; every other KPI is a share (or NPS, a score).
TIMES = frozenset(k for k in KPI_KEYS if k.endswith("_hours"))


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Line:
    red: float
    yellow: float
    higher_is_better: bool

    def level(self, value: float) -> Level:
        if self.higher_is_better:
            return (Level.RED if value < self.red else
                    Level.YELLOW if value < self.yellow else Level.GREEN)
        return (Level.RED if value > self.red else
                Level.YELLOW if value > self.yellow else Level.GREEN)


@dataclass(frozen=True, slots=True)
class Thresholds:
    lines: Mapping[str, Line]

    def level(self, key: str, value: float | None) -> Level | None:
        """None: no figure this week, or no line drawn for this KPI."""
        line = self.lines.get(key)
        if line is None or value is None:
            return None
        return line.level(value)


def _number(value: Value) -> float:
    text = value.text()
    if not NUMBER.match(text):
        value.fail(f"must be a number, like 90 or 12.5, not {text!r}")
    return float(text)


def _line(key: str, value: Value) -> Line:
    fields = ABOVE if key in TIMES else BELOW
    found = value.mapping(fields, required=fields)
    red, yellow = _number(found[fields[0]]), _number(found[fields[1]])
    higher = key not in TIMES
    if (yellow < red) if higher else (yellow > red):
        word = "below" if higher else "above"
        found[fields[1]].fail(f"a figure turns yellow before it turns red: yellow_{word} "
                              f"must be {'at least' if higher else 'at most'} red_{word} "
                              f"({red:g})")
    return Line(red, yellow, higher)


def parse(root: Value | None) -> Thresholds:
    if root is None:
        return Thresholds({})
    lines: dict[str, Line] = {}
    for key, value in root.pairs():
        if key not in KPI_KEYS:
            value.fail(f"not a KPI; expected one of {', '.join(KPI_KEYS)}")
        lines[key] = _line(key, value)
    return Thresholds(lines)


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The operator's file, or the one shipped with careloop; a mistake is one YamlError
    line: `thresholds.yaml:7: csat.red_below: must be a number, like 90 or 12.5, not 'x'`."""
    if path is None:
        text = resources.files("careloop.surveys").joinpath("thresholds.yaml").read_text(
            encoding="utf-8")
        return parse(yamlfile.parse(text, "thresholds.yaml"))
    return parse(yamlfile.read(path))
