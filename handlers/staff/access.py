"""Who may do what in the staff group. Only registered staff act; the rest are refused."""

from __future__ import annotations

from careloop.handlers.context import Context
from careloop.kernel.updates import Update
from careloop.storage.models import StaffMember

# Marketers see numbers, not customers' complaints (DESIGN: roles).
CASE_ROLES = frozenset({"agent", "lead", "admin"})
LEAD_ROLES = frozenset({"lead", "admin"})


async def member(update: Update, ctx: Context) -> StaffMember | None:
    """The registered staff member behind this update, their name and @username kept
    current: cards show the name, /assign finds people by @username."""
    found = await ctx.uow.staff.by_telegram_user(update.user.id)
    if found is None:
        return None
    name, username = update.user.full_name[:200], (update.user.username or None)
    if (found.name, found.username) != (name, username):
        found.name, found.username = name, username
        ctx.uow.session.add(found)
    return found


async def case_handler(update: Update, ctx: Context) -> StaffMember | None:
    """The staff member acting, if their role handles cases."""
    found = await member(update, ctx)
    return found if found is not None and found.role in CASE_ROLES else None
