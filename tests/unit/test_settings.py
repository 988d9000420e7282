import pytest

from careloop.bot.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("CARELOOP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_need_nothing() -> None:
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///careloop.db"
    assert s.runtime == "aiogram"
    assert s.telegram_api_url == "https://api.telegram.org"


def test_environment_wins_over_toml(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "careloop.toml").write_text('timezone = "Asia/Shanghai"\nstaff_chat_id = -100\n')
    monkeypatch.setenv("CARELOOP_STAFF_CHAT_ID", "-1001")
    s = load_settings()
    assert (s.timezone, s.staff_chat_id) == ("Asia/Shanghai", -1001)


def test_secrets_are_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_BOT_TOKEN", "123:very-secret")
    s = load_settings()
    assert "very-secret" not in repr(s)
    assert s.bot_token is not None
    assert s.bot_token.get_secret_value() == "123:very-secret"


@pytest.mark.parametrize(("env", "value", "message"), [
    ("CARELOOP_TIMEZONE", "Mars/Base", "CARELOOP_TIMEZONE: unknown IANA timezone 'Mars/Base'"),
    ("CARELOOP_STAFF_CHAT_ID", "abc", "CARELOOP_STAFF_CHAT_ID: Input should be a valid integer"),
    ("CARELOOP_RUNTIME", "telethon", "CARELOOP_RUNTIME: Input should be 'aiogram' or 'ptb'"),
    ("CARELOOP_TELEGRAM_API_URL", "ftp://x", "CARELOOP_TELEGRAM_API_URL: must start with"),
    ("CARELOOP_API_RATE_PER_SECOND", "0", "CARELOOP_API_RATE_PER_SECOND: must be greater than 0"),
    ("CARELOOP_HTTP_HEADER_TIMEOUT_SECONDS", "-1",
     "CARELOOP_HTTP_HEADER_TIMEOUT_SECONDS: must be greater than 0"),
    ("CARELOOP_BUSINESS_HOURS", "weekdays 9-18",
     "CARELOOP_BUSINESS_HOURS: 'weekdays 9-18' is not like \"mon-fri 09:00-18:00\""),
    ("CARELOOP_HOLIDAYS", "2026-12-32", "CARELOOP_HOLIDAYS: '2026-12-32' is not a date"),
    ("CARELOOP_BUSINESS_TIMEZONE", "Mars/Base",
     "CARELOOP_BUSINESS_TIMEZONE: unknown IANA timezone 'Mars/Base'"),
    ("CARELOOP_SLA_IMPORTANT_HOURS", "0", "CARELOOP_SLA_IMPORTANT_HOURS: must be greater than 0"),
    ("CARELOOP_CALLBACK_HOURS", "-1", "CARELOOP_CALLBACK_HOURS: must be 0 or more"),
])
def test_invalid_settings_are_one_line_naming_them(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_unknown_or_broken_toml(tmp_path) -> None:
    (tmp_path / "careloop.toml").write_text('bot_tokn = "x"\n')
    with pytest.raises(ConfigError, match="CARELOOP_BOT_TOKN: unknown setting"):
        load_settings()
    (tmp_path / "careloop.toml").write_text("timezone = \n")
    with pytest.raises(ConfigError, match=r"careloop\.toml"):
        load_settings()


def test_require_names_the_missing_setting() -> None:
    with pytest.raises(ConfigError, match="CARELOOP_BOT_TOKEN is required"):
        load_settings().require("bot_token")


def test_toml_keys_may_carry_the_prefix(tmp_path) -> None:
    (tmp_path / "careloop.toml").write_text('CARELOOP_TIMEZONE = "Asia/Shanghai"\n'
                                            'Staff_Chat_ID = -100\n')
    s = load_settings()
    assert (s.timezone, s.staff_chat_id) == ("Asia/Shanghai", -100)


def test_every_wrong_setting_is_named_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "careloop.toml").write_text('bot_tokn = "x"\nfavourite = 1\n')
    monkeypatch.setenv("CARELOOP_TIMEZONE", "Mars/Base")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "CARELOOP_TIMEZONE: unknown IANA timezone 'Mars/Base'; "
        "CARELOOP_BOT_TOKN: unknown setting in careloop.toml (did you mean bot_token?); "
        "CARELOOP_FAVOURITE: unknown setting in careloop.toml; its keys are the settings' names "
        'with or without CARELOOP_, like timezone = "Asia/Shanghai"')
    (tmp_path / "careloop.toml").unlink()
    with pytest.raises(ConfigError, match=r"^CARELOOP_BOT_TOKEN and CARELOOP_LINK_SECRET are "
                       r"required for this command$"):
        load_settings(timezone="UTC").require("bot_token", "link_secret")


def test_a_config_file_named_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CARELOOP_CONFIG", "prod.toml")
    with pytest.raises(ConfigError, match=r"^CARELOOP_CONFIG: no such file 'prod\.toml'$"):
        load_settings()
    (tmp_path / "prod.toml").write_text('timezone = "Asia/Taipei"\n')
    (tmp_path / "careloop.toml").write_text('timezone = "Asia/Shanghai"\n')
    assert load_settings().timezone == "Asia/Taipei"


@pytest.mark.parametrize(("secret", "valid"), [("x", False), ("k" * 15, False),
                                               ("k" * 16, True)])
def test_the_link_secret_has_a_minimum_length(monkeypatch: pytest.MonkeyPatch, secret: str,
                                              valid: bool) -> None:
    monkeypatch.setenv("CARELOOP_LINK_SECRET", secret)
    if valid:
        assert load_settings().link_secret is not None
        return
    with pytest.raises(ConfigError, match=r"^CARELOOP_LINK_SECRET: must be at least 16 "
                       r"characters") as err:
        load_settings()
    assert secret not in str(err.value)  # a secret is never printed


def test_the_call_back_asks_a_survey_that_exists() -> None:
    from careloop.bot.app import load_definitions

    with pytest.raises(ConfigError, match="CARELOOP_CALLBACK_SURVEY: no survey 'nope'"):
        load_definitions(load_settings(callback_survey="nope"))
    load_definitions(load_settings(callback_survey="nope", callback_hours=0))  # off: unchecked


def test_the_business_calendar_comes_from_its_settings() -> None:
    settings = load_settings(business_hours="mon-fri 09:00-18:00", holidays="2026-12-25",
                             timezone="Asia/Shanghai")
    calendar = settings.calendar
    assert calendar.timezone == "Asia/Shanghai" and not calendar.always_open
    assert load_settings().calendar.always_open  # no setting: the clock runs 24/7
