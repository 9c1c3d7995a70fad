"""What the month's report reads: each alert raised in a period, its steps and its SMS."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Alert, AlertEvent, EventKind, Notification


@dataclass
class AlertRecord:
    """One alert with the tiers its steps paged and the final status of each of its SMS."""

    alert: Alert
    tiers: list[str] = field(default_factory=list)
    sms: list[str] = field(default_factory=list)


class ReportStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def alerts_between(self, start: datetime, end: datetime) -> list[AlertRecord]:
        """Alerts raised in [start, end), oldest first, with their steps and SMS."""
        with session_scope(self.engine) as session:
            alerts = session.exec(
                select(Alert)
                .where(col(Alert.raised_at) >= start, col(Alert.raised_at) < end)
                .order_by(col(Alert.raised_at), col(Alert.id))
            ).all()
            ids = [alert.id for alert in alerts]
            steps = session.exec(
                select(AlertEvent.alert_id, AlertEvent.tier)
                .where(col(AlertEvent.alert_id).in_(ids), AlertEvent.kind == EventKind.STEP)
                .order_by(col(AlertEvent.id))
            ).all()
            sms = session.exec(
                select(Notification.alert_id, Notification.status).where(
                    col(Notification.alert_id).in_(ids)
                )
            ).all()
        tiers: defaultdict[int, list[str]] = defaultdict(list)
        for alert_id, tier in steps:
            tiers[alert_id].append(tier or "")
        statuses: defaultdict[int, list[str]] = defaultdict(list)
        for alert_id, status in sms:
            statuses[alert_id].append(status)
        return [
            AlertRecord(alert, tiers[alert.id or 0], statuses[alert.id or 0]) for alert in alerts
        ]
