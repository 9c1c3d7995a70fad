"""Projections of the rows onto the world: SMS, group lines and alert cards.

Each sender reads what the database says should exist, makes it so, and records what
happened. Any of them can run again at any time: a failure leaves the row due for a retry,
never lost, and never blocks an escalation step or another sender.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot import render
from bot.clock import Clock
from bot.phones import mask
from bot.ratelimit import URGENT
from bot.sms import PermanentSmsError, SmsProvider, TransientSmsError
from storage.alerts import AlertStore
from storage.models import GroupPost, Notification
from storage.outbox import OutboxStore, SmsResult

logger = logging.getLogger(__name__)

SMS_RETRY_DELAYS = (15, 30, 60, 120, 300)  # seconds; after the last, the SMS has failed
TELEGRAM_BACKOFF = (2, 5, 15, 30, 60)


def backoff(attempt: int, delays: tuple[int, ...]) -> timedelta:
    return timedelta(seconds=delays[min(max(attempt, 1), len(delays)) - 1])


def _plain(text: str) -> str:
    """The same text without HTML, for when Telegram cannot parse our markup."""
    return render.html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


class SmsSender:
    """Sends every due SMS, all at once, and records each attempt."""

    def __init__(self, outbox: OutboxStore, provider: SmsProvider, clock: Clock) -> None:
        self.outbox = outbox
        self.provider = provider
        self.clock = clock

    async def flush(self, alert_id: int | None = None) -> int:
        """Send what is due now (for one alert, or all); return how many SMS were tried."""
        claimed = await asyncio.to_thread(
            self.outbox.claim_sms, self.clock.now(), alert_id=alert_id
        )
        await asyncio.gather(*(self._send(notification) for notification in claimed))
        return len(claimed)

    async def _send(self, notification: Notification) -> None:
        try:
            sid = await self.provider.send(notification.phone, notification.body)
            result = SmsResult("sent", provider_id=sid)
        except PermanentSmsError as error:
            result = SmsResult("failed", error_code=error.code, detail=str(error))
        except TransientSmsError as error:
            result = self._retry_or_fail(notification, error.code, str(error))
        except Exception:
            logger.exception(
                "SMS provider failed unexpectedly for alert #%s", notification.alert_id
            )
            result = self._retry_or_fail(notification, None, "unexpected provider error")
        logger.info(
            "SMS for alert #%s step %s to %s: %s%s",
            notification.alert_id,
            notification.step + 1,
            mask(notification.phone),
            result.outcome,
            f" ({result.error_code})" if result.error_code else "",
        )
        await asyncio.to_thread(self.outbox.record_sms, notification, result, self.clock.now())

    def _retry_or_fail(
        self, notification: Notification, code: int | None, detail: str
    ) -> SmsResult:
        if notification.attempts > len(SMS_RETRY_DELAYS):
            return SmsResult("failed", error_code=code, detail=detail)
        retry_at = self.clock.now() + backoff(notification.attempts, SMS_RETRY_DELAYS)
        return SmsResult("retry", error_code=code, detail=detail, retry_at=retry_at)


class GroupChat:
    """The coordination group's current chat id, which follows a migration to a supergroup."""

    def __init__(self, chat_id: int, on_migrate: Callable[[int, int], None]) -> None:
        self.id = chat_id
        self._on_migrate = on_migrate

    async def migrate(self, old_id: int, new_id: int) -> bool:
        """Follow the group to `new_id` if it is the group that moved; store the move."""
        if old_id != self.id or new_id == self.id:
            return False
        logger.warning("The group moved from chat %s to %s; following it", old_id, new_id)
        self.id = new_id
        await asyncio.to_thread(self._on_migrate, old_id, new_id)
        return True


class Poster:
    """Sends and edits messages in the group, turning Telegram failures into retry times."""

    def __init__(self, bot: ExtBot[Any], group: GroupChat, clock: Clock) -> None:
        self.bot = bot
        self.group = group
        self.clock = clock

    async def send(
        self,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        reply_to: int | None = None,
        protect: bool = False,
    ) -> Message:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        try:
            return await self._send(text, markup, reply, protect, ParseMode.HTML)
        except BadRequest as error:
            if "can't parse entities" not in error.message.lower():
                raise
            logger.warning("Telegram could not parse our HTML (%s); sending plain text", error)
            return await self._send(_plain(text), markup, reply, protect, None)

    async def _send(
        self,
        text: str,
        markup: InlineKeyboardMarkup | None,
        reply: ReplyParameters | None,
        protect: bool,
        parse_mode: str | None,
    ) -> Message:
        try:
            return await self.bot.send_message(
                self.group.id,
                text,
                parse_mode=parse_mode,
                reply_markup=markup,
                reply_parameters=reply,
                protect_content=protect,
                rate_limit_args=URGENT,
            )
        except ChatMigrated as error:
            await self.group.migrate(self.group.id, int(error.new_chat_id))
            return await self.bot.send_message(
                self.group.id,
                text,
                parse_mode=parse_mode,
                reply_markup=markup,
                protect_content=protect,
                rate_limit_args=URGENT,
            )

    async def edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                rate_limit_args=URGENT,
            )
        except BadRequest as error:
            if "can't parse entities" not in error.message.lower():
                raise
            await self.bot.edit_message_text(
                _plain(text),
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=markup,
                rate_limit_args=URGENT,
            )

    def retry_at(self, error: Exception, attempt: int) -> datetime:
        """When to try again after `error`: Telegram's own wait for 429, else a backoff."""
        if isinstance(error, RetryAfter):
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return self.clock.now() + timedelta(seconds=seconds)
        return self.clock.now() + backoff(attempt, TELEGRAM_BACKOFF)


class LinePoster:
    """Posts the group lines queued by escalation steps, once each SMS has a first answer."""

    def __init__(self, outbox: OutboxStore, poster: Poster) -> None:
        self.outbox = outbox
        self.poster = poster
        self.lock = asyncio.Lock()

    async def flush(self) -> None:
        """Post the lines that are ready, in order."""
        async with self.lock:
            posts = await asyncio.to_thread(self.outbox.due_posts, self.poster.clock.now())
            for post in posts:
                if not await self._post(post):
                    break  # Telegram is refusing the group for now; keep the order

    async def _post(self, post: GroupPost) -> bool:
        assert post.id is not None
        text = post.text
        if post.alert_id is not None and post.step is not None:
            deliveries = await asyncio.to_thread(
                self.outbox.step_deliveries, post.alert_id, post.step
            )
            text += render.step_outcome(deliveries)
        try:
            message = await self.poster.send(text)
        except TelegramError as error:  # whatever Telegram says, the line waits and retries
            retry_at = self.poster.retry_at(error, post.attempts + 1)
            logger.warning(
                "Group line %s not posted (%s); retrying at %s",
                post.id,
                type(error).__name__,
                retry_at.isoformat(timespec="seconds"),
            )
            await asyncio.to_thread(self.outbox.defer_post, post.id, retry_at)
            return False
        await asyncio.to_thread(
            self.outbox.mark_posted, post.id, message.message_id, self.poster.clock.now()
        )
        return True


DONE, AGAIN, DEFERRED = "done", "again", "deferred"  # what one attempt at a card came to


class CardSyncer:
    """Keeps each alert's card equal to its row: posts it once, then edits it as it changes."""

    def __init__(
        self, alerts: AlertStore, poster: Poster, zone: ZoneInfo, protect_content: bool = False
    ) -> None:
        self.alerts = alerts
        self.poster = poster
        self.zone = zone
        self.protect_content = protect_content
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.failures: defaultdict[int, int] = defaultdict(int)

    async def flush(self) -> None:
        """Bring every stale card up to date, stopping at the first card Telegram refuses."""
        stale = await asyncio.to_thread(self.alerts.stale_cards, self.poster.clock.now())
        for alert_id in stale:
            if not await self.sync(alert_id):
                break

    async def sync(self, alert_id: int) -> bool:
        """Post or edit one alert's card until it shows the row's latest revision.

        Returns False when Telegram refused and the card waits for a retry.
        """
        async with self.locks[alert_id]:
            for _ in range(3):  # a card deleted or left in a migrated group is posted again
                outcome = await self._sync_once(alert_id)
                if outcome != AGAIN:
                    return outcome == DONE
            return True

    async def _sync_once(self, alert_id: int) -> str:
        view = await asyncio.to_thread(self.alerts.view, alert_id)
        if view is None:
            return DONE
        alert = view.alert
        if alert.card_message_id is not None and alert.card_revision >= alert.revision:
            return DONE
        if alert.card_retry_at is not None and alert.card_retry_at > self.poster.clock.now():
            return DEFERRED  # Telegram asked us to wait; the sweep comes back then
        text, markup = render.card_text(view, self.zone), render.card_keyboard(view)
        try:
            if alert.card_message_id is None or alert.card_chat_id is None:
                in_group = alert.source_chat_id == self.poster.group.id
                reply_to = alert.source_message_id if in_group else None
                message = await self.poster.send(text, markup, reply_to, self.protect_content)
                chat_id, message_id = message.chat_id, message.message_id
            else:
                chat_id, message_id = alert.card_chat_id, alert.card_message_id
                await self.poster.edit(chat_id, message_id, text, markup)
        except ChatMigrated as error:  # the card's old group is read-only now
            await self.poster.group.migrate(alert.card_chat_id or 0, int(error.new_chat_id))
            await asyncio.to_thread(self.alerts.record_card, alert_id, error.new_chat_id, None, 0)
            return AGAIN
        except BadRequest as error:
            return await self._bad_request(alert_id, alert.revision, error)
        except TelegramError as error:  # 429, timeouts, 5xx, 403: wait and retry
            await self._defer(alert_id, error)
            return DEFERRED
        self.failures.pop(alert_id, None)
        await asyncio.to_thread(
            self.alerts.record_card, alert_id, chat_id, message_id, alert.revision
        )
        return DONE

    async def _bad_request(self, alert_id: int, revision: int, error: BadRequest) -> str:
        message = error.message.lower()
        alert = await asyncio.to_thread(self.alerts.get, alert_id)
        if alert is None or alert.card_chat_id is None:  # the first post itself was refused
            await self._defer(alert_id, error)
            return DEFERRED
        if "not modified" in message:
            await asyncio.to_thread(
                self.alerts.record_card,
                alert_id,
                alert.card_chat_id,
                alert.card_message_id,
                revision,
            )
            return DONE
        if "not found" in message:
            logger.warning("The card of alert #%s is gone; posting it again", alert_id)
            await asyncio.to_thread(self.alerts.record_card, alert_id, alert.card_chat_id, None, 0)
            return AGAIN
        await self._defer(alert_id, error)
        return DEFERRED

    async def _defer(self, alert_id: int, error: Exception) -> None:
        self.failures[alert_id] += 1
        retry_at = self.poster.retry_at(error, self.failures[alert_id])
        logger.warning(
            "Card of alert #%s not updated (%s); retrying at %s",
            alert_id,
            type(error).__name__,
            retry_at.isoformat(timespec="seconds"),
        )
        await asyncio.to_thread(self.alerts.defer_card, alert_id, retry_at)
