"""Settings: read once from the environment (and `.env`), validated, frozen."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from config.meetings import DEFAULT_OFFSETS, MeetingRuleError, parse_offsets, parse_rule

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")
DEFAULT_DATABASE_URL = "sqlite:///data/vigil.db"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Karachi")

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_CHAT_ID_SHAPE = re.compile(r"^-\d+$")
_ACCOUNT_SID_SHAPE = re.compile(r"^AC[0-9a-fA-F]{32}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and never shows its value."""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str | None = None


@dataclass(frozen=True)
class Settings:
    telegram_token: str
    group_chat_id: int
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str | None = None
    twilio: TwilioSettings | None = None
    timezone: ZoneInfo = DEFAULT_TIMEZONE
    policy_path: Path = DEFAULT_POLICY_PATH
    phone_region: str = "PK"
    log_level: str = "INFO"
    telegram_rate_limit: bool = True
    sweep_seconds: float = 2.0
    meeting_rule: str | None = None
    meeting_reminders: tuple[timedelta, ...] = DEFAULT_OFFSETS
    protect_content: bool = True
    announce_shifts: bool = False

    def __repr__(self) -> str:  # keeps the token and Twilio secret out of any traceback
        return f"Settings(group_chat_id={self.group_chat_id}, database={self.safe_database_url})"

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password replaced by stars."""
        return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", self.database_url)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `environ` (default: the process environment after `.env`)."""
    env = dict(os.environ if environ is None else environ)
    token = _required(env, "TELEGRAM_BOT_TOKEN", "the token BotFather gave you")
    if not _TOKEN_SHAPE.match(token):
        raise SettingsError("TELEGRAM_BOT_TOKEN: expected a BotFather token like 123456:ABC-...")
    chat = _required(env, "TELEGRAM_GROUP_CHAT_ID", "the group's chat id, e.g. -1001234567890")
    if not _CHAT_ID_SHAPE.match(chat):
        raise SettingsError(
            "TELEGRAM_GROUP_CHAT_ID: expected a negative number such as -1001234567890"
        )
    return Settings(
        telegram_token=token,
        group_chat_id=int(chat),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        telegram_api_base_url=_url(env, "TELEGRAM_API_BASE_URL"),
        twilio=_twilio(env),
        timezone=_timezone(env.get("VIGIL_TIMEZONE") or "Asia/Karachi"),
        policy_path=_policy_path(env.get("VIGIL_ESCALATION_POLICY")),
        meeting_rule=_meeting_rule(env.get("VIGIL_MEETING_RULE")),
        meeting_reminders=_meeting_reminders(env.get("VIGIL_MEETING_REMINDERS")),
        phone_region=_region(env.get("VIGIL_PHONE_REGION") or "PK"),
        protect_content=_flag(env, "VIGIL_PROTECT_CONTENT", True),
        announce_shifts=_flag(env, "VIGIL_ANNOUNCE_SHIFTS", False),
        log_level=_log_level(env.get("VIGIL_LOG_LEVEL") or "INFO"),
    )


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("VIGIL_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
    return level


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise SettingsError(f"{name}: expected true or false")
    return value in ("true", "1", "yes", "on")


def _required(env: Mapping[str, str], name: str, expected: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: expected {expected}")
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise SettingsError(f"{name}: expected an http:// or https:// URL")
    return value or None


def _twilio(env: Mapping[str, str]) -> TwilioSettings | None:
    names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
    present = [name for name in names if (env.get(name) or "").strip()]
    if not present:
        return None
    missing = [name for name in names if name not in present]
    if missing:
        raise SettingsError(f"{missing[0]} is not set: SMS needs all of {', '.join(names)}")
    sid = env["TWILIO_ACCOUNT_SID"].strip()
    if not _ACCOUNT_SID_SHAPE.match(sid):
        raise SettingsError("TWILIO_ACCOUNT_SID: expected AC followed by 32 hex characters")
    sender = env["TWILIO_FROM_NUMBER"].strip()
    if not re.match(r"^(\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32})$", sender):
        raise SettingsError(
            "TWILIO_FROM_NUMBER: expected an E.164 number such as +15005550006, or a "
            "Messaging Service SID (MG and 32 hex characters)"
        )
    return TwilioSettings(
        account_sid=sid,
        auth_token=env["TWILIO_AUTH_TOKEN"].strip(),
        from_number=sender,
        api_base_url=_url(env, "TWILIO_API_BASE_URL"),
    )


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            "VIGIL_TIMEZONE: expected an IANA time zone such as Asia/Karachi"
        ) from None


def _policy_path(value: str | None) -> Path:
    if not value:
        return DEFAULT_POLICY_PATH
    path = Path(value)
    if not path.is_file():
        raise SettingsError(f"VIGIL_ESCALATION_POLICY: no policy file at {path}")
    return path


def _region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError("VIGIL_PHONE_REGION: expected a two-letter region code such as PK")
    return region


def _meeting_rule(value: str | None) -> str | None:
    rule = " ".join((value or "").split())
    if not rule:
        return None
    try:
        parse_rule(rule)
    except MeetingRuleError as error:
        raise SettingsError(f"VIGIL_MEETING_RULE: {error}") from None
    return rule


def _meeting_reminders(value: str | None) -> tuple[timedelta, ...]:
    if not (value or "").strip():
        return DEFAULT_OFFSETS
    try:
        return parse_offsets(value or "")
    except MeetingRuleError as error:
        raise SettingsError(f"VIGIL_MEETING_REMINDERS: {error}") from None


def local_zone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """The group's time zone, for commands that need no Telegram token."""
    env = dict(os.environ if environ is None else environ)
    return _timezone(env.get("VIGIL_TIMEZONE") or "Asia/Karachi")


def storage_settings(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The database URL and phone region, for commands that need no Telegram token."""
    env = dict(os.environ if environ is None else environ)
    region = _region(env.get("VIGIL_PHONE_REGION") or "PK")
    return env.get("DATABASE_URL") or DEFAULT_DATABASE_URL, region
