"""The group-safety and rota settings: cards protected by default, shift news opt-in."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings
from tests.config.test_settings import BASE


def test_cards_are_protected_and_shift_changes_stay_private_by_default() -> None:
    settings = load_settings(BASE)

    assert settings.protect_content is True and settings.announce_shifts is False


def test_both_can_be_switched() -> None:
    settings = load_settings(
        BASE | {"VIGIL_PROTECT_CONTENT": "false", "VIGIL_ANNOUNCE_SHIFTS": "yes"}
    )

    assert settings.protect_content is False and settings.announce_shifts is True


def test_a_flag_that_is_not_true_or_false_is_named() -> None:
    with pytest.raises(SettingsError, match=r"^VIGIL_PROTECT_CONTENT: expected true or false$"):
        load_settings(BASE | {"VIGIL_PROTECT_CONTENT": "maybe"})
