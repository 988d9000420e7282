"""Consent per category: one function changes it, with time, text version and timeline."""

from careloop.bot.app import Storage
from careloop.customers import consent
from careloop.customers.consent import TEXT_VERSION, ConsentCategory
from careloop.kernel.clock import ManualClock
from careloop.storage.models import Customer


async def test_set_consent_records_each_change_once_with_its_text_version(
        storage: Storage, clock: ManualClock) -> None:
    now = clock.now()
    async with storage.uow() as uow:
        ann = await uow.customers.add(Customer(name="Ann", created_at=now))
        assert await consent.set_consent(uow, now, ann, "marketing", True, "/settings")
        assert not await consent.set_consent(uow, now, ann, ConsentCategory.MARKETING, True,
                                             "/settings")  # nothing changed: nothing recorded
        assert (ann.marketing_consent, ann.marketing_consent_at,
                ann.marketing_consent_version) == (True, now, TEXT_VERSION[
                    ConsentCategory.MARKETING])
        assert not ann.service_consent and ann.service_consent_version is None
        assert await consent.withdraw_all(uow, now, ann, "/stop")
        assert not await consent.withdraw_all(uow, now, ann, "/stop")
        entries = await uow.timeline.of(ann.id)  # type: ignore[arg-type]
    assert [(e.kind, e.data) for e in entries] == [
        ("consent", {"category": "marketing", "granted": True, "via": "/settings",
                     "version": "marketing-2026-06"}),
        ("consent", {"category": "marketing", "granted": False, "via": "/stop",
                     "version": "marketing-2026-06"}),
    ]
