"""Conditions on an event's attributes (`amount >= 1000`, `product in [sofa, bed]`), typed:
each attribute a rule reads is a number or a text, declared in the playbook (`amount` and
`currency` are careloop's own), so a condition that compares a text with a number, or an
event whose `amount` is not a number, is refused when it is read, not silently false."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class AttrType(StrEnum):
    NUMBER = "number"
    TEXT = "text"


# The attributes careloop itself reads on a purchase (RFM's monetary score).
BUILT_IN_ATTRS: dict[str, AttrType] = {"amount": AttrType.NUMBER, "currency": AttrType.TEXT}
OPERATORS = ("<=", ">=", "!=", "=", "<", ">", "in", "not in")
NUMBER_OPERATORS = frozenset(OPERATORS)
TEXT_OPERATORS = frozenset({"=", "!=", "in", "not in"})
CONDITION = re.compile(
    r"^\s*(?P<attr>[A-Za-z_][A-Za-z0-9_]{0,31})\s*"
    r"(?P<op><=|>=|!=|=|<|>|\bnot\s+in\b|\bin\b)\s*(?P<value>.+?)\s*\Z")
MAX_NUMBER = Decimal("1e15")


class BadCondition(ValueError):
    pass


def number(text: str) -> Decimal | None:
    """A plain decimal number (`1000`, `-3.5`); None for anything else (`1e3`, `NaN`, `1,000`)."""
    if not re.fullmatch(r"-?\d{1,15}(\.\d{1,6})?", text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


@dataclass(frozen=True, slots=True)
class Condition:
    attr: str
    op: str
    values: tuple[str, ...]  # one value, or the list of `in` / `not in`
    type: AttrType

    def holds(self, attrs: Mapping[str, str]) -> bool:
        """Does the event's attribute meet the condition? A missing attribute meets none
        (not even `!=`): a rule about the amount says nothing of an event without one."""
        raw = attrs.get(self.attr)
        if raw is None:
            return False
        if self.type is AttrType.NUMBER:
            have = number(raw)
            if have is None:
                return False
            wanted = [Decimal(v) for v in self.values]
            return _compare(have, self.op, wanted)
        return _compare(raw, self.op, list(self.values))

    def describe(self) -> str:
        shown = f"[{', '.join(self.values)}]" if self.op in ("in", "not in") else self.values[0]
        return f"{self.attr} {self.op} {shown}"


def _compare(have: Decimal | str, op: str, wanted: list[Decimal] | list[str]) -> bool:
    if op == "in":
        return have in wanted
    if op == "not in":
        return have not in wanted
    other = wanted[0]
    if op == "=":
        return have == other
    if op == "!=":
        return have != other
    assert isinstance(have, Decimal) and isinstance(other, Decimal)
    return {"<": have < other, "<=": have <= other, ">": have > other,
            ">=": have >= other}[op]


def parse_condition(text: str, types: Mapping[str, AttrType]) -> Condition:
    """`amount >= 1000` → Condition; BadCondition says what is wrong in the operator's words."""
    match = CONDITION.match(text)
    if match is None:
        raise BadCondition(f"{text!r} is not a condition like `amount >= 1000` or "
                           "`product in [sofa, bed]`")
    attr, op = match["attr"], re.sub(r"\s+", " ", match["op"])
    kind = types.get(attr)
    if kind is None:
        known = ", ".join(sorted(types))
        raise BadCondition(f"{attr!r} is not a declared attribute (declare it under "
                           f"attributes: as number or text); known: {known}")
    raw = match["value"]
    if op in ("in", "not in"):
        if not (raw.startswith("[") and raw.endswith("]")):
            raise BadCondition(f"{op} needs a list like [sofa, bed], not {raw!r}")
        values = tuple(v.strip().strip("\"'") for v in raw[1:-1].split(",") if v.strip())
        if not values:
            raise BadCondition(f"{op} needs at least one value")
    else:
        values = (raw.strip("\"'"),)
    if kind is AttrType.TEXT and op not in TEXT_OPERATORS:
        raise BadCondition(f"{attr} is a text: compare it with =, !=, in or not in, not {op}")
    if kind is AttrType.NUMBER:
        for value in values:
            if number(value) is None:
                raise BadCondition(f"{attr} is a number, and {value!r} is not")
        values = tuple(str(Decimal(v)) for v in values)
    return Condition(attr, op, values, kind)


def check_typed(attrs: Mapping[str, str], types: Mapping[str, AttrType]) -> str | None:
    """Why an event's attributes do not fit their declared types, if they do not: a number
    attribute must be a plain decimal, so a rule on it can never be misread."""
    for key, value in attrs.items():
        if types.get(key) is AttrType.NUMBER and number(value) is None:
            return f"attribute {key} must be a number like 1250 or 99.90, not {value!r}"
    currency = attrs.get("currency")
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        return f"attribute currency must be a three-letter ISO 4217 code like EUR, not {currency!r}"
    amount = attrs.get("amount")
    if amount is not None:
        amount_value = number(amount)
        if amount_value is None or abs(amount_value) >= MAX_NUMBER:
            return f"attribute amount must be a number like 1250 or 99.90, not {amount!r}"
        if amount_value != amount_value.quantize(Decimal("0.01")):
            return f"attribute amount has at most two decimals, not {amount!r}"
    return None


def amount_cents(attrs: Mapping[str, str]) -> int | None:
    """A checked `amount`, in hundredths (see BusinessEvent.amount_cents)."""
    value = number(attrs["amount"]) if "amount" in attrs else None
    return None if value is None else int(value * 100)
