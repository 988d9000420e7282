"""`careloop --help` and every subcommand's help, walked as an operator reads them: each
argument explained (with its default where it has one), each command a group lists exists and
each that exists is listed, and one style of names for what an argument stands for."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from careloop.bot.cli import build_parser, main

# What a name for an argument looks like: FILE, CAMPAIGN_ID, KEY=VALUE.
METAVAR = re.compile(r"[A-Z][A-Z0-9_]*(=[A-Z][A-Z0-9_]*)?")
CUSTOMER = "CUSTOMER"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
              ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                None)


COMMANDS = list(_commands(build_parser()))
IDS = [" ".join(path) or "careloop" for path, _ in COMMANDS]


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(
        a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))]


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_every_argument_is_explained(path: tuple[str, ...],
                                     parser: argparse.ArgumentParser) -> None:
    for action in _arguments(parser):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{path} {name}: no help"
        trivial = action.default in (None, False, [], argparse.SUPPRESS) or action.required
        if not trivial and not isinstance(action, argparse._StoreTrueAction):
            assert "default" in action.help, f"{path} {name}: the default is not shown"


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_arguments_are_named_in_one_style(path: tuple[str, ...],
                                          parser: argparse.ArgumentParser) -> None:
    for action in _arguments(parser):
        if action.nargs == 0:  # a flag names nothing
            continue
        shown = action.metavar or (action.dest.upper() if action.option_strings else None)
        name = "/".join(action.option_strings) or action.dest
        if action.choices is not None and action.metavar is None:
            continue  # argparse shows the choices themselves: {text,json}
        assert isinstance(shown, str) and METAVAR.fullmatch(shown), f"{path} {name}: {shown!r}"
        if "customer" in action.dest or (action.help or "").startswith("the customer's"):
            assert shown == CUSTOMER, f"{path} {name}: a customer is {CUSTOMER}, not {shown}"
            assert "#ID" in (action.help or ""), f"{path} {name}: #ID is not mentioned"


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=IDS)
def test_the_listed_commands_are_the_commands(path: tuple[str, ...],
                                              parser: argparse.ArgumentParser) -> None:
    sub = _subcommands(parser)
    if sub is None:
        return
    listed = {a.dest for a in sub._choices_actions}
    assert listed == set(sub.choices), f"{path}: listed {listed}, exist {set(sub.choices)}"
    for action in sub._choices_actions:
        assert action.help, f"{path} {action.dest}: no help"
        # "staff members: add, list, remove": each command a group's summary names exists.
        child = sub.choices[action.dest]
        grandchildren = _subcommands(child)
        summary = re.fullmatch(r"[^:]*: ([a-z-]+(?:, [a-z-]+)*)", action.help)
        if grandchildren is not None and summary is not None:
            named = set(summary.group(1).split(", "))
            assert named <= set(grandchildren.choices), (
                f"{' '.join((*path, action.dest))}: the help names {sorted(named)}, the "
                f"commands are {sorted(grandchildren.choices)}")


def test_the_top_level_help_lists_exactly_the_commands(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    listed = set(re.findall(r"^    ([a-z-]+)(?: |$)", text, flags=re.MULTILINE))
    sub = _subcommands(build_parser())
    assert sub is not None
    assert listed == set(sub.choices)
    assert "campaigns check" not in text
