"""/settings, the customer's own preferences: quiet hours on top of the business's, and how
often careloop may write, at most as often as the operator allows. The contact policy
(care.contact) reads both at every send."""

from __future__ import annotations

from careloop.customers.timeline import record
from careloop.handlers.context import Context, HandlerConfig
from careloop.kernel.i18n import Translator
from careloop.kernel.updates import Button, Keyboard
from careloop.storage.models import Customer

ACTION = "preference"
NONE = "none"


def _window(text: str) -> str:
    return text.replace("-", "–")


def preference_lines(tr: Translator, customer: Customer, config: HandlerConfig) -> list[str]:
    """The two lines /settings shows about the customer's preferences."""
    _ = tr.gettext
    ours = config.quiet_hours
    if customer.quiet_hours:
        quiet = _("Quiet hours: {window}, and ours, {ours}").format(
            window=_window(customer.quiet_hours), ours=_window(ours)) if ours else \
            _("Quiet hours: {window}").format(window=_window(customer.quiet_hours))
    elif ours:
        quiet = _("Quiet hours: ours, {ours}").format(ours=_window(ours))
    else:
        quiet = _("Quiet hours: none")
    most = min(customer.max_messages or config.cap_messages, config.cap_messages)
    often = tr.ngettext("Messages from us: at most {n} in {days} days",
                        "Messages from us: at most {n} in {days} days", most).format(
        n=most, days=config.cap_window_days)
    return [quiet, often]


async def preference_rows(ctx: Context, tr: Translator, customer: Customer
                          ) -> list[list[Button]]:
    """The /settings buttons that open each choice."""
    _ = tr.gettext
    assert customer.chat_id is not None
    rows = []
    if ctx.config.quiet_choices:
        rows.append([await ctx.button(_("Choose quiet hours"), ACTION, customer.id,
                                      customer.chat_id, "quiet")])
    if ctx.config.cap_messages > 1:
        rows.append([await ctx.button(_("Choose how often we write"), ACTION, customer.id,
                                      customer.chat_id, "often")])
    return rows


async def choices(ctx: Context, tr: Translator, customer: Customer, which: str) -> Keyboard:
    _ = tr.gettext
    assert customer.chat_id is not None
    config = ctx.config
    rows = []
    if which == "quiet":
        for window in config.quiet_choices:
            rows.append([await ctx.button(_window(window), ACTION, customer.id,
                                          customer.chat_id, f"q:{window}")])
        rows.append([await ctx.button(_("None of my own"), ACTION, customer.id,
                                      customer.chat_id, f"q:{NONE}")])
    else:
        for n in range(1, config.cap_messages):
            label = tr.ngettext("At most {n} in {days} days", "At most {n} in {days} days",
                                n).format(n=n, days=config.cap_window_days)
            rows.append([await ctx.button(label, ACTION, customer.id, customer.chat_id,
                                          f"f:{n}")])
        rows.append([await ctx.button(_("As often as you need"), ACTION, customer.id,
                                      customer.chat_id, f"f:{NONE}")])
    return Keyboard.of(*rows)


def parse_choice(value: str, config: HandlerConfig) -> tuple[str, str | int | None] | None:
    """A choice button's value as (which, what): only what the operator offers now (a
    button from before a change of settings is no longer valid)."""
    which, _sep, what = value.partition(":")
    if which == "q" and (what == NONE or what in config.quiet_choices):
        return "quiet", None if what == NONE else what
    if which == "f":
        if what == NONE:
            return "often", None
        if what.isdigit() and 1 <= int(what) < config.cap_messages:
            return "often", int(what)
    return None


async def choose(ctx: Context, customer: Customer, which: str, what: str | int | None) -> None:
    """Keep the customer's choice, and note it in their timeline."""
    if which == "quiet":
        customer.quiet_hours = what if isinstance(what, str) else None
        await record(ctx.uow, ctx.now, customer.id, "preferences", "in",
                     quiet_hours=customer.quiet_hours)
    else:
        customer.max_messages = what if isinstance(what, int) else None
        await record(ctx.uow, ctx.now, customer.id, "preferences", "in",
                     max_messages=customer.max_messages, days=ctx.config.cap_window_days)
    ctx.uow.session.add(customer)
