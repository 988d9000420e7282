"""Settings from CARELOOP_* environment variables or careloop.toml; environment wins."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
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
from careloop.cases.calendar import (
    BadCalendar,
    BusinessCalendar,
    parse_calendar,
    parse_holidays,
    parse_hours,
)
from careloop.kernel.i18n import available_languages
from careloop.kernel.languages import telegram_language
from careloop.surveys.weekly import BadDigestTime, DigestAt

PREFIX = "CARELOOP_"
CONFIG = f"{PREFIX}CONFIG"  # the settings file; unset, careloop.toml in the working folder
DEFAULT_CONFIG = "careloop.toml"
MIN_LINK_SECRET = 16  # characters: a deep link's signature is only as strong as its key
OFFICIAL_API = "https://api.telegram.org"
# What @BotFather gives: the bot's id, a colon and its key ("123456:ABC-DEF1234ghIkl-zyx57W2").
TOKEN_SHAPE = re.compile(r"[0-9]{1,18}:[A-Za-z0-9_-]+")
LISTEN_SHAPE = re.compile(r"(?P<host>\S*):(?P<port>[0-9]{1,5})")
MAX_QUIET_CHOICES = 6  # buttons in /settings
# Telegram posts webhooks over HTTPS to these ports only.
WEBHOOK_PORTS = (80, 88, 443, 8443)


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


def config_file() -> Path:
    """The settings file: CARELOOP_CONFIG, which must exist, else careloop.toml if there."""
    named = os.environ.get(CONFIG)
    if named is None:
        return Path(DEFAULT_CONFIG)
    path = Path(named)
    if not path.is_file():
        raise ConfigError(f"{CONFIG}: no such file {named!r}")
    return path


class _TomlFile(TomlConfigSettingsSource):
    """careloop.toml with its keys as the settings' names, with or without CARELOOP_ and in
    any case: `timezone = ...` and `CARELOOP_TIMEZONE = ...` are the same setting."""

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        return {str(key).lower().removeprefix(PREFIX.lower()): value
                for key, value in super()._read_file(file_path).items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid")

    bot_token: SecretStr | None = None
    telegram_api_url: str = OFFICIAL_API
    database_url: str = "sqlite+aiosqlite:///careloop.db"
    staff_chat_id: int | None = None
    # The business's own customer group (a supergroup where the bot is an administrator).
    community_chat_id: int | None = None
    runtime: Literal["aiogram", "ptb"] = "aiogram"
    timezone: str = "UTC"
    link_secret: SecretStr | None = None
    # `run` stops when Telegram cannot find the staff group (CARELOOP_STAFF_CHAT_ID): cases
    # would otherwise open where nobody sees them. false: only a warning, and cases wait.
    require_staff_chat: bool = True
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
    # Fairness: updates of this many chats are handled at once (each chat's in order), and
    # a customer's messages beyond this many a minute get one notice instead of replies.
    update_workers: int = 4
    user_messages_per_minute: int = 20
    # How long to wait for Telegram's answer to a request; no answer is a timeout.
    request_timeout_seconds: float = 20.0
    # How long a claim on a message being sent holds unless its process renews it (every
    # third of this): another process recovers a claim only once it has run out.
    claim_lease_seconds: float = 60.0
    # Contact policy: local quiet hours ("" turns them off) and caps per rolling window.
    quiet_hours: str = "21:00-09:00"
    # The quiet hours a customer may choose in /settings, kept on top of the business's
    # (comma-separated, at most 6; "" lets no one choose); the frequency they choose is at
    # most cap_messages per cap window.
    quiet_hours_choices: str = "20:00-09:00,22:00-10:00,19:00-11:00"
    cap_window_days: int = 7
    cap_messages: int = 3
    cap_surveys: int = 1
    playbook: Path | None = None  # None: the playbook shipped with careloop
    # Teams, their staff groups and which cases go where (None: one team, the staff group).
    routing: Path | None = None
    # A customer whose chat is not linked to a record who writes: told how to identify
    # themselves, or heard as an anonymous inquiry.
    unlinked_inquiries: Literal["identify", "anonymous"] = "identify"
    # Surveys: definitions (None: the ones shipped with careloop), one reminder, then expiry.
    surveys: Path | None = None
    survey_reminder_hours: float = 24.0
    survey_expiry_days: float = 3.0
    # After a low score, how long "what went wrong?" waits before the case opens without it.
    survey_comment_wait_minutes: float = 60.0
    # How often reminders, expiry and unwritten comments are looked for.
    survey_interval_seconds: float = 60.0
    # Cases: time to the first answer and to the resolution by priority, in business hours
    # (below), and when an unclaimed case goes to leads (elapsed hours).
    sla_urgent_hours: float = 2.0
    sla_important_hours: float = 24.0
    sla_normal_hours: float = 72.0
    resolve_urgent_hours: float = 24.0
    resolve_important_hours: float = 72.0
    resolve_normal_hours: float = 168.0
    escalate_after_hours: float = 48.0
    # The business calendar the SLA clock runs on: "mon-fri 09:00-18:00" ("" = always),
    # holidays as dates, and the timezone of both (unset: CARELOOP_TIMEZONE).
    business_hours: str = ""
    holidays: str = ""
    business_timezone: str | None = None
    # Promises: how long before one is due its case's assignee is reminded.
    promise_remind_hours: float = 24.0
    # The call-back after a resolution: this survey, this long after the customer confirms
    # it (0: no call-back).
    callback_hours: float = 72.0
    callback_survey: str = "csat"
    # A customer's owner has the first claim on their new case for this long before the rest
    # of the team may claim it (0: no first claim).
    owner_first_claim_minutes: float = 30.0
    # The script library: staff's prepared replies and the care messages' texts (None: the
    # library shipped with careloop).
    scripts: Path | None = None
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
    # Every HTTP listener (the API, the webhook): how long a client may take to send a
    # request's headers (counted from connecting; also how long an idle connection is kept)
    # and its body; how many requests per second one client (IP address) may make to the
    # API, and how many at once.
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    api_rate_per_second: float = 20.0
    api_rate_burst: int = 40
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"
    # The weekly KPI digest: to this chat (unset: the staff group), on this local weekday
    # and time (CARELOOP_TIMEZONE's), coloured by the thresholds file (unset: the shipped
    # one); a purchase within repurchase_days after a follow-up counts as a repurchase.
    digest_enabled: bool = True
    digest_chat_id: int | None = None
    digest_at: str = "mon 09:00"
    kpi_thresholds: Path | None = None
    repurchase_days: int = 30
    digest_interval_seconds: float = 60.0
    # Outgoing webhooks (`careloop webhooks`): how often due deliveries are looked for, and
    # how long an endpoint may take to answer one.
    webhooks_interval_seconds: float = 5.0
    webhooks_timeout_seconds: float = 10.0
    # Several workers: Telegram's limits kept together through this Redis (redis://HOST:PORT/DB);
    # unset, this worker keeps them alone and must be the only one on its database.
    redis_url: SecretStr | None = None
    # /healthz, /readyz and /metrics, whether or not the API is on ("" turns them off).
    health_listen: str = ""
    # Logging: the level, and "text" lines or "json" objects (one per line).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # aiogram refuses a malformed token with a traceback when the bot is made; say which
        # setting instead (never the token itself). A space or a line break copied along with
        # the token is the usual mistake.
        token = value.get_secret_value() if value is not None else ""
        if token and not TOKEN_SHAPE.fullmatch(token):
            hint = "; it has a space or a line break in it" if token != "".join(
                token.split()) else ""
            raise ValueError("is not a bot token like 123456:ABC-DEF1234 (the digits of the "
                             f"bot's id, a colon, then letters, digits, - and _){hint}")
        return value

    @field_validator("link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_LINK_SECRET:
            raise ValueError(f"must be at least {MIN_LINK_SECRET} characters (a random one: "
                             "python -c \"import secrets; print(secrets.token_urlsafe(24))\")")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        url = value.get_secret_value() if value is not None else ""
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a URL like redis://127.0.0.1:6379/0")
        return value if url else None

    @field_validator("api_listen", "webhook_listen", "health_listen")
    @classmethod
    def _listen_address(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "health_listen" and value == "":
            return value
        shape = LISTEN_SHAPE.fullmatch(value)
        if shape is None or int(shape["port"]) > 65535:
            example = "127.0.0.1:8081" if info.field_name == "api_listen" else "127.0.0.1:8080"
            raise ValueError(f"{value!r} must be HOST:PORT, like {example}")
        return value

    @field_validator("timezone", "business_timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            parse_hours(value)
        except BadCalendar as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str) -> str:
        try:
            parse_holidays(value)
        except BadCalendar as exc:
            raise ValueError(str(exc)) from None
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
                     "survey_interval_seconds", "sla_urgent_hours", "sla_important_hours",
                     "sla_normal_hours", "resolve_urgent_hours", "resolve_important_hours",
                     "resolve_normal_hours", "promise_remind_hours", "escalate_after_hours",
                     "campaign_interval_seconds", "retention_days",
                     "export_per_day", "update_workers", "user_messages_per_minute",
                     "http_header_timeout_seconds",
                     "http_body_timeout_seconds", "api_rate_per_second", "api_rate_burst",
                     "repurchase_days", "digest_interval_seconds",
                     "webhooks_interval_seconds", "webhooks_timeout_seconds")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("chat_interval_seconds", "cap_messages", "cap_surveys",
                     "campaign_confirm_above", "callback_hours", "owner_first_claim_minutes")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("digest_at")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        try:
            DigestAt.parse(value)
        except BadDigestTime as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        try:
            QuietHours.parse(value)
        except BadQuietHours as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("quiet_hours_choices")
    @classmethod
    def _quiet_choices(cls, value: str) -> str:
        windows = [part.strip() for part in value.split(",") if part.strip()]
        if len(windows) > MAX_QUIET_CHOICES:
            raise ValueError(f"at most {MAX_QUIET_CHOICES} windows, not {len(windows)}")
        for window in windows:
            try:
                QuietHours.parse(window)
            except BadQuietHours as exc:
                raise ValueError(str(exc)) from None
        return ",".join(windows)

    @property
    def quiet_choices(self) -> tuple[str, ...]:
        return tuple(w for w in self.quiet_hours_choices.split(",") if w)

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
    def calendar(self) -> BusinessCalendar:
        """The business calendar the SLA clock runs on."""
        return parse_calendar(self.business_hours, self.holidays,
                              self.business_timezone or self.timezone)

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
        return (init_settings, env_settings, _TomlFile(settings_cls, config_file()))

    def check_webhook(self) -> None:
        """`run --webhook`: the URL Telegram will post to, checked before Telegram is asked.
        Telegram itself posts only to HTTPS on a few ports; a local Bot API server (or the
        sandbox) may allow plain HTTP, and says so itself when it refuses a URL."""
        self.require("webhook_url")
        assert self.webhook_url is not None
        parts = urlsplit(self.webhook_url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise ConfigError(f"{PREFIX}WEBHOOK_URL: must be a URL like "
                              "https://bot.example.com/telegram")
        if self.telegram_api_url != OFFICIAL_API:
            return
        if parts.scheme != "https":
            raise ConfigError(f"{PREFIX}WEBHOOK_URL: must start with https://; Telegram posts "
                              "updates over HTTPS only")
        if (port or 443) not in WEBHOOK_PORTS:
            raise ConfigError(f"{PREFIX}WEBHOOK_URL: Telegram posts only to ports "
                              f"{', '.join(map(str, WEBHOOK_PORTS))}, not {port}")

    def require(self, *names: str) -> None:
        """Fail with one line naming every required setting that is not set."""
        missing = [f"{PREFIX}{name.upper()}" for name in names
                   if (value := getattr(self, name)) is None
                   or (isinstance(value, SecretStr) and not value.get_secret_value())]
        if len(missing) == 1:
            raise ConfigError(f"{missing[0]} is required for this command")
        if missing:
            raise ConfigError(f"{', '.join(missing[:-1])} and {missing[-1]} are required for "
                              "this command")


def load_settings(**overrides: object) -> Settings:
    try:
        # The overrides are checked by the settings model, which says what is wrong.
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        # Every wrong setting at once, so that one run shows all there is to fix.
        raise ConfigError("; ".join(_problem(err) for err in exc.errors())) from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed settings file
        raise ConfigError(f"{_config_name()}: {exc}") from None


def _config_name() -> str:
    return os.environ.get(CONFIG, DEFAULT_CONFIG)


def _problem(err: Any) -> str:
    field = str(err["loc"][0]) if err["loc"] else "settings"
    name = f"{PREFIX}{field.upper()}"
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(field, Settings.model_fields, n=1)
        hint = (f" (did you mean {close[0]}?)" if close else "; its keys are the settings' "
                f"names with or without {PREFIX}, like timezone = \"Asia/Shanghai\"")
        return f"{name}: unknown setting in {_config_name()}{hint}"
    return f"{name}: " + str(err["msg"]).removeprefix("Value error, ")
