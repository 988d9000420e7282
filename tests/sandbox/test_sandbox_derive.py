"""The committed parameter tables are exactly what the derivation script produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from careloop.sandbox import derive_spec

SPEC = Path(__file__).resolve().parents[3] / "shared" / "botapi" / "api.json"


@pytest.mark.skipif(not SPEC.is_file(), reason="the official api.json is not available here")
def test_committed_tables_match_a_fresh_derivation() -> None:
    assert derive_spec.derive_text(SPEC) == derive_spec.OUTPUT.read_text(encoding="utf-8")


@pytest.mark.skipif(not SPEC.is_file(), reason="the official api.json is not available here")
def test_script_writes_the_tables(tmp_path: Path) -> None:
    target = tmp_path / "methods.json"
    assert derive_spec.main([str(SPEC), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == derive_spec.OUTPUT.read_text(encoding="utf-8")


def test_limits_are_read_from_the_descriptions() -> None:
    rules = derive_spec.field_rules(
        {
            "name": "text",
            "types": ["String"],
            "required": True,
            "description": "Text of the message, 1-4096 characters after entities parsing",
        }
    )
    assert rules == {
        "name": "text",
        "types": ["String"],
        "required": True,
        "min_len": 1,
        "max_len": 4096,
        "counted_after_entities": True,
    }
    data = derive_spec.field_rules(
        {"name": "callback_data", "types": ["String"], "required": False,
         "description": "Optional. Data to be sent in a callback query, 1-64 bytes"}
    )  # fmt: skip
    assert (data["min_bytes"], data["max_bytes"]) == (1, 64)
