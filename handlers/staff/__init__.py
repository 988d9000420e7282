"""The staff group: the case desk's buttons, commands, and replies that reach customers."""

from __future__ import annotations

from bot.ports.updates import Update
from handlers.context import Context
from handlers.effects import Effect
from handlers.staff import buttons, commands, relay


async def handle(update: Update, ctx: Context) -> list[Effect]:
    if update.is_button:
        return await buttons.on_button(update, ctx)
    if update.command:
        return await commands.on_command(update, ctx)
    return await relay.on_message(update, ctx)
