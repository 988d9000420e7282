"""The repositories' contract: one module per aggregate, each class saying in one line what
it holds, none committing, and every row an add hands back already carrying its id."""

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import careloop.storage.repositories as repositories
from careloop.bot.app import Storage
from careloop.customers.timeline import entry
from careloop.storage.models import (
    AuditEntry,
    BusinessEvent,
    Campaign,
    CampaignRun,
    Case,
    CommunityEvent,
    CommunityWelcome,
    Customer,
    OutboundMessage,
    StaffMember,
    SurveyAnswer,
    SurveyInvitation,
    Touch,
)
from careloop.storage.repositories.base import Repository
from tests.conftest import START


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"{repositories.__name__}.{info.name}")
            for info in pkgutil.iter_modules(repositories.__path__)]


def _tree(module: ModuleType) -> ast.Module:
    return ast.parse(inspect.getsource(module))


def test_no_repository_commits_or_rolls_back() -> None:
    for module in _modules():
        ends = [node.attr for node in ast.walk(_tree(module))
                if isinstance(node, ast.Attribute) and node.attr in {"commit", "rollback"}]
        assert ends == [], module.__name__


def test_every_class_says_in_one_line_what_it_is() -> None:
    classes = 0
    for module in _modules():
        for node in ast.walk(_tree(module)):
            if isinstance(node, ast.ClassDef):
                classes += 1
                doc = ast.get_docstring(node) or ""
                assert doc and "\n" not in doc, f"{module.__name__}.{node.name}"
    assert classes >= 14  # the scan found the repositories


async def test_every_unit_of_work_repository_shares_its_session(storage: Storage) -> None:
    async with storage.uow() as uow:
        held = {name: repo for name, repo in vars(uow).items() if isinstance(repo, Repository)}
        assert set(held) >= {"customers", "events", "touches", "outbox", "surveys", "cases",
                             "staff", "timeline", "callbacks", "updates", "reports",
                             "campaigns", "community", "privacy"}
        assert all(repo.session is uow.session for repo in held.values())


async def test_each_add_hands_back_a_row_with_its_id_before_any_commit(storage: Storage) -> None:
    async with storage.uow() as uow:
        customer = await uow.customers.add(Customer(external_id="C1", name="Ann",
                                                    created_at=START))
        cid = customer.id
        event = await uow.events.add(BusinessEvent(customer_id=cid, type="purchase",
                                                   occurred_at=START, created_at=START))
        touch = await uow.touches.add(Touch(customer_id=cid, purpose="p", template="t",
                                            due_at=START, idempotency_key="k",
                                            created_at=START))
        outbound = await uow.outbox.add(OutboundMessage(chat_id=7, payload={}, due_at=START,
                                                        created_at=START))
        staff = await uow.staff.add(StaffMember(telegram_user_id=5, role="agent",
                                                added_at=START))
        invitation = await uow.surveys.add_invitation(SurveyInvitation(
            customer_id=cid, touch_id=touch.id, survey_key="csat", purpose="p", sent_at=START))
        answer = await uow.surveys.add_answer(SurveyAnswer(
            invitation_id=invitation.id, customer_id=cid, survey_key="csat", score=2,
            negative=True, answered_at=START))
        case = await uow.cases.add(Case(customer_id=cid, answer_id=answer.id, state="open",
                                        priority="normal", opened_at=START, sla_due_at=START))
        # The exception: timeline entries are values written together at the commit, with
        # no row of their own (nothing reads an entry's id in the transaction that made it).
        await uow.timeline.append(entry(START, cid, "note", "note"))
        campaign = await uow.campaigns.add(Campaign(name="c", spec={}, created_at=START))
        run = await uow.campaigns.add_run(CampaignRun(campaign_id=campaign.id,
                                                      occurrence="start", planned_at=START))
        joined = await uow.community.add_event(CommunityEvent(telegram_user_id=9,
                                                              action="joined", at=START))
        welcome = await uow.community.add_welcome(CommunityWelcome(
            outbound_id=outbound.id, members=1, posted_at=START))
        audit = await uow.privacy.audit(AuditEntry(at=START, actor="operator",
                                                   action="viewed", customer_id=cid))
        rows = [customer, event, touch, outbound, staff, invitation, answer, case,
                campaign, run, joined, welcome, audit]
        assert all(isinstance(row.id, int) for row in rows)
        assert len({(type(row), row.id) for row in rows}) == len(rows)
