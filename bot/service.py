"""Vigil's services, wired together: what handlers call and what timers run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from sqlalchemy import Engine
from telegram.ext import ContextTypes, ExtBot, JobQueue

from bot.clock import Clock
from bot.delivery import CardSyncer, GroupChat, LinePoster, Poster, SmsSender
from bot.escalation import Escalator
from bot.rota import Rota
from bot.sms import SmsProvider, TwilioSms
from config.policy import Policy
from config.settings import Settings
from storage.alerts import AlertStore, Outcome, StepClaim
from storage.audit import Actor, AuditStore
from storage.directory import DirectoryStore
from storage.models import Alert, Member
from storage.outbox import OutboxStore
from storage.roster import RosterStore

logger = logging.getLogger(__name__)

GROUP_KEY = "group_chat_id"
ESCALATING_AT_ONCE = 4


@dataclass(frozen=True)
class Stores:
    alerts: AlertStore
    roster: RosterStore
    outbox: OutboxStore
    audit: AuditStore
    directory: DirectoryStore

    @classmethod
    def on(cls, engine: Engine) -> Stores:
        return cls(
            AlertStore(engine),
            RosterStore(engine),
            OutboxStore(engine),
            AuditStore(engine),
            DirectoryStore(engine),
        )


class Vigil:
    """Raises, acknowledges and resolves alerts, and keeps SMS, lines and cards in step."""

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        policy: Policy,
        clock: Clock,
        bot: ExtBot[Any],
        sms: SmsProvider | None = None,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.policy = policy
        self.clock = clock
        self.bot = bot
        self.sms = sms
        self.sms_enabled = sms is not None or settings.twilio is not None
        self.group = GroupChat(settings.group_chat_id, self._remember_group)
        self.poster = Poster(bot, self.group, clock)
        self.escalator = Escalator(stores.alerts, stores.roster, policy, clock, self.sms_enabled)
        self.lines = LinePoster(stores.outbox, self.poster)
        self.cards = CardSyncer(
            stores.alerts, self.poster, settings.timezone, settings.protect_content
        )
        self.rota = Rota(self)
        self.sms_sender: SmsSender | None = None
        self.job_queue: JobQueue[ContextTypes.DEFAULT_TYPE] | None = None
        self._tick_lock = asyncio.Lock()
        # Timers falling due together finish one by one, in order, instead of all queueing
        # for the database threads at once and each waiting for the last to start.
        self._escalating = asyncio.Semaphore(ESCALATING_AT_ONCE)
        self._projection: asyncio.Task[None] | None = None
        self._projection_due = False

    async def start(self, job_queue: JobQueue[ContextTypes.DEFAULT_TYPE] | None) -> None:
        """Recover from the database: the group's id, every timer, every overdue step."""
        if self.sms is None and self.settings.twilio is not None:
            self.sms = TwilioSms(self.settings.twilio)
        if self.sms is not None:
            self.sms_sender = SmsSender(self.stores.outbox, self.sms, self.clock)
        else:
            logger.warning("Twilio is not configured: escalation steps will not send SMS")
        self.group.id = await asyncio.to_thread(self._current_group)
        self.job_queue = job_queue
        if job_queue is not None:
            for alert_id, _step, due in await asyncio.to_thread(
                self.stores.alerts.scheduled_alerts
            ):
                self.schedule(alert_id, due)
            # A sweep still busy when the next is due just lets it pass (see _on_tick).
            job_queue.run_repeating(
                self._on_tick,
                interval=self.settings.sweep_seconds,
                first=0,
                name="vigil:sweep",
                job_kwargs={"max_instances": 5, "coalesce": True},
            )

    def _current_group(self) -> int:
        """The configured group, or the supergroup it became if we saw it migrate."""
        stored = self.stores.roster.get_setting(GROUP_KEY)
        origin = self.stores.roster.get_setting(f"{GROUP_KEY}:origin")
        if stored and origin == str(self.settings.group_chat_id):
            return int(stored)
        return self.settings.group_chat_id

    def _remember_group(self, old_id: int, new_id: int) -> None:
        now = self.clock.now()
        self.stores.roster.put_setting(
            f"{GROUP_KEY}:origin", str(self.settings.group_chat_id), now
        )
        self.stores.roster.put_setting(GROUP_KEY, str(new_id), now)
        self.stores.audit.append(
            now,
            Actor("Telegram"),
            "setting.group_chat_id",
            GROUP_KEY,
            {"id": old_id},
            {"id": new_id},
        )

    async def stop(self) -> None:
        """Stop the background pass (the rows keep what it had left) and close the SMS client."""
        if self._projection is not None and not self._projection.done():
            self._projection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._projection
        if self.sms is not None:
            await self.sms.close()

    # -- what handlers ask for -------------------------------------------------------------

    async def raise_alert(
        self, reporter: Member, level: str, text: str, chat_id: int, message_id: int
    ) -> tuple[Alert, bool]:
        """Store the alert (before any network call), then post its card."""
        now = self.clock.now()
        alert, created = await asyncio.to_thread(
            self.stores.alerts.raise_alert,
            reporter=reporter,
            level=level,
            text=text,
            now=now,
            first_step_due_at=self.escalator.first_due(level, now),
            source_chat_id=chat_id,
            source_message_id=message_id,
        )
        assert alert.id is not None
        if created:
            logger.info(
                "Alert #%s raised: %s, by member %s of %s",
                alert.id,
                level,
                reporter.id,
                reporter.organisation,
            )
            if alert.next_step_due_at is not None:
                self.schedule(alert.id, alert.next_step_due_at)
        await self.cards.sync(alert.id)
        return alert, created

    async def acknowledge(self, alert_id: int, member: Member) -> Outcome:
        assert member.id is not None
        outcome = await asyncio.to_thread(
            self.stores.alerts.acknowledge, alert_id, member.id, self.clock.now()
        )
        if outcome is Outcome.DONE:
            logger.info("Alert #%s acknowledged by member %s", alert_id, member.id)
            self.unschedule(alert_id)
        await self.cards.sync(alert_id)
        return outcome

    async def resolve(self, alert_id: int, member: Member, note: str | None) -> Outcome:
        assert member.id is not None
        outcome = await asyncio.to_thread(
            self.stores.alerts.resolve, alert_id, member.id, self.clock.now(), note
        )
        if outcome is Outcome.DONE:
            logger.info("Alert #%s resolved by member %s", alert_id, member.id)
            self.unschedule(alert_id)
        await self.cards.sync(alert_id)
        return outcome

    async def migrate_group(self, old_id: int, new_id: int) -> None:
        """Follow the group to its supergroup and post the open alerts' cards there."""
        if await self.group.migrate(old_id, new_id):
            await asyncio.to_thread(self.stores.alerts.forget_cards_in, old_id)
            await self.cards.flush()

    # -- timers ----------------------------------------------------------------------------

    def schedule(self, alert_id: int, due: datetime) -> None:
        """Set (or reset) the timer for an alert's next step. The row stays the record."""
        if self.job_queue is None:
            return
        name = f"vigil:alert:{alert_id}"
        delay = max((due - self.clock.now()).total_seconds(), 0.0)
        # The job's id is its name, so setting it again replaces it without a search; a late
        # timer still runs (no misfire grace), because the row says the step is due.
        options = {"id": name, "replace_existing": True, "misfire_grace_time": None}
        self.job_queue.run_once(
            self._on_timer, when=delay, data=alert_id, name=name, job_kwargs=options
        )

    def unschedule(self, alert_id: int) -> None:
        if self.job_queue is None:
            return
        with contextlib.suppress(JobLookupError):
            self.job_queue.scheduler.remove_job(f"vigil:alert:{alert_id}")

    async def _on_timer(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Run an alert's due escalation step when its timer fires."""
        assert context.job is not None and isinstance(context.job.data, int)
        await self.escalate(context.job.data)

    async def _on_tick(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Safety net: run overdue steps, retry SMS, lines and cards that are due."""
        if not self._tick_lock.locked():
            async with self._tick_lock:
                # Steps due just now belong to their timers; the sweep takes the ones missed.
                await self.tick(grace=timedelta(seconds=self.settings.sweep_seconds))

    async def escalate(self, alert_id: int) -> None:
        """Run whatever steps of this alert are due and send their SMS at once.

        The group line and the card follow from one background pass, which keeps to
        Telegram's pace without holding up the SMS of the next alert's step.
        """
        async with self._escalating:
            claims = await self.escalator.run(alert_id)
            self._reschedule(alert_id, claims)
            if claims and self.sms_sender is not None:
                await self.sms_sender.flush(alert_id)
        self._project()

    async def settled(self) -> None:
        """Wait until the background pass over lines and cards has finished."""
        while self._projection is not None and not self._projection.done():
            await asyncio.shield(self._projection)

    def _project(self) -> None:
        """Start a pass over group lines and cards, or ask the running one to go again."""
        self._projection_due = True
        if self._projection is None or self._projection.done():
            self._projection = asyncio.create_task(self._run_projection())

    async def _run_projection(self) -> None:
        while self._projection_due:
            self._projection_due = False
            await self.lines.flush()
            await self.cards.flush()

    async def tick(self, grace: timedelta = timedelta(0)) -> None:
        """Run every overdue step and every due delivery; safe to call at any time."""
        claims = await self.escalator.run_due(grace)
        for alert_id in {claim.alert_id for claim in claims}:
            self._reschedule(alert_id, [c for c in claims if c.alert_id == alert_id])
        await self.rota.sweep()  # before delivering, so its group lines go out at once
        await self.deliver()

    def _reschedule(self, alert_id: int, claims: list[StepClaim]) -> None:
        if claims and claims[-1].next_step_due_at is not None:
            self.schedule(alert_id, claims[-1].next_step_due_at)

    async def deliver(self) -> None:
        """Send every due SMS (in parallel), then group lines, then bring cards up to date."""
        if self.sms_sender is not None:
            await self.sms_sender.flush()
        await self.lines.flush()
        await self.cards.flush()
