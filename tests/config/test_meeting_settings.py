"""The meeting's settings: a rule and reminder offsets, checked at start."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.settings import SettingsError, load_settings

BASE = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAH-secret-token-0123456789abcdefghij",
    "TELEGRAM_GROUP_CHAT_ID": "-1001234567890",
}


def test_without_meeting_settings_there_is_no_rule_and_the_usual_reminders() -> None:
    settings = load_settings(BASE)

    assert settings.meeting_rule is None
    assert settings.meeting_reminders == (
        timedelta(days=7),
        timedelta(days=1),
        timedelta(hours=1),
    )


def test_a_rule_and_offsets_are_read_from_the_environment() -> None:
    settings = load_settings(
        BASE
        | {
            "VIGIL_MEETING_RULE": " every  last thursday 10:00 at Rangers HQ ",
            "VIGIL_MEETING_REMINDERS": "2d, 3h,30m",
        }
    )

    assert settings.meeting_rule == "every last thursday 10:00 at Rangers HQ"
    assert settings.meeting_reminders == (
        timedelta(days=2),
        timedelta(hours=3),
        timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"VIGIL_MEETING_RULE": "every blue moon"}, "VIGIL_MEETING_RULE: expected e.g. every"),
        ({"VIGIL_MEETING_RULE": "every 1st 25:00"}, "VIGIL_MEETING_RULE: the time must be"),
        ({"VIGIL_MEETING_REMINDERS": "a week"}, "VIGIL_MEETING_REMINDERS: expected offsets"),
        ({"VIGIL_MEETING_REMINDERS": "0h"}, "VIGIL_MEETING_REMINDERS: every offset must"),
    ],
)
def test_a_bad_meeting_setting_is_named_in_one_line(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(BASE | change)

    assert str(refused.value).startswith(named) and "\n" not in str(refused.value)
