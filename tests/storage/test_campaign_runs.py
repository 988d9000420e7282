"""A campaign's run is planned once, whoever else is looking: on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from careloop.bot.app import Storage
from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns.spec import CampaignSpec, Segment, Variant
from careloop.storage.models import CampaignRun, Customer, Touch

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SPEC = CampaignSpec(name="Sale", segment=Segment(), variants=(Variant("A", 100, {"*": "Hi"}),))


async def test_a_second_planner_with_a_stale_view_plans_nothing(storage: Storage) -> None:
    async with storage.uow() as uow:
        uow.session.add_all([Customer(name=f"C{n}", chat_id=100 + n, service_consent=True,
                                      marketing_consent=True, created_at=NOW)
                             for n in range(3)])
        campaign = await campaigns.create(uow, NOW, SPEC)
        await campaigns.start(uow, NOW, campaign, confirm_above=10, confirmed=False,
                              timezone="UTC", bot_username=None)
        await uow.commit()
        campaign_id = campaign.id
    assert campaign_id is not None
    # Two rounds read the due campaign before either plans it.
    async with storage.uow() as first, storage.uow() as second:
        seen_first = await first.campaigns.get(campaign_id)
        seen_second = await second.campaigns.get(campaign_id)
        assert seen_first is not None and seen_second is not None
        run = await campaigns.plan_run(first, NOW, seen_first, "UTC")
        await first.commit()
        assert run is not None and run.targeted == 3
        # The second one's view is stale: its conditional move finds nothing to move.
        assert await campaigns.plan_run(second, NOW, seen_second, "UTC") is None
        await second.commit()
    # And a round that reads the campaign afterwards finds it finished.
    async with storage.uow() as third:
        fresh = await third.campaigns.get(campaign_id)
        assert fresh is not None and fresh.state == "finished"
        assert await campaigns.plan_run(third, NOW, fresh, "UTC") is None
        runs = (await third.session.exec(select(CampaignRun))).all()
        touches = (await third.session.exec(select(Touch))).all()
    assert (len(runs), len(touches)) == (1, 3)
