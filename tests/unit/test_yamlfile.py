"""The YAML reader every careloop file goes through: whatever a file holds is a tree careloop
can use or one line naming the file, the line and the problem; never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careloop.kernel import yamlfile
from careloop.kernel.yamlfile import MAX_DEPTH, YamlError


def _error(text: str | bytes, tmp_path: Path) -> str:
    path = tmp_path / "f.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(YamlError) as caught:
        yamlfile.read(path, "f.yaml")
    return str(caught.value)


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000 + "]" * 5000,
    "a: " + "{b: " * 5000 + "c" + "}" * 5000,
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
    "- " * 3000 + "x",
])
def test_nesting_thousands_deep_is_one_line(text: str, tmp_path: Path) -> None:
    message = _error(text, tmp_path)
    assert message.endswith(f"nested more than {MAX_DEPTH} levels deep")
    assert message.startswith("f.yaml:")


def test_nesting_up_to_the_limit_is_read() -> None:
    root = yamlfile.parse("[" * (MAX_DEPTH - 1) + "x" + "]" * (MAX_DEPTH - 1), "f.yaml")
    assert root is not None and root.is_list


@pytest.mark.parametrize(("text", "message"), [
    ('a: 1\nb: "x \\ud800"\n',
     "f.yaml:2: not valid Unicode: \\ud800 is half of a UTF-16 surrogate pair, not a character"),
    ('a: 1\n"\\udc00": x\n',
     "f.yaml:2: not valid Unicode: \\udc00 is half of a UTF-16 surrogate pair, not a character"),
    ('a: ["ok", "\\ude00\\ud83d"]\n',
     "f.yaml:1: not valid Unicode: \\ude00 is half of a UTF-16 surrogate pair, not a character"),
    ('a: 1\n\nb: "x\\0y"\n', "f.yaml:3: not valid text: contains a NUL character (\\0)"),
    ('a: 1\nb: "\\U00110000"\n', "f.yaml:2: not valid Unicode: an escape names no character"),
    (b"a: 1\nb: 2\nc: caf\xe9\n", "f.yaml:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    (b"a: \xed\xa0\x80\n", "f.yaml:1: not UTF-8 text (byte 0xed); save the file as UTF-8"),
    ("a: 1\nb: x\x07\n", "f.yaml:2: not valid YAML: character #x0007 is not allowed"),
])
def test_invalid_unicode_is_one_line_with_its_line(text: str | bytes, message: str,
                                                   tmp_path: Path) -> None:
    assert _error(text, tmp_path) == message


def test_an_escaped_surrogate_pair_is_the_character() -> None:
    root = yamlfile.parse('a: "gift \\ud83c\\udf81"\n', "f.yaml")
    assert root is not None
    assert root.mapping(["a"])["a"].text() == "gift 🎁"


PIECES = st.sampled_from(['"', "'", "\\ud800", "\\udc00", "\\ud83c\\udf81", "\\0", "\\x00",
                          "\\U00110000", "\\U0001F381", "[", "]", "{", "}", ": ", "\n", "- ",
                          "&a ", "*a", "!!str ", "\t"])
TEXTS = st.one_of(st.text(max_size=200),
                  st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=40).map("".join))


@given(TEXTS)
def test_any_text_is_a_tree_or_one_line(text: str) -> None:
    try:
        root = yamlfile.parse(text, "f.yaml")
    except YamlError as exc:
        message = str(exc)
    else:
        message = ""
    assert "\n" not in message
    if message:
        return
    # Every scalar read is text a database stores: no lone surrogate, no NUL.
    stack = [] if root is None else [root.node]
    seen = 0
    while stack and seen < 10_000:
        node = stack.pop()
        seen += 1
        if isinstance(node.value, str):
            node.value.encode("utf-8")
            assert "\x00" not in node.value
        else:
            for item in node.value:
                stack.extend(item if isinstance(item, tuple) else [item])
