"""A campaign run's post in the community group, as the outbox sends it: its message id or
why it failed is kept on the run, and the post pinned last is the one marked pinned."""

from __future__ import annotations

from careloop.storage.uow import UnitOfWork


async def posted(uow: UnitOfWork, run_id: int, message_id: int) -> None:
    if (run := await uow.campaigns.run(run_id)) is not None:
        run.message_id, run.error, run.targeted = message_id, None, 1
        uow.session.add(run)


async def not_posted(uow: UnitOfWork, run_id: int, reason: str) -> None:
    if (run := await uow.campaigns.run(run_id)) is not None:
        run.message_id, run.error, run.targeted = None, f"not posted: {reason}", 0
        uow.session.add(run)


async def pinned(uow: UnitOfWork, run_id: int) -> list[int]:
    """This run's post is now the pinned one; returns the message ids of the posts it
    replaces, to unpin."""
    replaced: list[int] = []
    for before in await uow.campaigns.pinned_posts():
        if before.id == run_id:
            continue
        if before.message_id is not None:
            replaced.append(before.message_id)
        before.pinned = False
        uow.session.add(before)
    if (mine := await uow.campaigns.run(run_id)) is not None:
        mine.pinned = True
        uow.session.add(mine)
    return replaced
