"""The sandbox's request validation and HTML parsing, without HTTP."""

from __future__ import annotations

import json

import pytest

from careloop.sandbox.formatting import parse_html, utf16_len
from careloop.sandbox.spec import ApiError, UploadedFile, validate

BUTTON = "can't parse inline keyboard button"
OF_A_TAG = 'of the tag "a" at byte offset 0'


def rejects(method: str, params: dict[str, object]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        validate(method, params)
    return caught.value


def keyboard(*buttons: dict[str, object]) -> str:
    return json.dumps({"inline_keyboard": [list(buttons)]})


# --------------------------------------------------------------------------- HTML


def test_html_tags_become_entities_with_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>bold <i>both</i></b> &lt;tag&gt; &amp; &quot;q&quot; &#33;")

    assert text == '😀 bold both <tag> & "q" !'
    # The emoji is two UTF-16 code units, so "bold" starts at 3.
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
    ]


@pytest.mark.parametrize(
    ("html", "entity"),
    [
        ("<u>x</u>", {"type": "underline"}),
        ("<ins>x</ins>", {"type": "underline"}),
        ("<s>x</s>", {"type": "strikethrough"}),
        ("<del>x</del>", {"type": "strikethrough"}),
        ("<tg-spoiler>x</tg-spoiler>", {"type": "spoiler"}),
        ('<span class="tg-spoiler">x</span>', {"type": "spoiler"}),
        ("<code>x</code>", {"type": "code"}),
        ("<blockquote>x</blockquote>", {"type": "blockquote"}),
        ("<blockquote expandable>x</blockquote>", {"type": "expandable_blockquote"}),
        (
            '<a href="https://x.org/?a=1&b=2">x</a>',
            {"type": "text_link", "url": "https://x.org/?a=1&b=2"},
        ),
        (
            '<tg-emoji emoji-id="536832">x</tg-emoji>',
            {"type": "custom_emoji", "custom_emoji_id": "536832"},
        ),
        ('<pre><code class="language-py">x</code></pre>', {"type": "pre", "language": "py"}),
        ("<pre>x</pre>", {"type": "pre"}),
    ],
)
def test_every_supported_tag(html: str, entity: dict[str, str]) -> None:
    text, entities = parse_html(html)
    assert text == "x"
    assert entities == [{"offset": 0, "length": 1, **entity}]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("héllo <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 7'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Tom & Jerry", 'Unsupported HTML entity "&" at byte offset 4'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("<a href>x</a>", f"Expected equal sign in declaration of an attribute {OF_A_TAG}"),
    ],
)
def test_bad_html_is_refused_like_telegram(html: str, reason: str) -> None:
    error = rejects("sendMessage", {"chat_id": "1", "text": html, "parse_mode": "HTML"})
    assert error.code == 400
    assert error.description == f"Bad Request: can't parse entities: {reason}"


def test_text_without_parse_mode_is_taken_literally() -> None:
    call = validate("sendMessage", {"chat_id": 1, "text": "<b>a & b</b>"})
    assert call.formatted["text"].text == "<b>a & b</b>"
    assert call.formatted["text"].entities == []


def test_surrounding_whitespace_is_trimmed_and_entities_follow() -> None:
    call = validate("sendMessage", {"chat_id": 1, "text": "\n  <b>hi</b> \n", "parse_mode": "html"})
    formatted = call.formatted["text"]
    assert (formatted.text, formatted.entities) == (
        "hi",
        [{"type": "bold", "offset": 0, "length": 2}],
    )
    assert formatted.parse_mode == "HTML"


def test_unsupported_parse_mode() -> None:
    error = rejects("sendMessage", {"chat_id": 1, "text": "x", "parse_mode": "BBCode"})
    assert error.description == "Bad Request: unsupported parse_mode"


def test_markdown_is_accepted_leniently() -> None:
    call = validate("sendMessage", {"chat_id": 1, "text": "*bold*", "parse_mode": "MarkdownV2"})
    assert call.formatted["text"].text == "*bold*"


# --------------------------------------------------------------------------- lengths


def test_length_is_counted_after_parsing() -> None:
    validate("sendMessage", {"chat_id": 1, "text": f"<b>{'a' * 4096}</b>", "parse_mode": "HTML"})
    error = rejects("sendMessage", {"chat_id": 1, "text": "a" * 4097})
    assert error.description == "Bad Request: message is too long"


def test_length_is_counted_in_utf16_code_units() -> None:
    assert utf16_len("😀") == 2
    validate("sendMessage", {"chat_id": 1, "text": "😀" * 2048})
    error = rejects("sendMessage", {"chat_id": 1, "text": "😀" * 2049})
    assert error.description == "Bad Request: message is too long"


def test_caption_limit() -> None:
    photo = UploadedFile("p.jpg", "image/jpeg", b"x")
    validate("sendPhoto", {"chat_id": 1, "photo": photo, "caption": "c" * 1024})
    error = rejects("sendPhoto", {"chat_id": 1, "photo": photo, "caption": "c" * 1025})
    assert error.description == "Bad Request: message caption is too long"


@pytest.mark.parametrize("text", ["", "   \n ", "<b> </b>"])
def test_empty_text(text: str) -> None:
    error = rejects("sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"})
    assert error.description == "Bad Request: message text is empty"


def test_callback_data_is_limited_to_64_bytes_not_characters() -> None:
    validate(
        "sendMessage",
        {
            "chat_id": 1,
            "text": "x",
            "reply_markup": keyboard(
                {"text": "ok", "callback_data": "é" * 32},  # 64 bytes
            ),
        },
    )
    for data in ("é" * 33, "a" * 65):
        markup = keyboard({"text": "too long", "callback_data": data})
        error = rejects("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": markup})
        assert error.description == "Bad Request: BUTTON_DATA_INVALID"


# --------------------------------------------------------------------------- parameters


def test_unknown_method_is_not_found() -> None:
    error = rejects("sendTelepathy", {})
    assert (error.code, error.description) == (404, "Not Found")


def test_method_names_are_case_insensitive_and_values_are_coerced() -> None:
    call = validate(
        "SENDMESSAGE",
        {"chat_id": "-1001000000001", "text": "hi", "disable_notification": "true", "x": "?"},
    )
    assert call.method == "sendMessage"
    assert call.params == {"chat_id": -1001000000001, "text": "hi", "disable_notification": True}


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        ("sendMessage", {"text": "hi"}, "chat_id is empty"),
        ("sendMessage", {"chat_id": 1}, "message text is empty"),
        ("sendMessage", {"chat_id": 1, "text": ""}, "message text is empty"),
        ("deleteMessage", {"chat_id": 1}, "message identifier is not specified"),
        ("sendPhoto", {"chat_id": 1}, "there is no photo in the request"),
        ("answerCallbackQuery", {}, "callback_query_id is empty"),
        ("editMessageText", {"text": "x"}, "chat_id is empty"),
        ("editMessageText", {"chat_id": 1, "text": "x"}, "message identifier is not specified"),
    ],
)
def test_missing_parameters(method: str, params: dict[str, object], description: str) -> None:
    assert rejects(method, params).description == f"Bad Request: {description}"


def test_edit_by_inline_message_id_needs_no_chat() -> None:
    call = validate("editMessageText", {"inline_message_id": "abc", "text": "x"})
    assert call.params["inline_message_id"] == "abc"


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": 1, "message_id": "seven"}, 'parameter "message_id" must be of type Integer'),
        ({"chat_id": 1, "message_id": True}, 'parameter "message_id" must be of type Integer'),
        ({"chat_id": "someone", "message_id": 1}, "chat not found"),
        (
            {"chat_id": 1, "message_id": 1, "disable_notification": "maybe"},
            'parameter "disable_notification" must be of type Boolean',
        ),
    ],
)
def test_wrong_types(params: dict[str, object], description: str) -> None:
    assert rejects("pinChatMessage", params).description == f"Bad Request: {description}"


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("{not json", "can't parse reply keyboard markup JSON object"),
        (
            {"inline_keyboard": [{"text": "a", "callback_data": "a"}]},
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays',
        ),
        (
            {"inline_keyboard": [[{"text": "a"}]]},
            f"{BUTTON}: Text buttons are unallowed in the inline keyboard",
        ),
        ({"inline_keyboard": [[{"callback_data": "a"}]]}, f'{BUTTON}: Can\'t find field "text"'),
        (
            {"inline_keyboard": [[{"text": "a", "callback_data": "a", "url": "https://x.org"}]]},
            f"{BUTTON}: only one of the fields url, callback_data may be used",
        ),
        (
            {"inline_keyboard": [[{"text": ["a"], "callback_data": "a"}]]},
            'field "text" of the InlineKeyboardButton must be of type String',
        ),
        ({"inline_keyboard": [[{"text": "a", "url": "not a url"}]]}, "BUTTON_URL_INVALID"),
        ({"inline_keyboard": [[{"text": "a", "callback_data": ""}]]}, "BUTTON_DATA_INVALID"),
        (
            {"keyboard": "rows"},
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays',
        ),
        (
            {"nothing": True},
            'parameter "reply_markup" must be one of InlineKeyboardMarkup, '
            "ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply",
        ),
    ],
)
def test_reply_markup_is_checked_in_depth(markup: object, description: str) -> None:
    raw = markup if isinstance(markup, str) else json.dumps(markup)
    error = rejects("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": raw})
    assert error.description == f"Bad Request: {description}"


def test_json_body_may_carry_objects_or_json_strings() -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    for value in (markup, json.dumps(markup)):
        call = validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": value})
        assert call.params["reply_markup"] == markup


def test_reply_keyboards_accept_plain_string_buttons() -> None:
    markup = {"keyboard": [["Yes", {"text": "No"}]], "resize_keyboard": True}
    call = validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": markup})
    assert call.params["reply_markup"]["keyboard"] == [[{"text": "Yes"}, {"text": "No"}]]


def test_enumerations_and_patterns_from_the_spec() -> None:
    error = rejects("sendChatAction", {"chat_id": 1, "action": "dancing"})
    assert error.description == "Bad Request: wrong parameter action in request"
    commands = json.dumps([{"command": "Start", "description": "go"}])
    assert rejects("setMyCommands", {"commands": commands}).description == (
        "Bad Request: BOT_COMMAND_INVALID"
    )
    scope = json.dumps({"type": "everyone"})
    assert rejects("getMyCommands", {"scope": scope}).description == (
        'Bad Request: can\'t parse BotCommandScope: unsupported type "everyone"'
    )
    assert rejects("getUpdates", {"limit": "500"}).description == (
        'Bad Request: parameter "limit" must be between 1 and 100'
    )


def test_bot_command_scope_picks_its_subtype() -> None:
    call = validate(
        "setMyCommands",
        {
            "commands": json.dumps([{"command": "start", "description": "Start"}]),
            "scope": json.dumps({"type": "chat", "chat_id": "-100123"}),
        },
    )
    assert call.params["scope"] == {"type": "chat", "chat_id": -100123}


def test_explicit_entities_are_checked_against_the_text() -> None:
    bold = json.dumps([{"type": "bold", "offset": 0, "length": 2}])
    call = validate("sendMessage", {"chat_id": 1, "text": "hi", "entities": bold})
    assert call.formatted["text"].entities == [{"type": "bold", "offset": 0, "length": 2}]
    too_long = json.dumps([{"type": "bold", "offset": 0, "length": 3}])
    assert (
        "out of the text bounds"
        in rejects("sendMessage", {"chat_id": 1, "text": "hi", "entities": too_long}).description
    )
    unknown = json.dumps([{"type": "shiny", "offset": 0, "length": 1}])
    assert rejects("sendMessage", {"chat_id": 1, "text": "hi", "entities": unknown}).code == 400


def test_legacy_reply_to_message_id_is_still_honoured() -> None:
    call = validate("sendMessage", {"chat_id": 1, "text": "x", "reply_to_message_id": "5"})
    assert call.params["reply_to_message_id"] == 5
