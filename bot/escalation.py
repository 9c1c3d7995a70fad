"""The escalation engine: runs each due step of each waiting alert exactly once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot import render
from bot.clock import Clock
from config.policy import Policy
from storage.alerts import AlertStore, PlannedSms, StepClaim
from storage.models import Alert, AlertState, Member
from storage.roster import RosterStore

logger = logging.getLogger(__name__)


class Escalator:
    """Claims due steps from the database; knows nothing of Telegram or of timers."""

    def __init__(
        self,
        alerts: AlertStore,
        roster: RosterStore,
        policy: Policy,
        clock: Clock,
        sms_enabled: bool,
    ) -> None:
        self.alerts = alerts
        self.roster = roster
        self.policy = policy
        self.clock = clock
        self.sms_enabled = sms_enabled

    def first_due(self, level: str, raised_at: datetime) -> datetime:
        return raised_at + self.policy.for_level(level).due_after(0)

    async def run(self, alert_id: int) -> list[StepClaim]:
        """Run every step of this alert that is due now; return the steps this call ran."""
        ran = []
        while claim := await asyncio.to_thread(self._claim_next, alert_id):
            ran.append(claim)
        return ran

    async def run_due(self, grace: timedelta = timedelta(0)) -> list[StepClaim]:
        """Run every step due `grace` ago or earlier (the start-up and safety-net sweep)."""
        due = await asyncio.to_thread(self.alerts.due_alerts, self.clock.now() - grace)
        ran = []
        for alert in due:
            ran.extend(await self.run(alert.id or 0))
        return ran

    def _claim_next(self, alert_id: int) -> StepClaim | None:
        now = self.clock.now()
        alert = self.alerts.get(alert_id)
        if alert is None or alert.state != AlertState.WAITING:
            return None
        if alert.next_step_due_at is None or alert.next_step_due_at > now:
            return None
        claim = self._plan(alert, now)
        if not self.alerts.claim_step(claim, now):
            return None
        logger.info("Alert #%s escalated: step %s to %s", alert_id, claim.step + 1, claim.tier)
        return claim

    def _plan(self, alert: Alert, now: datetime) -> StepClaim:
        level = self.policy.for_level(alert.level)
        step = alert.next_step
        tier = level.tier(step)
        people = self.roster.tier(tier)
        has_next = step + 1 < level.step_count
        next_due = alert.raised_at + level.due_after(step + 1) if has_next else None
        note = None
        if not people:
            nobody = f"Nobody is on the roster as {render.TIER_NAME[tier]}"
            if tier == "on_duty":
                nobody = "Nobody is on duty"
            note = f"{nobody}: going straight to the next tier." if has_next else f"{nobody}."
            next_due = now if has_next else None
        sms = self._sms(alert, people, now) if self.sms_enabled else []
        if people and not self.sms_enabled:
            note = "SMS is not configured, so nobody was paged by SMS."
        elif people and len(sms) < len(people):
            note = f"{len(people) - len(sms)} of them have no phone number on the roster."
        repeat = step >= len(level.steps)
        headline = render.step_headline(alert.id or 0, step, tier, note, repeat)
        return StepClaim(alert.id or 0, step, tier, next_due, sms, headline, note)

    def _sms(self, alert: Alert, people: list[Member], now: datetime) -> list[PlannedSms]:
        view = self.alerts.view(alert.id or 0)
        assert view is not None
        body = render.sms_text(view, now)
        return [PlannedSms(p.id, p.phone, body) for p in people if p.id and p.phone]
