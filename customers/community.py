"""Membership of the community group, kept per Telegram account and mirrored on the
customer record (Customer.community_member, community_joined_at) once the account is
linked to one.

Telegram reports each join and leave twice (a chat_member update and the service message
in the group), in either order or only one of them (service messages can be turned off,
chat_member needs the bot to be an administrator). The change is applied by its outcome,
not by its report: a join for someone already a member, or a leave for someone already
gone, changes nothing, so each join and leave is counted once.
"""

from __future__ import annotations

from datetime import datetime

from careloop.customers.timeline import record
from careloop.kernel.updates import MemberStatus
from careloop.storage.models import CommunityEvent, CommunityMember, Customer
from careloop.storage.uow import UnitOfWork

TIMELINE_KIND = "community"


async def change(uow: UnitOfWork, now: datetime, telegram_user_id: int,
                 status: MemberStatus) -> bool:
    """Apply one join, leave or removal; False when it was already so (the second report
    of the same change)."""
    row = await uow.community.member(telegram_user_id)
    joined = status is MemberStatus.JOINED
    if row is not None and row.member == joined:
        return False
    if row is None:
        # A leave from someone who was in the group before the bot kept count is still news.
        row = await uow.community.add_member(
            CommunityMember(telegram_user_id=telegram_user_id, member=joined))
    row.member = joined
    if joined:
        row.joined_at = now
        row.welcome_pending = True
    else:
        row.left_at = now
        row.welcome_pending = False
    uow.session.add(row)
    await uow.community.add_event(
        CommunityEvent(telegram_user_id=telegram_user_id, action=str(status), at=now))
    customer = await uow.customers.by_telegram_user(telegram_user_id)
    if customer is not None:
        _mirror(customer, row)
        uow.session.add(customer)
        await _note(uow, now, customer, str(status))
    return True


async def adopt(uow: UnitOfWork, now: datetime, customer: Customer) -> None:
    """A Telegram account just became this customer's: what the group saw of it before
    (joins and leaves while unlinked) moves into the customer's flag and timeline."""
    if customer.telegram_user_id is None:
        return
    row = await uow.community.member(customer.telegram_user_id)
    if row is None:
        return
    for event in await uow.community.events_of(customer.telegram_user_id):
        await _note(uow, event.at, customer, event.action, carried=True)
    _mirror(customer, row)
    uow.session.add(customer)


def release(customer: Customer) -> None:
    """The account moved to another record (a stub replaced by the real one): the stub is
    no longer in the group as far as the figures go."""
    customer.community_member = False


def _mirror(customer: Customer, row: CommunityMember) -> None:
    customer.community_member = row.member
    if row.member:
        customer.community_joined_at = row.joined_at


async def _note(uow: UnitOfWork, at: datetime, customer: Customer, action: str,
                carried: bool = False) -> None:
    # A removal is the administrators' doing, not the customer's.
    direction = "note" if action == MemberStatus.REMOVED else "in"
    # `carried`: it happened before the account was linked, and was moved in at linking.
    await record(uow, at, customer.id, TIMELINE_KIND, direction,
                 action=action, carried=carried or None)
