"""Starting the real bot as `vigil run` does, and moving time for the meeting's sweep."""

from __future__ import annotations

from datetime import datetime

from bot.meetings import Meetings
from storage.meetings import MeetingReminder
from tests.support.harness import Harness

RULE = "/meeting every first monday 11:00 at Central Police Office"


def meetings(harness: Harness) -> Meetings:
    service = harness.app.bot_data["meetings"]
    assert isinstance(service, Meetings)
    return service


async def start(harness: Harness) -> Harness:
    """Start the bot through the application's own start-up hook, meetings included."""
    await harness.app.initialize()
    assert harness.app.post_init is not None
    await harness.app.post_init(harness.app)
    return harness


async def advance_to(harness: Harness, moment: datetime) -> None:
    """Set the clock and let both sweeps run, as their timers would."""
    harness.clock.current = moment
    await harness.vigil.tick()
    await meetings(harness).tick()


def reminders(harness: Harness, meeting_id: int) -> list[MeetingReminder]:
    return meetings(harness).store.reminders(meeting_id)


def posted_text(harness: Harness, reminder: MeetingReminder) -> str:
    assert reminder.chat_id is not None and reminder.message_id is not None
    return harness.tg.visible_text(reminder.chat_id, reminder.message_id)
