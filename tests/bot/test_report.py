"""The month's report on fixed data, checked against figures worked out by hand."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bot import report
from bot.cli import main
from bot.render import utf16_len
from bot.report import Month
from storage.db import session_scope
from storage.models import Alert, AlertEvent, Member, Notification
from storage.report import AlertRecord, ReportStore
from storage.roster import RosterStore
from tests.support import people
from tests.support.harness import Harness, MakeBot
from tests.support.meetings import start

KARACHI = ZoneInfo("Asia/Karachi")
NOVEMBER = Month(2026, 11)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# (raised, level, reporter, seconds to ack, seconds to resolve, tiers, SMS statuses)
ALERTS = [
    (utc(2026, 11, 2, 10), "critical", 101, 120, 1800, ["on_duty"], ["sent"]),
    (
        utc(2026, 11, 5, 10),
        "high",
        101,
        600,
        3600,
        ["on_duty", "supervisors"],
        ["sent", "sent", "failed"],
    ),
    (utc(2026, 11, 10, 10), "normal", 102, 240, 1200, [], []),
    (
        utc(2026, 11, 20, 10),
        "critical",
        201,
        None,
        2700,
        ["on_duty", "supervisors", "command"],
        ["sent", "failed", "sent"],
    ),
    (utc(2026, 11, 30, 18, 59), "high", 102, 60, None, [], []),  # 23:59 in Karachi
    (utc(2026, 10, 31, 18, 59), "high", 102, None, None, [], []),  # 31 October, local
    (utc(2026, 11, 30, 19, 0), "high", 102, None, None, [], []),  # 1 December, local
]


def seed_month(engine: Engine) -> None:
    """Alerts of November 2026 (and one each side of it), with their steps and SMS."""
    roster = RosterStore(engine)
    people.seed(roster, utc(2026, 10, 1))
    by_user = {m.telegram_user_id: m for m in roster.members()}
    sms_to = [m.id for m in roster.members() if m.phone and m.id is not None]
    with session_scope(engine) as session:
        for number, (raised, level, user, ack, done, tiers, sms) in enumerate(ALERTS, 1):
            session.add(_alert(number, raised, level, by_user[user], ack, done))
            session.flush()
            for step, tier in enumerate(tiers):
                session.add(
                    AlertEvent(alert_id=number, at=raised, kind="step", step=step, tier=tier)
                )
            for member_id, status in zip(sms_to, sms, strict=False):
                session.add(
                    Notification(
                        alert_id=number,
                        step=0,
                        member_id=member_id,
                        phone="+923001110001",
                        body="page",
                        status=status,
                        created_at=raised,
                    )
                )


def _alert(
    number: int, raised: datetime, level: str, by: Member, ack: int | None, done: int | None
) -> Alert:
    def after(seconds: int | None) -> datetime | None:
        return raised + timedelta(seconds=seconds) if seconds is not None else None

    state = "resolved" if done else "acknowledged" if ack else "waiting"
    return Alert(
        id=number,
        level=level,
        text=f"alert {number}",
        state=state,
        reporter_id=by.id or 0,
        organisation=by.organisation,
        raised_at=raised,
        source_chat_id=people.GROUP_ID,
        source_message_id=number,
        acknowledged_at=after(ack),
        resolved_at=after(done),
    )


@pytest.fixture
def november(sqlite_engine: Engine) -> list[AlertRecord]:
    seed_month(sqlite_engine)
    store = ReportStore(sqlite_engine)
    return store.alerts_between(NOVEMBER.start(KARACHI), NOVEMBER.end(KARACHI))


def test_the_month_is_taken_in_local_time(november: list[AlertRecord]) -> None:
    assert [record.alert.id for record in november] == [1, 2, 3, 4, 5]


def test_figures_match_the_hand_computed_values(november: list[AlertRecord]) -> None:
    f = report.figures(november, NOVEMBER, utc(2026, 12, 4))

    assert f.total == 5
    assert {org: dict(counts) for org, counts in f.by_organisation.items()} == {
        "Consulate of Denmark": {"normal": 1, "high": 1},
        "Consulate of Norway": {"critical": 1, "high": 1},
        "Police": {"critical": 1},
    }
    # acknowledged after 60, 120, 240, 600 s; resolved after 1200, 1800, 2700, 3600 s
    assert f.acknowledge_median == timedelta(seconds=180)
    assert f.acknowledge_p90 == timedelta(seconds=240 + 0.7 * 360)
    assert f.resolve_median == timedelta(seconds=2250)
    assert f.resolve_p90 == timedelta(seconds=2700 + 0.7 * 900)
    assert dict(f.escalations) == {"on_duty": 3, "supervisors": 2, "command": 1}
    assert (f.sms_sent, f.sms_failed, f.sms_pending) == (5, 2, 0)
    assert [(e.alert_id, e.waited.total_seconds(), e.ended_by) for e in f.longest] == [
        (4, 2700, "resolved"),
        (2, 600, "acknowledged"),
        (3, 240, "acknowledged"),
        (1, 120, "acknowledged"),
        (5, 60, "acknowledged"),
    ]


def test_the_summary_fits_a_caption_and_the_details_a_message(
    november: list[AlertRecord],
) -> None:
    f = report.figures(november, NOVEMBER, utc(2026, 12, 4))

    assert report.summary(f) == (
        "📊 Vigil · November 2026: 5 alerts (2 critical, 2 high, 1 normal)\n"
        "Acknowledged in 3 min (median), 8 min 12 s (90th percentile)\n"
        "Resolved in 37 min 30 s (median), 55 min 30 s (90th percentile)\n"
        "Escalation steps: 6 · SMS: 5 sent, 2 failed"
    )
    details = report.details(f)
    assert "Escalation steps by tier</b>: the duty officers 3, the supervisors 2, command 1" in (
        details
    )
    assert "delivery receipts are not tracked" in details
    assert "• #4 critical · Police: 45 min, resolved" in details


def test_a_long_month_is_cut_to_telegram_s_limits() -> None:
    many = report.MonthFigures(NOVEMBER, total=900)
    many.by_organisation = {f"Consulate General number {n}": _one() for n in range(300)}

    assert utf16_len(report.summary(many)) <= report.CAPTION_LIMIT
    assert utf16_len(report.details(many)) <= report.MESSAGE_LIMIT


def _one() -> Counter[str]:
    return Counter({"high": 3})


def test_percentiles_interpolate_between_ranks() -> None:
    minutes = [float(n) for n in range(1, 11)]

    assert report.percentile(minutes, 0.9) == pytest.approx(9.1)
    assert report.percentile([5.0], 0.9) == 5.0


def test_the_csv_has_one_row_per_alert_with_its_times_and_outcome(
    november: list[AlertRecord],
) -> None:
    out = io.StringIO()
    report.write_csv(november, out, KARACHI)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 5
    assert rows[3] == {
        "alert": "4",
        "raised_at": "2026-11-20T15:00:00+05:00",
        "level": "critical",
        "organisation": "Police",
        "state": "resolved",
        "acknowledged_at": "",
        "seconds_to_acknowledge": "",
        "resolved_at": "2026-11-20T15:45:00+05:00",
        "seconds_to_resolve": "2700",
        "escalation_steps": "3",
        "last_tier": "command",
        "sms_sent": "2",
        "sms_failed": "1",
        "outcome": "resolved without acknowledgement",
    }
    assert rows[4]["outcome"] == "acknowledged" and rows[0]["outcome"] == (
        "acknowledged and resolved"
    )


def test_the_chart_is_a_png_even_for_an_empty_month() -> None:
    png = report.chart_png(report.MonthFigures(NOVEMBER))

    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_vigil_report_exports_the_csv_and_the_chart(
    sqlite_url: str,
    sqlite_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_month(sqlite_engine)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("VIGIL_TIMEZONE", "Asia/Karachi")
    csv_file, png_file = tmp_path / "nov.csv", tmp_path / "nov.png"

    status = main(["report", "--month", "2026-11", "--csv", str(csv_file), "--png", str(png_file)])

    assert status == 0
    assert len(csv_file.read_text().splitlines()) == 6
    assert png_file.read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert out.startswith("📊 Vigil · November 2026: 5 alerts") and "not tracked" in out


def test_vigil_report_refuses_a_bad_month(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    assert main(["report", "--month", "November"]) == 2
    assert capsys.readouterr().err == "vigil: --month: expected YYYY-MM, e.g. 2026-11\n"


async def test_slash_report_posts_the_chart_and_the_figures(
    make_bot: MakeBot, sqlite_engine: Engine
) -> None:
    seed_month(sqlite_engine)
    bot: Harness = await start(make_bot())

    await bot.say(people.CONSUL, "/report 2026-11")
    await bot.say(people.CONSUL, "/report november")
    await bot.stop()

    photo, details, usage = bot.tg.messages(people.GROUP_ID)[-3:]
    assert photo.kind == "photo" and photo.text.startswith("📊 Vigil · November 2026: 5 alerts")
    assert photo.media is not None and photo.media["content_type"] == "image/png"
    assert details.reply_to == photo.message_id and "Alerts by organisation" in details.text
    assert usage.text.startswith("Usage: /report [YYYY-MM]")


def test_chart_labels_keep_organisations_with_a_common_prefix_apart() -> None:
    from bot.report import _labels

    names = ["Consulate General of Norway", "Consulate General of Japan", "Police"]

    labels = _labels(names)

    assert len(set(labels)) == 3 and labels[2] == "Police"
    assert labels[0].endswith("of Norway") and labels[1].endswith("of Japan")
