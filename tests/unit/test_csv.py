from datetime import date

import pytest

from bot.services.customers import BadCsv, parse_csv

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


def test_good_rows_with_defaults_and_html_in_names() -> None:
    rows = parse_csv(
        HEADER
        + 'C1,"<b>Tom & ""Jerry""</b>",Gold,zh-Hant,Asia/Taipei,1990-05-31,"vip;coffee"\n'
        + "C2,Ann,,,,,\n"
    )
    assert rows[0].name == '<b>Tom & "Jerry"</b>'  # stored as given, escaped when shown
    assert rows[0].tier == "gold"
    assert rows[0].language == "zh_Hant"
    assert rows[0].timezone == "Asia/Taipei"
    assert rows[0].birthday == date(1990, 5, 31)
    assert rows[0].tags == ["coffee", "vip"]
    assert (rows[1].tier, rows[1].language, rows[1].timezone, rows[1].tags) == (
        "standard", None, None, [])


def test_columns_may_come_in_any_order_and_only_two_are_required() -> None:
    rows = parse_csv("name,external_id\nAnn,A-1\n")
    assert (rows[0].external_id, rows[0].name) == ("A-1", "Ann")


def test_every_bad_row_is_named_and_nothing_is_returned() -> None:
    with pytest.raises(BadCsv) as err:
        parse_csv(
            HEADER
            + "C1,Ann,,,,,\n"
            + "C2,Bob,,xx-zz,,,\n"
            + "C3,Cid,,,Mars/Base,,\n"
            + "C4,Dee,,,,1990-13-01,\n"
            + ",Eve,,,,,\n"
            + "C1,Fay,,,,,\n"
            + "C7,Gus,,,,,bad tag!\n"
            + "C8,Hal,,,,,,extra\n"
        )
    problems = err.value.problems
    assert problems == [
        "line 3: language 'xx-zz' is not a known language code",
        "line 4: timezone 'Mars/Base' is not an IANA timezone like Asia/Shanghai",
        "line 5: birthday '1990-13-01' is not a date like 1990-05-31",
        "line 6: external_id '' must be 1-64 letters, digits or . _ : @ -, starting with a "
        "letter or digit",
        "line 7: external_id 'C1' appears twice",
        "line 8: tag 'bad tag!' must be 1-32 letters, digits, '.', '_' or '-'",
        "line 9: more fields than the header has columns",
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("id,name\n1,Ann\n", "line 1: unknown column 'id'; missing column 'external_id'"),
    (HEADER, "the file has a header but no customers"),
    ("external_id,name\nC1,\"unterminated\n", "line"),
])
def test_broken_files(text: str, message: str) -> None:
    with pytest.raises(BadCsv, match=message.replace("(", r"\(")):
        parse_csv(text)
