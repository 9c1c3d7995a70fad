"""Everything the group and phones read: cards, lines, status and SMS text.

User text is escaped here and nowhere else, and a card that would pass Telegram's limit is
shortened here too (the row keeps the whole text).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sms import describe_error
from storage.alerts import AlertView, TimelineEntry
from storage.directory import Organisation
from storage.models import AlertState, Delivery, EventKind
from storage.outbox import StepDelivery

MESSAGE_LIMIT = 4096  # Telegram counts UTF-16 code units of the visible text
SMS_TEXT_LIMIT = 90
SMS_ADDRESS_LIMIT = 40
MAP_URL = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
LEVEL_MARK = {"critical": "🔴", "high": "🟠", "normal": "🟡"}
TIER_NAME = {
    "on_duty": "the duty officers",
    "supervisors": "the supervisors",
    "command": "command",
}
ACK = "ack"
RESOLVE = "resolve"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, mark: str = "…") -> str:
    """Cut `text` to at most `limit` UTF-16 units, marking the cut (SMS use "...")."""
    if utf16_len(text) <= limit:
        return text
    keep = max(limit - len(mark), 0)
    cut = text.encode("utf-16-le")[: keep * 2].decode("utf-16-le", "ignore")
    return cut.rstrip() + mark


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """`14:05` in the group's timezone."""
    return moment.astimezone(zone).strftime("%H:%M")


def local_stamp(moment: datetime, zone: ZoneInfo) -> str:
    """`14:05, 4 Dec` in the group's timezone."""
    local = moment.astimezone(zone)
    return f"{local:%H:%M}, {local.day} {local:%b}"


def span(duration: timedelta) -> str:
    """`2 min 10 s`, `1 h 5 min`, `40 s`."""
    seconds = max(int(duration.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def card_text(view: AlertView, zone: ZoneInfo) -> str:
    """The alert card, in Telegram HTML, within Telegram's length limit."""
    alert = view.alert
    header = (
        f"{LEVEL_MARK.get(alert.level, '⚪')} <b>ALERT #{alert.id} · {alert.level.upper()}</b>"
        f" · {escape(alert.organisation)}"
    )
    footer = [
        f"Reported by {escape(view.reporter.name)} at {local_stamp(alert.raised_at, zone)}",
        _state_line(view, zone),
    ]
    if view.place is not None and (where := place_line(view.place)):
        footer.insert(0, where)
    if view.responders:
        footer.append("Also responding: " + escape(", ".join(view.responders)))
    if alert.resolution_note:
        footer.append("Note: " + escape(shorten(alert.resolution_note, 500)))
    frame = "\n\n".join([header, "{}", "\n".join(footer)])
    visible_frame = utf16_len(html.unescape(_strip_tags(frame.replace("{}", ""))))
    body = escape(shorten(alert.text, MESSAGE_LIMIT - visible_frame))
    return frame.replace("{}", body, 1)


def place_line(place: Organisation) -> str:
    """`📍 1 Embassy Road · map` with a link built from the organisation's coordinates."""
    parts = [escape(place.address)] if place.address else []
    if place.latitude is not None and place.longitude is not None:
        url = MAP_URL.format(lat=place.latitude, lon=place.longitude)
        parts.append(f'<a href="{html.escape(url)}">map</a>')
    return "📍 " + " · ".join(parts) if parts else ""


def _strip_tags(text: str) -> str:
    return re.sub(r"</?[a-z][^>]*>", "", text)


def _state_line(view: AlertView, zone: ZoneInfo) -> str:
    alert = view.alert
    if alert.state == AlertState.RESOLVED and alert.resolved_at is not None:
        who = escape(view.resolved_by.name) if view.resolved_by else "someone"
        line = f"✔️ <b>Resolved</b> by {who} at {local_time(alert.resolved_at, zone)}"
        if alert.acknowledged_at is not None and view.acknowledged_by is not None:
            taker = escape(view.acknowledged_by.name)
            line += f" (acknowledged by {taker} at {local_time(alert.acknowledged_at, zone)})"
        return line
    if alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_at is not None:
        who = escape(view.acknowledged_by.name) if view.acknowledged_by else "someone"
        waited = span(alert.acknowledged_at - alert.raised_at)
        return (
            f"✅ <b>Acknowledged</b> by {who} at {local_time(alert.acknowledged_at, zone)},"
            f" {waited} after it was raised"
        )
    line = "⏳ <b>Waiting</b> for a duty officer to acknowledge"
    if view.last_tier:
        line += f" · escalated to {TIER_NAME.get(view.last_tier, view.last_tier)}"
    return line


def card_keyboard(view: AlertView) -> InlineKeyboardMarkup | None:
    """Acknowledge and Resolve while the alert is open; nothing once it is resolved."""
    alert = view.alert
    if alert.state == AlertState.RESOLVED:
        return None
    ack_label = "✅ Acknowledge" if alert.state == AlertState.WAITING else "🙋 Responding too"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(ack_label, callback_data=f"{ACK}:{alert.id}"),
                InlineKeyboardButton("✔️ Resolve", callback_data=f"{RESOLVE}:{alert.id}"),
            ]
        ]
    )


def sms_text(view: AlertView, now: datetime) -> str:
    """A short, self-contained page: number, level, organisation, text, wait, how to ack."""
    alert = view.alert
    waited = max(int((now - alert.raised_at).total_seconds()), 0)
    wait = f"{waited // 60} min" if waited >= 60 else f"{waited} s"
    where = ""
    if view.place is not None and view.place.address:
        where = f" at {shorten(view.place.address, SMS_ADDRESS_LIMIT, '...')}"
    # "..." rather than "…": one non-GSM character makes the whole SMS cost three times more.
    return (
        f"VIGIL #{alert.id} {alert.level.upper()} {shorten(alert.organisation, 40, '...')}"
        f"{where}: {shorten(alert.text, SMS_TEXT_LIMIT, '...')} (waiting {wait}). "
        f"Acknowledge in the Telegram group: /ack {alert.id}"
    )


def step_headline(
    alert_id: int, step: int, tier: str, note: str | None, repeat: bool = False
) -> str:
    """The first part of a step's group line; the SMS outcome is added when it is known."""
    again = " again (nobody has acknowledged)" if repeat else ""
    line = f"📟 <b>Alert #{alert_id}</b>: step {step + 1}, paging {TIER_NAME[tier]}{again}."
    return f"{line} {escape(note)}" if note else line


def step_outcome(deliveries: list[StepDelivery]) -> str:
    """`SMS: 3 sent, 1 failed (Ali: invalid number, 21211).`"""
    if not deliveries:
        return ""
    sent = sum(1 for d in deliveries if d.status == Delivery.SENT)
    failed = [d for d in deliveries if d.status == Delivery.FAILED]
    cancelled = sum(1 for d in deliveries if d.status == Delivery.CANCELLED)
    retrying = len(deliveries) - sent - len(failed) - cancelled
    parts = [f"{sent} sent"]
    if failed:
        reasons = "; ".join(
            f"{escape(d.name)}: {describe_error(d.error_code)}" for d in failed[:5]
        )
        parts.append(f"{len(failed)} failed ({reasons})")
    if retrying:
        parts.append(f"{retrying} retrying")
    if cancelled:
        parts.append(f"{cancelled} not sent (the alert stopped waiting)")
    return " SMS: " + ", ".join(parts) + "."


def status_list(views: list[AlertView], now: datetime) -> str:
    """`/status`: every open alert, one line each."""
    if not views:
        return "✅ No open alerts."
    lines = [f"<b>Open alerts ({len(views)})</b>"]
    for view in views:
        alert = view.alert
        if alert.state == AlertState.ACKNOWLEDGED and view.acknowledged_by:
            where = f"acknowledged by {escape(view.acknowledged_by.name)}"
        else:
            reached = TIER_NAME.get(view.last_tier or "", "nobody paged yet")
            where = f"<b>waiting</b> · escalation: {reached}"
        lines.append(
            f"{LEVEL_MARK.get(alert.level, '⚪')} #{alert.id} {alert.level} · "
            f"{escape(alert.organisation)} · {span(now - alert.raised_at)} · {where}"
        )
    lines.append("\n/status N shows one alert's timeline.")
    return shorten("\n".join(lines), MESSAGE_LIMIT)


def timeline(view: AlertView, entries: list[TimelineEntry], zone: ZoneInfo) -> str:
    """`/status N`: the alert's life, step by step, with each SMS and its outcome."""
    alert = view.alert
    lines = [
        f"{LEVEL_MARK.get(alert.level, '⚪')} <b>Alert #{alert.id}</b> · {alert.level} · "
        f"{escape(alert.organisation)} · {alert.state}",
        escape(shorten(alert.text, 600)),
        "",
    ]
    for entry in entries:
        lines.append(f"{local_time(entry.event.at, zone)} {_event_line(entry)}")
    return shorten("\n".join(lines), MESSAGE_LIMIT)


def _event_line(entry: TimelineEntry) -> str:
    event, who = entry.event, escape(entry.actor_name or "someone")
    if event.kind == EventKind.RAISED:
        return f"raised by {who}"
    if event.kind == EventKind.ACKNOWLEDGED:
        return f"acknowledged by {who}"
    if event.kind == EventKind.RESPONDED:
        return f"{who} is responding too"
    if event.kind == EventKind.RESOLVED:
        note = f": {escape(shorten(event.note, 200))}" if event.note else ""
        return f"resolved by {who}{note}"
    tier = TIER_NAME.get(event.tier or "", event.tier or "")
    line = f"step {(event.step or 0) + 1} → {tier}"
    if event.note:
        line += f" ({escape(event.note)})"
    if entry.sms:
        outcomes = ", ".join(
            f"{escape(name)} {_sms_state(n.status, n.error_code)}" for n, name in entry.sms
        )
        line += f": SMS {outcomes}"
    return line


def _sms_state(status: str, code: int | None) -> str:
    if status == Delivery.FAILED:
        return f"failed ({describe_error(code)})"
    states = {"sent": "sent", "sending": "sending", "cancelled": "not sent (no longer needed)"}
    return states.get(status, "pending")
