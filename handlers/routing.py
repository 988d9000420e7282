"""Routing as data, in the spirit of aiogram's Router: each audience declares which handler
takes which kind of update (a command, a button, text, media, a membership change) and
which name (the command, or the button's action), in order. The first route that takes an
update wins; an update no route takes falls through, to the next router or to nothing.

Matching is plain: a route's kinds, names and role list are data, and only a route's
optional `when` condition may look at the database (the marketer's wizard takes text only
from someone writing a campaign)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from careloop.handlers.context import Context
from careloop.kernel.updates import Update


class Kind(StrEnum):
    """What an update is, as routes filter it."""

    MEMBER = "member"  # someone joined or left a group
    BUTTON = "button"  # a press on an inline button; its name is the key's action
    COMMAND = "command"  # /name args; its name is the command
    MEDIA = "media"  # a photo or a document, with or without a caption
    TEXT = "text"  # anything else written


# Text or media: what most audiences take alike (a photo answers "what went wrong?" too).
MESSAGE = frozenset({Kind.TEXT, Kind.MEDIA})


def kind_of(update: Update) -> Kind:
    if update.member_change is not None:
        return Kind.MEMBER
    if update.callback_id is not None:
        return Kind.BUTTON
    if update.command:
        return Kind.COMMAND
    if update.media is not None:
        return Kind.MEDIA
    return Kind.TEXT


Guard = Callable[[Update, Context], Awaitable[bool]]
H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Route(Generic[H]):
    kinds: frozenset[Kind]
    handler: H
    names: frozenset[str] | None = None  # commands or button actions; None takes any
    # Who may use it (staff roles); the audience's middleware refuses everyone else in its
    # own words. None: anyone who reaches the audience.
    roles: frozenset[str] | None = None
    when: Guard | None = None  # checked last, and only for a route that matches otherwise

    def takes(self, kind: Kind, name: str | None = None) -> bool:
        return kind in self.kinds and (self.names is None or name in self.names)

    def allows(self, role: str) -> bool:
        return self.roles is None or role in self.roles


def command(names: str | Iterable[str] | None, handler: H, *,
            roles: Iterable[str] | None = None, when: Guard | None = None) -> Route[H]:
    """A command route: one name, several, or None for any command not taken before."""
    return Route(frozenset({Kind.COMMAND}), handler, _names(names), _roles(roles), when)


def pressed(actions: str | Iterable[str] | None, handler: H, *,
            roles: Iterable[str] | None = None) -> Route[H]:
    """A button route by the action its key was made for; None for any action."""
    return Route(frozenset({Kind.BUTTON}), handler, _names(actions), _roles(roles))


def message(handler: H, *, kinds: Iterable[Kind] = MESSAGE,
            roles: Iterable[str] | None = None, when: Guard | None = None) -> Route[H]:
    """Written text or media (not a command)."""
    return Route(frozenset(kinds), handler, roles=_roles(roles), when=when)


def member_change(handler: H) -> Route[H]:
    return Route(frozenset({Kind.MEMBER}), handler)


def _names(names: str | Iterable[str] | None) -> frozenset[str] | None:
    if names is None:
        return None
    return frozenset({names} if isinstance(names, str) else names)


def _roles(roles: Iterable[str] | None) -> frozenset[str] | None:
    return None if roles is None else frozenset(roles)


class Router(Generic[H]):
    """An ordered routing table."""

    __slots__ = ("routes",)

    def __init__(self, *routes: Route[H]) -> None:
        self.routes = routes

    def __iter__(self) -> Iterator[Route[H]]:
        return iter(self.routes)

    def matching(self, kind: Kind, name: str | None = None) -> Iterator[Route[H]]:
        """The routes that take this kind and name, in order, their conditions unchecked."""
        return (route for route in self.routes if route.takes(kind, name))

    def first(self, kind: Kind, name: str | None = None) -> Route[H] | None:
        """The route that takes this kind and name; for tables without conditions."""
        for route in self.matching(kind, name):
            assert route.when is None, "a table with conditions is picked with pick()"
            return route
        return None

    async def pick(self, update: Update, ctx: Context) -> Route[H] | None:
        """The first route that takes the update's kind and command and whose condition
        holds."""
        kind = kind_of(update)
        for route in self.matching(kind, update.command if kind is Kind.COMMAND else None):
            if route.when is None or await route.when(update, ctx):
                return route
        return None

    def names(self) -> frozenset[str]:
        """Every command or action a route names."""
        return frozenset().union(*(route.names or () for route in self.routes))
