"""Update builders and data for the roster, rota, onboarding and group-safety tests."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tests.fakes import updates

GROUP_ANONYMOUS_BOT = updates.user(1087968824, "Group", "GroupAnonymousBot")
CHANNEL_BOT = updates.user(136817688, "Channel", "Channel_Bot")


def on_behalf_of(update: dict[str, Any], sender_chat: Mapping[str, Any]) -> dict[str, Any]:
    """The same message, sent anonymously or on behalf of `sender_chat`."""
    update["message"]["sender_chat"] = dict(sender_chat)
    return update


def chat_member(
    chat: Mapping[str, Any],
    user: Mapping[str, Any],
    *,
    by: Mapping[str, Any],
    old_status: str = "member",
    new_status: str = "left",
) -> dict[str, Any]:
    """Someone's membership of `chat` changing, as a bot that is an admin there sees it."""
    member = {"status": new_status, "user": dict(user)}
    if new_status == "kicked":
        member["until_date"] = 0
    return {
        "chat_member": {
            "chat": dict(chat),
            "from": dict(by),
            "date": int(time.time()),
            "old_chat_member": {"status": old_status, "user": dict(user)},
            "new_chat_member": member,
        }
    }


def bot_muted(chat: Mapping[str, Any], *, by: Mapping[str, Any]) -> dict[str, Any]:
    """The bot restricted in `chat` so that it can no longer send messages."""
    update = updates.my_chat_member(chat, from_user=by, old_status="member", new_status="member")
    rights = dict.fromkeys(
        [
            "can_send_messages",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_manage_topics",
            "can_edit_tag",
            "can_react_to_messages",
        ],
        False,
    )
    update["my_chat_member"]["new_chat_member"].update(
        {"status": "restricted", "is_member": True, "until_date": 0, **rights}
    )
    return update


def bot_removed(chat: Mapping[str, Any], *, by: Mapping[str, Any]) -> dict[str, Any]:
    """The bot banned from `chat`."""
    update = updates.my_chat_member(chat, from_user=by, old_status="member", new_status="kicked")
    update["my_chat_member"]["new_chat_member"]["until_date"] = 0
    return update


ORGS_CSV = """name,kind,address,latitude,longitude
Consulate of Norway,consulate,"12 Embassy Road, Clifton",24.8138,67.0300
Police,police,Civil Lines HQ,24.8500,67.0100
Rangers,rangers,,,
"""
