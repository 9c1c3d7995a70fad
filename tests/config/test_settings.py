"""Settings: required values, clear one-line refusals, and secrets never echoed."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings

TOKEN = "123456789:AAH-secret-token-0123456789abcdefghij"
TWILIO_SECRET = "twilio-secret-value-123"
BASE = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_GROUP_CHAT_ID": "-1001234567890"}
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": TWILIO_SECRET,
    "TWILIO_FROM_NUMBER": "+15005550006",
}


def test_the_minimum_is_a_token_and_a_group() -> None:
    settings = load_settings(BASE)

    assert settings.group_chat_id == -1001234567890
    assert settings.database_url == "sqlite:///data/vigil.db"
    assert settings.twilio is None
    assert str(settings.timezone) == "Asia/Karachi" and settings.phone_region == "PK"


def test_twilio_settings_are_read_together() -> None:
    settings = load_settings(BASE | TWILIO | {"TWILIO_API_BASE_URL": "http://127.0.0.1:9"})

    assert settings.twilio is not None
    assert settings.twilio.api_base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN: expected"),
        ({"TELEGRAM_GROUP_CHAT_ID": "12345"}, "TELEGRAM_GROUP_CHAT_ID: expected a negative"),
        ({"TELEGRAM_API_BASE_URL": "localhost:8081"}, "TELEGRAM_API_BASE_URL: expected"),
        ({"VIGIL_TIMEZONE": "Mars/Olympus"}, "VIGIL_TIMEZONE: expected"),
        ({"VIGIL_PHONE_REGION": "XX"}, "VIGIL_PHONE_REGION: expected"),
        ({"VIGIL_ESCALATION_POLICY": "/nowhere.toml"}, "VIGIL_ESCALATION_POLICY: no policy"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32}, "TWILIO_AUTH_TOKEN is not set"),
        (TWILIO | {"TWILIO_ACCOUNT_SID": "nope"}, "TWILIO_ACCOUNT_SID: expected"),
        (TWILIO | {"TWILIO_FROM_NUMBER": "0300 1234567"}, "TWILIO_FROM_NUMBER: expected"),
        (TWILIO | {"TWILIO_FROM_NUMBER": "MG"}, "TWILIO_FROM_NUMBER: expected"),
        ({"VIGIL_LOG_LEVEL": "LOUD"}, "VIGIL_LOG_LEVEL: expected DEBUG, INFO"),
    ],
)
def test_a_bad_setting_is_named_without_its_value(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(BASE | change)

    message = str(raised.value)
    assert named in message
    assert TOKEN not in message and TWILIO_SECRET not in message and "\n" not in message


def test_settings_never_show_secrets_when_printed() -> None:
    settings = load_settings(BASE | TWILIO | {"DATABASE_URL": "postgresql://vigil:pw@db/vigil"})

    shown = repr(settings) + str(settings)

    assert TOKEN not in shown and TWILIO_SECRET not in shown and ":pw@" not in shown
