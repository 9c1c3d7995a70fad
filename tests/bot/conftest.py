"""Fixtures for the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder: no .env, and none of Vigil's variables but a SQLite URL."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_GROUP_CHAT_ID",
        "DATABASE_URL",
        "VIGIL_ESCALATION_POLICY",
        "TWILIO_ACCOUNT_SID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/vigil.db")
    return tmp_path
