"""How the playground's page is handed a message: Telegram's entities as HTML, counted in
UTF-16 code units, everything else escaped; and the command's one-line refusals."""

from __future__ import annotations

import pytest

from careloop.bot.cli import main
from careloop.sandbox.formatting import parse_html
from careloop.sandbox.playground.view import rich


def test_entities_become_tags_and_the_rest_is_escaped() -> None:
    text, entities = parse_html("😍 <b>5</b> &lt;script&gt; <i>fine</i>")
    assert rich(text, entities) == "😍 <b>5</b> &lt;script&gt; <i>fine</i>"


def test_links_are_kept_only_on_the_web() -> None:
    entities = [{"type": "text_link", "offset": 0, "length": 4, "url": "https://example.com/?a=1&b=2"},
                {"type": "text_link", "offset": 5, "length": 4, "url": "javascript:alert(1)"}]
    assert rich("shop here", entities) == (
        '<a href="https://example.com/?a=1&amp;b=2" target="_blank" rel="noopener">shop</a>'
        " here")


def test_nested_entities_close_in_order() -> None:
    text, entities = parse_html("<b>bold <i>both</i></b> plain")
    assert rich(text, entities) == "<b>bold <i>both</i></b> plain"


@pytest.mark.parametrize(("argv", "message"), [
    (["playground", "--port", "70000"], "careloop: error: --port 70000: must be from 0 to 65535"),
    (["playground", "--locale", "xx"], "careloop: error: --locale 'xx': no catalog; available: "
                                       "en, ru, zh_Hans, zh_Hant"),
])
def test_a_bad_option_is_one_line(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message
