"""Every text careloop shows goes through gettext: a scan of the source for literals that
reach a person unmarked, and proof on made-up code that the scan does catch them."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from tests.i18n.unmarked import TEXT_PARAMS, scan, scan_source, signatures

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("bot", "handlers", "surveys", "cases", "care", "campaigns", "customers", "kernel",
           "sandbox")
# The simulated Telegram answers with Telegram's own (English) error texts. The HTTP API
# speaks to other programs: its OpenAPI descriptions and field errors are developer
# documentation, in English like Telegram's own API reference.
# The stage and the demo beside the simulated Telegram narrate to a person: they are scanned.
SKIP = (*(f"sandbox/{p.name}" for p in sorted((ROOT / "sandbox").glob("*.py"))
          if p.stem not in ("demo", "stage")), "bot/api")

# Reviewed literals that reach a text parameter without being user-facing careloop text.
ALLOWED = {
    # argparse's program description: the operator's CLI reference stays in English, like
    # the one-line CLI errors that outside tools read.
    ("bot/cli/__init__.py", "careloop keeps a business in touch with its customers after a sale."),
    ("bot/cli/customers.py", "Create or update customers from a CSV file. Valid rows are imported "
                   "together; each rejected row is reported with its line number and reason."),
    ("bot/cli/customers.py", "Erase a customer's name, Telegram ids, messages, written answers and "
                   "stored attachments' references. Scores, counts and times stay, so reports "
                   "do not change. Cannot be undone: on a terminal it asks first; elsewhere "
                   "--yes is needed."),
    ("bot/cli/customers.py", "List current customers (not erased), one a line: #ID, external id, "
                   "name, tier, language, consent (service/marketing), linked to a chat, tags. "
                   "Names show their initials and phone-like numbers are masked unless "
                   "--unmasked."),
    ("bot/cli/customers.py", "One customer's record: ids, language, timezone, tier, tags, "
                   "consents, do-not-contact, community membership. An --unmasked view goes "
                   "into the audit log."),
    ("bot/cli/events.py", "Record a business event for a customer; the playbook's rules for its "
                   "type schedule touches. Give each event your own system's id with --id: the "
                   "same id reported again (a retry, a re-run import) is recognised and records "
                   "nothing twice."),
    ("bot/cli/checks.py", "Read a script library as careloop run does: a mistake (an unknown "
                   "placeholder, a text missing in the default language) stops it with "
                   "FILE:LINE. Texts without a version in one of careloop's languages are "
                   "listed: their readers get the default language."),
    ("bot/cli/customers.py", "How many customers are in each RFM segment (recency, frequency "
                   "and monetary quintiles over every customer who bought), in the playbook's "
                   "order; careloop scores them anew daily. --recompute scores them now "
                   "first."),
    ("bot/cli/staff.py", "Revoke a staff member at once. Their record stays, so cases, notes and "
                   "the audit log still name them; `staff add` brings them back."),
    ("bot/cli/customers.py", "Lift do-not-contact from a customer, and take their ids off the "
                   "suppression list that erasure keeps, so that they can be contacted again "
                   "once imported or linked anew."),
    # The demo's customers type a Telegram command, which is the same in every language.
    ("sandbox/demo.py", "/start "),
}


def test_every_user_facing_literal_is_marked_for_translation() -> None:
    findings = [f for f in scan(ROOT, FOLDERS, SKIP) if (f.path, f.literal) not in ALLOWED]
    assert findings == [], "\n".join(map(str, findings))


def test_the_allow_list_has_nothing_stale() -> None:
    found = {(f.path, f.literal) for f in scan(ROOT, FOLDERS, SKIP)}
    assert found >= ALLOWED


def test_the_scan_knows_where_texts_leave_careloop() -> None:
    """If a text parameter were renamed, the scan would silently stop looking there."""
    known: dict[str, list[list[str]]] = {}
    for path in sorted(p for f in FOLDERS for p in (ROOT / f).rglob("*.py")):
        for name, params in signatures(ast.parse(path.read_text(encoding="utf-8"))).items():
            known.setdefault(name, []).extend(params)
    for sink in ("Send", "Edit", "Toast", "Button", "button", "make_button", "send_text",
                 "edit_text", "answer_button", "send_media", "_reply", "Survey"):
        assert any(TEXT_PARAMS & set(params) for params in known[sink]), sink


SYNTHETIC = textwrap.dedent('''
    from careloop.kernel.effects import Edit, Send, Toast

    def _reply(update, text, keyboard=None):
        return Send(update.chat.id, text, keyboard=keyboard)

    async def handler(update, ctx, tr):
        _ = tr.gettext
        staff_ = ctx.staff_tr.gettext
        name = update.user.first_name
        return [
            Send(1, "Your order has shipped!"),                          # 12: plain literal
            Send(1, _("Your order has shipped!")),
            Edit(1, 2, text=f"Hello {name}, welcome back"),              # 14: f-string
            Toast("cb-1", _("Hi {name}").format(name="stranger")),       # 15: in .format()
            _reply(update, "Sorry, try again"),                          # 16: local helper
            _reply(update, staff_("Case #{id} resolved.").format(id=3)),  # 17: not extracted
            Send(1, "\\n".join([_("a line"), "another line"])),           # 18: in a join
            Send(1, _("yes") if name else "no thanks"),                  # 19: one branch
            await ctx.button("Claim", "case_claim", 7, 1),               # 20: a button
            await ctx.button(_("Claim"), "case_claim", 7, 1, "yes"),
            Send(1, f"{name}\\n{_('thanks')}"),
            Send(1, "📷 — 🙂 4"),
        ]
''')


def test_the_scan_finds_unmarked_texts_in_made_up_code() -> None:
    known = {"button": [["text", "action", "subject_id", "chat_id", "value"]],
             "Send": [["chat_id", "text", "keyboard"]], "Edit": [["chat_id", "message_id", "text"]],
             "Toast": [["callback_id", "text"]]}
    findings = scan_source(SYNTHETIC, "synthetic.py", known)
    assert [(f.line, f.literal) for f in findings] == [
        (12, "Your order has shipped!"),
        (14, "Hello "),
        (14, ", welcome back"),
        (15, "stranger"),
        (16, "Sorry, try again"),
        (17, "Case #{id} resolved."),
        (18, "another line"),
        (19, "no thanks"),
        (20, "Claim"),
    ]


def test_the_scan_reads_the_real_effects_without_help(tmp_path: Path) -> None:
    """The same made-up handler placed among careloop's modules is caught with no hints."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "kernel").mkdir()
    for module in ("kernel/effects.py", "handlers/context.py"):
        (tmp_path / module).write_text((ROOT / module).read_text(encoding="utf-8"))
    (tmp_path / "handlers" / "made_up.py").write_text(SYNTHETIC)
    lines = {f.line for f in scan(tmp_path, ["handlers", "kernel"])
             if f.path.endswith("made_up.py")}
    assert lines == {12, 14, 15, 16, 17, 18, 19, 20}
