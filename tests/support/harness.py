"""The real Vigil application, wired to the fake Telegram and Twilio servers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from telegram import Update

from bot.app import VigilApp, build_application, vigil_of
from bot.ratelimit import PriorityRateLimiter
from bot.service import Vigil
from config.settings import DEFAULT_POLICY_PATH, Settings, TwilioSettings
from storage.models import Alert
from tests.fakes import updates
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support.clock import ManualClock
from tests.support.people import GROUP_ID

TOKEN = "123456789:AAH-test-token-0123456789abcdefghij"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-secret-token-for-tests"
FROM_NUMBER = "+15005550006"


def make_settings(
    database_url: str,
    tg: FakeTelegram,
    tw: FakeTwilio | None,
    policy: Path = DEFAULT_POLICY_PATH,
) -> Settings:
    twilio = None
    if tw is not None:
        twilio = TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, tw.base_url)
    return Settings(
        telegram_token=TOKEN,
        group_chat_id=GROUP_ID,
        database_url=database_url,
        telegram_api_base_url=tg.base_url,
        twilio=twilio,
        timezone=ZoneInfo("Asia/Karachi"),
        policy_path=policy,
        telegram_rate_limit=False,
    )


class Harness:
    """Feeds Update JSON to the application and reads what the group would see."""

    _update_ids = itertools.count(1)

    def __init__(
        self, application: VigilApp, tg: FakeTelegram, clock: ManualClock, tw: FakeTwilio | None
    ) -> None:
        self.app = application
        self.tg = tg
        self.tw = tw
        self.clock = clock

    @property
    def vigil(self) -> Vigil:
        return vigil_of(self.app)

    @property
    def engine(self) -> Engine:
        return self.vigil.stores.alerts.engine

    async def start(self) -> None:
        await self.app.initialize()
        await self.vigil.start(self.app.job_queue)

    async def stop(self) -> None:
        await self.vigil.stop()
        await self.app.shutdown()

    async def feed(self, update: dict[str, Any]) -> dict[str, Any]:
        """Hand one update to the application, as polling would."""
        update = updates.with_update_id(update, next(self._update_ids))
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return update

    async def say(
        self,
        user: dict[str, Any],
        text: str,
        chat: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """`user` sends `text` (a command) in the group, or in `chat`."""
        chat = chat or updates.group(self.vigil.group.id)
        return await self.feed(
            updates.command(text, from_user=user, chat=chat, message_id=message_id)
        )

    async def press(self, user: dict[str, Any], data: str, alert_id: int) -> None:
        """`user` presses a button on the card of `alert_id`."""
        message = self.card_message(alert_id)
        await self.feed(updates.callback_query(data, from_user=user, message=message))

    async def advance(self, **delta: float) -> None:
        """Move the clock and let the safety-net sweep run, as its timer would."""
        self.clock.advance(**delta)
        await self.vigil.tick()

    def alert(self, alert_id: int) -> Alert:
        alert = self.vigil.stores.alerts.get(alert_id)
        assert alert is not None
        return alert

    def card_message(self, alert_id: int) -> dict[str, Any]:
        alert = self.alert(alert_id)
        assert alert.card_message_id is not None, "the alert has no card yet"
        assert alert.card_chat_id is not None
        return self.tg.message(alert.card_chat_id, alert.card_message_id).to_dict()

    def card(self, alert_id: int) -> str:
        """The card's text as the group sees it."""
        alert = self.alert(alert_id)
        assert alert.card_chat_id is not None and alert.card_message_id is not None
        return self.tg.visible_text(alert.card_chat_id, alert.card_message_id)

    def replies(self) -> list[str]:
        """Everything the bot has posted in the group, as seen, oldest first."""
        return [m.text for m in self.tg.messages(self.vigil.group.id)]

    def last_reply(self) -> str:
        return self.replies()[-1]


def build(
    settings: Settings,
    engine: Engine,
    clock: ManualClock,
    tg: FakeTelegram,
    tw: FakeTwilio | None,
    rate_limiter: PriorityRateLimiter | None = None,
    **overrides: Any,
) -> Harness:
    """The real application; `overrides` replace settings."""
    if overrides:
        settings = replace(settings, **overrides)
    application = build_application(
        settings, engine=engine, clock=clock, rate_limiter=rate_limiter
    )
    return Harness(application, tg, clock, tw)


MakeBot = Callable[..., Harness]  # the `make_bot` fixture: builds a bot, again for a restart
