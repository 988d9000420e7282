"""POST /api/v1/customers: one customer or a list, created or updated, all or none."""

from __future__ import annotations

import json
from datetime import date

import aiohttp
import pytest

from careloop.bot.api.schemas import MAX_CUSTOMERS
from careloop.bot.api.server import start_api
from careloop.bot.app import Storage
from careloop.care.playbook.loader import load_playbook
from careloop.customers import audit, privacy
from careloop.kernel.clock import ManualClock
from careloop.storage.models import StaffMember, Suppression
from tests.api.conftest import Api, api_settings

CUSTOMERS = "/api/v1/customers"


async def test_create_then_update_with_the_csv_rules(api: Api) -> None:
    status, body = await api.post(CUSTOMERS, {
        "external_id": "C-1", "name": "Mei Chen", "tier": "Gold", "language": "zh-Hans",
        "timezone": "Asia/Shanghai", "birthday": "1991-04-18", "tags": ["VIP", "coffee"]})
    assert (status, body) == (200, {"created": 1, "updated": 0})
    mei = await api.customer("C-1")
    assert mei is not None
    assert (mei.name, mei.tier, mei.language, mei.timezone, mei.birthday, mei.tags) == (
        "Mei Chen", "gold", "zh_Hans", "Asia/Shanghai", date(1991, 4, 18), ["coffee", "vip"])

    status, body = await api.post(CUSTOMERS, [
        {"external_id": "C-1", "name": "Mei Chen-Li"},
        {"external_id": "C-2", "name": "Tom Baker"}])
    assert (status, body) == (200, {"created": 1, "updated": 1})
    mei = await api.customer("C-1")
    tom = await api.customer("C-2")
    assert mei is not None and tom is not None
    # as a CSV row would: language and timezone kept when left out, the rest replaced
    assert (mei.name, mei.tier, mei.language, mei.timezone, mei.birthday, mei.tags) == (
        "Mei Chen-Li", "standard", "zh_Hans", "Asia/Shanghai", None, [])
    # the settings' defaults for a new customer
    assert (tom.language, tom.timezone) == ("en", "Asia/Shanghai")


async def test_one_bad_item_names_each_field_and_writes_nothing(api: Api) -> None:
    status, body = await api.post(CUSTOMERS, [
        {"external_id": "C-1", "name": "Ann"},
        {"external_id": "C-2", "name": "Bob", "timezone": "Mars/Base"},
        {"external_id": "C-3", "name": 3, "nickname": "Cee"},
        "C-4",
        {"external_id": "C-1", "name": "Ann again"},
        {"external_id": "C-6", "name": "Fay", "tags": ["ok", 7]},
    ])
    assert status == 422
    assert body == {"errors": [
        {"field": "[1].timezone",
         "message": "timezone 'Mars/Base' is not an IANA timezone like Asia/Shanghai"},
        {"field": "[2].name", "message": "must be a string"},
        {"field": "[2].nickname", "message": "is not a known field"},
        {"field": "[3]", "message": "must be a JSON object"},
        {"field": "[4].external_id", "message": "external_id 'C-1' already appears on item 0"},
        {"field": "[5].tags[1]", "message": "must be a string"},
    ]}
    assert await api.rows() == (0, 0, 0)


async def test_a_single_object_names_fields_without_an_index(api: Api) -> None:
    status, body = await api.post(CUSTOMERS, {"external_id": "C 1"})
    assert status == 422
    assert body == {"errors": [{"field": "name", "message": "is required"}]}
    status, body = await api.post(CUSTOMERS, {"external_id": "C 1", "name": "Ann"})
    assert body["errors"][0]["field"] == "external_id"
    assert await api.rows() == (0, 0, 0)


@pytest.mark.parametrize(("payload", "message"), [
    ([], "the list has no customers"),
    ([{"external_id": f"C-{i}", "name": "N"} for i in range(MAX_CUSTOMERS + 1)],
     f"at most {MAX_CUSTOMERS} customers per request"),
    ("C-1", "the body must be a customer object or a list of them"),
    (None, "the body must be a customer object or a list of them"),
], ids=["empty", "too-many", "string", "null"])
async def test_bodies_that_are_not_customers(api: Api, payload: object, message: str) -> None:
    status, body = await api.post(CUSTOMERS, data=json.dumps(payload).encode())
    assert (status, body) == (422, {"errors": [{"field": None, "message": message}]})
    assert await api.rows() == (0, 0, 0)


async def test_the_largest_list_allowed_is_saved_in_one_go(api: Api) -> None:
    items = [{"external_id": f"C-{i}", "name": f"Customer {i}"} for i in range(MAX_CUSTOMERS)]
    status, body = await api.post(CUSTOMERS, items)
    assert (status, body) == (200, {"created": MAX_CUSTOMERS, "updated": 0})
    assert await api.rows() == (MAX_CUSTOMERS, 0, 0)


async def test_a_blocked_customer_erased_and_sent_again_stays_on_do_not_contact(
        storage: Storage, clock: ManualClock) -> None:
    server = await start_api(api_settings(link_secret="op-secret-of-16-chars"), storage, clock,
                             load_playbook(None))
    assert server is not None
    async with aiohttp.ClientSession() as http:
        api = Api(server, http, storage, clock)
        assert (await api.post(CUSTOMERS, {"external_id": "C-1", "name": "Mei Chen"}))[0] == 200
        async with storage.uow() as uow:
            mei = await uow.customers.by_external_id("C-1")
            assert mei is not None
            await privacy.block(uow, clock.now(), mei, "asked", audit.Actor.OPERATOR)
            await privacy.erase(uow, clock.now(), mei, audit.Actor.OPERATOR, None,
                                secret="op-secret-of-16-chars")
            await uow.commit()
        status, body = await api.post(CUSTOMERS, [{"external_id": "C-1", "name": "Mei Chen"},
                                                  {"external_id": "C-2", "name": "Tom Baker"}])
        assert (status, body) == (200, {"created": 2, "updated": 0})
        again, other = await api.customer("C-1"), await api.customer("C-2")
        assert again is not None and again.do_not_contact and again.erased_at is None
        assert other is not None and not other.do_not_contact
    await server.stop()


async def test_without_the_secret_the_list_cannot_be_checked_so_nothing_is_stored(
        api: Api) -> None:
    async with api.storage.uow() as uow:
        await uow.suppression.add(Suppression(kind="external_id", digest="0" * 64,
                                              created_at=api.clock.now()))
        await uow.commit()
    status, body = await api.post(CUSTOMERS, {"external_id": "C-1", "name": "Mei Chen"})
    assert status == 503
    assert "CARELOOP_LINK_SECRET" in json.dumps(body)
    assert await api.customer("C-1") is None


async def test_an_owner_is_given_by_name_or_id_refused_when_nobody_and_read_back(
        api: Api) -> None:
    async with api.storage.uow() as uow:
        await uow.staff.add(StaffMember(telegram_user_id=777, role="agent", name="Max",
                                        username="max", added_at=api.clock.now()))
        await uow.commit()
    status, body = await api.post(CUSTOMERS, [
        {"external_id": "C-1", "name": "Ann", "owner": "@max"},
        {"external_id": "C-2", "name": "Bob", "owner": "@nobody"}])
    assert status == 422
    assert body["errors"] == [{"field": "[1].owner", "message": (
        "owner '@nobody' is not a staff member: give their @username, Telegram user id or "
        "name as `careloop staff list` shows them, or none")}]
    assert await api.rows() == (0, 0, 0)

    status, body = await api.post(CUSTOMERS, {"external_id": "C-1", "name": "Ann",
                                              "owner": "777"})
    assert (status, body) == (200, {"created": 1, "updated": 0})
    status, read, _ = await api.call("GET", f"{CUSTOMERS}/C-1")
    assert status == 200
    assert read["owner"] == {"staff_id": 1, "telegram_user_id": 777, "name": "Max",
                             "username": "max"}
    assert [e["data"]["via"] for e in read["timeline"] if e["kind"] == "owner"] == ["api"]
    # Left out, the owner stays; "none" clears it.
    await api.post(CUSTOMERS, {"external_id": "C-1", "name": "Ann Lee"})
    assert (await api.customer("C-1")).owner_id == 1  # type: ignore[union-attr]
    await api.post(CUSTOMERS, {"external_id": "C-1", "name": "Ann Lee", "owner": "none"})
    assert (await api.customer("C-1")).owner_id is None  # type: ignore[union-attr]
