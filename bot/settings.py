"""Settings from CARELOOP_* environment variables or careloop.toml; environment wins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from careloop.care.contact import BadQuietHours, QuietHours
from careloop.kernel.i18n import available_languages
from careloop.kernel.languages import telegram_language

PREFIX = "CARELOOP_"


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///careloop.db"
    staff_chat_id: int | None = None
    # The business's own customer group (a supergroup where the bot is an administrator).
    community_chat_id: int | None = None
    runtime: Literal["aiogram", "ptb"] = "aiogram"
    timezone: str = "UTC"
    link_secret: SecretStr | None = None
    bot_username: str | None = None
    language: str = "en"
    staff_language: str = "en"
    sender_interval_seconds: float = 2.0
    # Telegram's limits: ~30 msg/s overall (1000/s with paid broadcast), 1/s per chat,
    # 20/min per group. Unset, the rate follows paid_broadcast.
    paid_broadcast: bool = False
    send_rate_per_second: float | None = None
    chat_interval_seconds: float = 1.0
    group_messages_per_minute: int = 20
    # How long to wait for Telegram's answer to a request; no answer is a timeout.
    request_timeout_seconds: float = 20.0
    # How long a claim on a message being sent holds unless its process renews it (every
    # third of this): another process recovers a claim only once it has run out.
    claim_lease_seconds: float = 60.0
    # Contact policy: local quiet hours ("" turns them off) and caps per rolling window.
    quiet_hours: str = "21:00-09:00"
    cap_window_days: int = 7
    cap_messages: int = 3
    cap_surveys: int = 1
    playbook: Path | None = None  # None: the playbook shipped with careloop
    # Surveys: definitions (None: the ones shipped with careloop), one reminder, then expiry.
    surveys: Path | None = None
    survey_reminder_hours: float = 24.0
    survey_expiry_days: float = 3.0
    # After a low score, how long "what went wrong?" waits before the case opens without it.
    survey_comment_wait_minutes: float = 60.0
    # How often reminders, expiry and unwritten comments are looked for.
    survey_interval_seconds: float = 60.0
    # Cases: time to the first answer by priority, and when an unclaimed case goes to leads.
    sla_urgent_hours: float = 2.0
    sla_normal_hours: float = 24.0
    escalate_after_hours: float = 48.0
    # Campaigns: how often due runs are looked for; starting one that reaches more
    # customers than this asks for confirmation.
    campaign_interval_seconds: float = 60.0
    campaign_confirm_above: int = 1000
    # Privacy: message texts and free-text answers older than this are purged daily; how
    # many times a day a customer may ask for their data with /mydata.
    retention_days: int = 365
    export_per_day: int = 3
    # The HTTP API served by `careloop run`; off unless a token is set.
    api_token: SecretStr | None = None
    api_listen: str = "127.0.0.1:8081"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("language", "staff_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        # A language without a catalog would quietly fall back to English: say so instead.
        language = telegram_language(value)
        available = available_languages()
        if language not in available:
            raise ValueError(f"{value!r} has no catalog; available: {', '.join(available)}")
        return language

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(
                "must be sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
            )
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("sender_interval_seconds", "send_rate_per_second", "request_timeout_seconds",
                     "claim_lease_seconds",
                     "group_messages_per_minute", "cap_window_days", "survey_reminder_hours",
                     "survey_expiry_days", "survey_comment_wait_minutes",
                     "survey_interval_seconds", "sla_urgent_hours", "sla_normal_hours",
                     "escalate_after_hours", "campaign_interval_seconds", "retention_days",
                     "export_per_day")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("chat_interval_seconds", "cap_messages", "cap_surveys",
                     "campaign_confirm_above")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        try:
            QuietHours.parse(value)
        except BadQuietHours as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("send_rate_per_second")
    @classmethod
    def _within_telegram(cls, value: float | None, info: ValidationInfo) -> float | None:
        paid = bool(info.data.get("paid_broadcast"))
        ceiling = 1000.0 if paid else 30.0
        if value is not None and value > ceiling:
            hint = "" if paid else " (more needs CARELOOP_PAID_BROADCAST=true)"
            raise ValueError(f"at most {ceiling:g} messages per second{hint}")
        return value

    @property
    def rate(self) -> float:
        """Messages per second overall that the sender keeps to."""
        if self.send_rate_per_second is not None:
            return self.send_rate_per_second
        return 1000.0 if self.paid_broadcast else 30.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = Path(os.environ.get(f"{PREFIX}CONFIG", "careloop.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml))

    def require(self, *names: str) -> None:
        """Fail with one line naming the first required setting that is not set."""
        for name in names:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(f"{PREFIX}{name.upper()} is required for this command")


def load_settings(**overrides: object) -> Settings:
    try:
        # The overrides are checked by the settings model, which says what is wrong.
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        name = f"{PREFIX}{field.upper()}"
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{name}: unknown setting in careloop.toml") from None
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed careloop.toml
        raise ConfigError(f"careloop.toml: {exc}") from None
