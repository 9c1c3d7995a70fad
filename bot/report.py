"""The month's report: figures from the alert rows, a short summary, a CSV and a PNG chart.

Percentiles interpolate linearly between the closest ranks (the 90th of 1, 2, …, 10 minutes is
9.1 minutes). SMS count as sent when Twilio accepted them: delivery receipts are not tracked.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from bot.render import MESSAGE_LIMIT, TIER_NAME, escape, shorten, span
from storage.models import Delivery, Level
from storage.report import AlertRecord

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's caption
LONGEST_SHOWN = 5
LEVELS = (Level.CRITICAL, Level.HIGH, Level.NORMAL)
LEVEL_COLOURS = {Level.CRITICAL: "#d62728", Level.HIGH: "#ff7f0e", Level.NORMAL: "#e6c229"}
CSV_FIELDS = (
    "alert",
    "raised_at",
    "level",
    "organisation",
    "state",
    "acknowledged_at",
    "seconds_to_acknowledge",
    "resolved_at",
    "seconds_to_resolve",
    "escalation_steps",
    "last_tier",
    "sms_sent",
    "sms_failed",
    "outcome",
)

NO_ALERTS = "No alerts were raised in {month}."
RECEIPTS_NOTE = "SMS count as sent when Twilio accepted them; delivery receipts are not tracked."
MONTH_USAGE = "Usage: /report [YYYY-MM], e.g. /report 2026-11 (default: last month)"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month | None:
        """`2026-11` → November 2026; anything else → None."""
        match = _MONTH.match(text.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            return None
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def before(cls, moment: datetime, zone: ZoneInfo) -> Month:
        """The last whole month before `moment`, in local time."""
        local = moment.astimezone(zone)
        return cls(local.year - 1, 12) if local.month == 1 else cls(local.year, local.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        """Midnight local time on the first, in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=zone).astimezone(UTC)

    def end(self, zone: ZoneInfo) -> datetime:
        return self.next().start(zone)

    def __str__(self) -> str:
        return f"{datetime(self.year, self.month, 1):%B %Y}"

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Longest:
    alert_id: int
    level: str
    organisation: str
    waited: timedelta
    ended_by: str  # "acknowledged", "resolved" or "still open"


@dataclass
class MonthFigures:
    month: Month
    total: int = 0
    by_organisation: dict[str, Counter[str]] = field(default_factory=dict)
    acknowledge_median: timedelta | None = None
    acknowledge_p90: timedelta | None = None
    resolve_median: timedelta | None = None
    resolve_p90: timedelta | None = None
    escalations: Counter[str] = field(default_factory=Counter)
    sms_sent: int = 0
    sms_failed: int = 0
    sms_pending: int = 0
    longest: list[Longest] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile, interpolating linearly between the closest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _quantiles(durations: list[timedelta]) -> tuple[timedelta | None, timedelta | None]:
    if not durations:
        return None, None
    seconds = [d.total_seconds() for d in durations]
    return (
        timedelta(seconds=percentile(seconds, 0.5)),
        timedelta(seconds=percentile(seconds, 0.9)),
    )


def figures(records: list[AlertRecord], month: Month, now: datetime) -> MonthFigures:
    """Count and time the month's alerts."""
    result = MonthFigures(month, total=len(records))
    by_organisation: defaultdict[str, Counter[str]] = defaultdict(Counter)
    acknowledge, resolve, longest = [], [], []
    for record in records:
        alert = record.alert
        by_organisation[alert.organisation][alert.level] += 1
        if alert.acknowledged_at is not None:
            acknowledge.append(alert.acknowledged_at - alert.raised_at)
        if alert.resolved_at is not None:
            resolve.append(alert.resolved_at - alert.raised_at)
        result.escalations.update(record.tiers)
        result.sms_sent += record.sms.count(Delivery.SENT)
        result.sms_failed += record.sms.count(Delivery.FAILED)
        longest.append(_wait(record, now))
    result.sms_pending = sum(len(r.sms) for r in records) - result.sms_sent - result.sms_failed
    result.by_organisation = dict(sorted(by_organisation.items()))
    result.acknowledge_median, result.acknowledge_p90 = _quantiles(acknowledge)
    result.resolve_median, result.resolve_p90 = _quantiles(resolve)
    longest.sort(key=lambda entry: (-entry.waited, entry.alert_id))
    result.longest = longest[:LONGEST_SHOWN]
    return result


def _wait(record: AlertRecord, now: datetime) -> Longest:
    """How long the alert waited for someone to take it."""
    alert = record.alert
    ended_by, end = "still open", now
    if alert.acknowledged_at is not None:
        ended_by, end = "acknowledged", alert.acknowledged_at
    elif alert.resolved_at is not None:
        ended_by, end = "resolved", alert.resolved_at
    return Longest(alert.id or 0, alert.level, alert.organisation, end - alert.raised_at, ended_by)


def _duration(value: timedelta | None) -> str:
    return span(value) if value is not None else "—"


def summary(f: MonthFigures) -> str:
    """The chart's caption: a few lines, within Telegram's caption limit."""
    if not f.total:
        return NO_ALERTS.format(month=f.month)
    levels = Counter[str]()
    for counts in f.by_organisation.values():
        levels.update(counts)
    level_text = ", ".join(f"{levels[level]} {level}" for level in LEVELS if levels[level])
    steps = sum(f.escalations.values())
    lines = [
        f"📊 Vigil · {f.month}: {f.total} alerts ({level_text})",
        f"Acknowledged in {_duration(f.acknowledge_median)} (median), "
        f"{_duration(f.acknowledge_p90)} (90th percentile)",
        f"Resolved in {_duration(f.resolve_median)} (median), "
        f"{_duration(f.resolve_p90)} (90th percentile)",
        f"Escalation steps: {steps} · SMS: {f.sms_sent} sent, {f.sms_failed} failed",
    ]
    return shorten("\n".join(lines), CAPTION_LIMIT)


def details(f: MonthFigures) -> str:
    """The whole report as a group message in Telegram HTML, within the message limit."""
    if not f.total:
        return escape(NO_ALERTS.format(month=f.month))
    lines = [f"<b>Vigil report · {f.month}</b>", "", "<b>Alerts by organisation</b>"]
    for organisation, counts in f.by_organisation.items():
        parts = ", ".join(f"{counts[level]} {level}" for level in LEVELS if counts[level])
        lines.append(f"• {escape(organisation)}: {sum(counts.values())} ({parts})")
    lines += [
        "",
        "<b>Time to acknowledge</b>: median "
        f"{_duration(f.acknowledge_median)}, 90th percentile {_duration(f.acknowledge_p90)}",
        "<b>Time to resolve</b>: median "
        f"{_duration(f.resolve_median)}, 90th percentile {_duration(f.resolve_p90)}",
        "",
        "<b>Escalation steps by tier</b>: " + _tiers(f.escalations),
        f"<b>SMS</b>: {f.sms_sent} sent, {f.sms_failed} failed"
        + (f", {f.sms_pending} not yet answered" if f.sms_pending else ""),
        escape(RECEIPTS_NOTE),
        "",
        "<b>Longest waits</b>",
    ]
    for entry in f.longest:
        lines.append(
            f"• #{entry.alert_id} {entry.level} · {escape(entry.organisation)}: "
            f"{span(entry.waited)}, {entry.ended_by}"
        )
    return shorten("\n".join(lines), MESSAGE_LIMIT - 100)  # room for the markup


def _tiers(escalations: Counter[str]) -> str:
    if not escalations:
        return "none"
    order = [tier for tier in TIER_NAME if escalations[tier]]
    order += sorted(tier for tier in escalations if tier not in TIER_NAME)
    return ", ".join(f"{TIER_NAME.get(tier, tier)} {escalations[tier]}" for tier in order)


def write_csv(records: list[AlertRecord], out: IO[str], zone: ZoneInfo) -> int:
    """One row per alert with its local times, waits and outcome; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for record in records:
        writer.writerow(_csv_row(record, zone))
    return len(records)


def _csv_row(record: AlertRecord, zone: ZoneInfo) -> list[object]:
    alert = record.alert

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    def seconds(moment: datetime | None) -> str:
        return str(int((moment - alert.raised_at).total_seconds())) if moment else ""

    if alert.acknowledged_at is not None:
        outcome = "acknowledged" + (" and resolved" if alert.resolved_at else "")
    else:
        outcome = "resolved without acknowledgement" if alert.resolved_at else "open"
    return [
        alert.id,
        local(alert.raised_at),
        alert.level,
        alert.organisation,
        alert.state,
        local(alert.acknowledged_at),
        seconds(alert.acknowledged_at),
        local(alert.resolved_at),
        seconds(alert.resolved_at),
        len(record.tiers),
        record.tiers[-1] if record.tiers else "",
        record.sms.count(Delivery.SENT),
        record.sms.count(Delivery.FAILED),
        outcome,
    ]


def chart_png(f: MonthFigures) -> bytes:
    """Alerts by organisation and level, and escalation and SMS counts, as a PNG."""
    # Imported here: slow, and only reports need it. Agg draws without a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    alerts, outcomes = figure.subplots(1, 2, width_ratios=(3, 2))
    figure.suptitle(f"Vigil · {f.month}")
    names = _labels(list(f.by_organisation))
    bottoms = [0] * len(names)
    for level in LEVELS:
        counts = [counts[level] for counts in f.by_organisation.values()]
        alerts.bar(names, counts, bottom=bottoms, label=level, color=LEVEL_COLOURS[level])
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    alerts.set_title("Alerts by organisation")
    alerts.tick_params(axis="x", labelrotation=30)
    alerts.yaxis.get_major_locator().set_params(integer=True)
    if names:
        alerts.legend()
    else:
        alerts.text(0.5, 0.5, "No alerts", ha="center", va="center", transform=alerts.transAxes)
    labels = [TIER_NAME.get(tier, tier).removeprefix("the ") for tier in f.escalations]
    values = list(f.escalations.values())
    outcomes.barh([*labels, "SMS sent", "SMS failed"], [*values, f.sms_sent, f.sms_failed])
    outcomes.set_title("Escalation steps and SMS")
    outcomes.xaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _labels(names: list[str]) -> list[str]:
    """Short bar labels that stay distinct: "Consulate General of Norway" → "…of Norway"."""
    return [name if len(name) <= 18 else "…" + name[-17:] for name in names]


def export(
    records: list[AlertRecord],
    month: Month,
    zone: ZoneInfo,
    now: datetime,
    csv_path: Path | None,
    png_path: Path | None,
) -> list[str]:
    """Write the CSV and the chart where asked; returns what to print."""
    f = figures(records, month, now)
    lines = [summary(f)]
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as out:
            count = write_csv(records, out, zone)
        lines.append(f"Wrote {count} alerts to {csv_path}")
    if png_path is not None:
        png_path.write_bytes(chart_png(f))
        lines.append(f"Wrote the chart to {png_path}")
    lines.append(RECEIPTS_NOTE)
    return lines
