"""At start, careloop asks Telegram what the staff group is. One it cannot find stops `careloop
run` with a line naming the setting, unless the operator said to run without it."""

from __future__ import annotations

import pytest

from careloop.bot.app import staff_forum
from careloop.bot.settings import ConfigError, load_settings
from careloop.kernel.messenger import Blocked, ChatNotFound, MessengerError, Transient


class _Telegram:
    def __init__(self, answer: bool | MessengerError) -> None:
        self.answer = answer

    async def is_forum(self, chat_id: int) -> bool:
        if isinstance(self.answer, MessengerError):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("error", [ChatNotFound("chat not found"), Blocked("kicked")])
async def test_a_staff_group_telegram_cannot_find(error: MessengerError) -> None:
    telegram = _Telegram(error)
    with pytest.raises(ConfigError, match=r"^CARELOOP_STAFF_CHAT_ID: Telegram cannot find the "
                       r"staff group -100 \(" + type(error).__name__):
        await staff_forum(telegram, -100, required=True)  # type: ignore[arg-type]
    assert await staff_forum(telegram, -100, required=False) is False  # type: ignore[arg-type]


async def test_trouble_reaching_telegram_is_not_a_missing_group() -> None:
    telegram = _Telegram(Transient("timed out"))
    assert await staff_forum(telegram, -100, required=True) is False  # type: ignore[arg-type]
    assert await staff_forum(_Telegram(True), -100, required=True) is True  # type: ignore[arg-type]


def test_the_operator_opts_out_with_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().require_staff_chat is True
    monkeypatch.setenv("CARELOOP_REQUIRE_STAFF_CHAT", "false")
    assert load_settings().require_staff_chat is False
