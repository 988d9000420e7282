"""The staff group: the case desk's buttons, commands, and replies that reach customers."""

from __future__ import annotations

from careloop.handlers.context import Context
from careloop.handlers.staff import buttons, commands, relay
from careloop.kernel.effects import Effect
from careloop.kernel.updates import Update


async def handle(update: Update, ctx: Context) -> list[Effect]:
    if update.is_button:
        return await buttons.on_button(update, ctx)
    if update.command:
        return await commands.on_command(update, ctx)
    return await relay.on_message(update, ctx)
