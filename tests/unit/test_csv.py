from datetime import date

import pytest

from careloop.customers.directory import (
    BadCsv,
    BadField,
    Rejected,
    RowChecker,
    parse_csv,
    parse_row,
)

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


def test_good_rows_with_defaults_and_html_in_names() -> None:
    checked = parse_csv(
        HEADER
        + 'C1,"<b>Tom & ""Jerry""</b>",Gold,zh-Hant,Asia/Taipei,1990-05-31,"vip;coffee"\n'
        + "C2,Ann,,,,,\n"
    )
    rows = checked.rows
    assert checked.rejected == []
    assert rows[0].name == '<b>Tom & "Jerry"</b>'  # stored as given, escaped when shown
    assert rows[0].tier == "gold"
    assert rows[0].language == "zh_Hant"
    assert rows[0].timezone == "Asia/Taipei"
    assert rows[0].birthday == date(1990, 5, 31)
    assert rows[0].tags == ["coffee", "vip"]
    assert (rows[1].tier, rows[1].language, rows[1].timezone, rows[1].tags) == (
        "standard", None, None, [])


def test_columns_may_come_in_any_order_and_only_two_are_required() -> None:
    rows = parse_csv("name,external_id\nAnn,A-1\n").rows
    assert (rows[0].external_id, rows[0].name) == ("A-1", "Ann")


def test_each_bad_row_is_named_by_line_and_field_and_the_good_rows_are_kept() -> None:
    checked = parse_csv(
        HEADER
        + "C1,Ann,,,,,\n"
        + "C2,Bob,,xx-zz,,,\n"
        + "C3,Cid,,,Mars/Base,,\n"
        + "C4,Dee,,,,1990-13-01,\n"
        + ",Eve,,,,,\n"
        + "C1,Fay,,,,,\n"
        + "C7,Gus,,,,,bad tag!\n"
        + "C8,Hal,,,,,,extra\n"
        + '"C9","Ivy\nJones",,,,,\n'
        + "C10,Jo,,,,,\n"
    )
    assert [r.external_id for r in checked.rows] == ["C1", "C10"]
    assert checked.rejected == [
        Rejected(3, "language", "language 'xx-zz' is not a known language code"),
        Rejected(4, "timezone", "timezone 'Mars/Base' is not an IANA timezone like Asia/Shanghai"),
        Rejected(5, "birthday", "birthday '1990-13-01' is not a date like 1990-05-31, or 05-31 "
                 "without the year"),
        Rejected(6, "external_id", "external_id '' must be 1-64 letters, digits or . _ : @ -, "
                 "starting with a letter or digit"),
        Rejected(7, "external_id", "external_id 'C1' already appears on line 2"),
        Rejected(8, "tags", "tag 'bad tag!' must be 1-32 letters, digits, '.', '_' or '-'"),
        Rejected(9, None, "more fields than the header has columns"),
        # a quoted line break: the row ends on line 11, and that is the line reported
        Rejected(11, "name", "name must be a single line without control characters"),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("id,name\n1,Ann\n", "line 1: unknown column 'id'; missing column 'external_id'"),
    ("external_id,name,name\nC1,Ann,Bob\n", "line 1: column 'name' appears twice"),
    (HEADER, "the file has a header but no customers"),
    ("external_id,name\nC1,Ann\nC2,\"unterminated\n", "malformed CSV from line 3"),
    ('"external_id,name\nC1,Ann\n', "malformed CSV from line 1"),
])
def test_files_that_cannot_be_read_at_all_are_refused_whole(text: str, message: str) -> None:
    with pytest.raises(BadCsv, match=message.replace("(", r"\(")):
        parse_csv(text)


def test_api_items_share_the_row_rules_and_take_tags_as_a_list() -> None:
    row = parse_row({"external_id": "A-1", "name": " Ann ", "tags": ["VIP", "vip", "new"],
                     "birthday": None})
    assert (row.name, row.tags, row.birthday) == ("Ann", ["new", "vip"], None)
    # a list is taken as given, not split again, so a comma is a bad tag and not two tags
    with pytest.raises(BadField) as err:
        parse_row({"external_id": "A-1", "name": "Ann", "tags": ["a,b"]})
    assert err.value.field == "tags"
    with pytest.raises(BadField, match="limited to 50") as err:
        parse_row({"external_id": "A-1", "name": "Ann", "tags": [f"t{i}" for i in range(51)]})


def test_the_checker_names_repeats_by_the_position_name_it_was_given() -> None:
    checker = RowChecker("item")
    checker.add(0, {"external_id": "A", "name": "Ann"})
    checker.add(1, {"external_id": "A", "name": "Ann"})
    checker.add(2, {"external_id": "B"})
    result = checker.result()
    assert [r.external_id for r in result.rows] == ["A"]
    assert result.rejected == [
        Rejected(1, "external_id", "external_id 'A' already appears on item 0"),
        Rejected(2, "name", "name is required and at most 200 characters"),
    ]
