"""Builders for Update JSON exactly as Telegram sends it, as plain dicts.

Each builder returns an update without ``update_id``: `FakeTelegram.push_update` assigns one,
or `with_update_id` does for an update handed straight to ``Update.de_json``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

from tests.fakes.telegram_html import utf16_len

BOT_ID = 7000001
BOT_FIRST_NAME = "Vigil"
BOT_USERNAME = "vigil_test_bot"

SUPERGROUP_ID_LIMIT = -1_000_000_000_000

_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)


def bot_user() -> dict[str, Any]:
    """The fake bot as it appears in the ``from`` field of its own messages."""
    return {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


def user(
    id: int, first_name: str, username: str | None = None, last_name: str | None = None
) -> dict[str, Any]:
    """A human Telegram user."""
    built: dict[str, Any] = {"id": id, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        built["last_name"] = last_name
    if username is not None:
        built["username"] = username
    return built


def chat_type(chat_id: int) -> str:
    """Telegram's chat type for an id: supergroups start at -100…, groups are negative."""
    if chat_id <= SUPERGROUP_ID_LIMIT:
        return "supergroup"
    return "group" if chat_id < 0 else "private"


def group(id: int = -1001234567890, title: str = "Coordination") -> dict[str, Any]:
    """A group chat; ids from -1000000000000 down are supergroups."""
    return {"id": id, "title": title, "type": chat_type(id)}


def private_chat(user: Mapping[str, Any]) -> dict[str, Any]:
    """The private chat between the bot and `user`."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for optional in ("last_name", "username"):
        if optional in user:
            chat[optional] = user[optional]
    return chat


def text_message(
    text: str,
    *,
    from_user: Mapping[str, Any],
    chat: Mapping[str, Any],
    message_id: int | None = None,
    date: int | None = None,
    entities: list[dict[str, Any]] | None = None,
    reply_to: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An update carrying a text message; `reply_to` is the message dict it answers."""
    message = _message(from_user, chat, message_id, date)
    message["text"] = text
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = dict(_as_dict(reply_to))
    return {"message": message}


def command(
    text: str,
    *,
    from_user: Mapping[str, Any],
    chat: Mapping[str, Any],
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A command message, with the ``bot_command`` entity PTB's CommandHandler looks for."""
    if not text.startswith("/"):
        raise ValueError(f"a command starts with '/': {text!r}")
    token = text.split(maxsplit=1)[0]
    entity = {"type": "bot_command", "offset": 0, "length": utf16_len(token)}
    return text_message(
        text, from_user=from_user, chat=chat, message_id=message_id, date=date, entities=[entity]
    )


def callback_query(
    data: str,
    *,
    from_user: Mapping[str, Any],
    message: Mapping[str, Any] | Any,
    id: str | None = None,
) -> dict[str, Any]:
    """A press on an inline button of `message` (a message dict, or a stored fake message)."""
    message = _as_dict(message)
    if "chat" not in message or "message_id" not in message:
        raise ValueError("the pressed message needs its chat and message_id")
    query_id = id if id is not None else str(next(_callback_ids) + 4_400_000_000_000_000)
    return {
        "callback_query": {
            "id": query_id,
            "from": dict(from_user),
            "message": dict(message),
            "chat_instance": str(-abs(message["chat"]["id"])),
            "data": data,
        }
    }


def migrate_to(
    old_chat_id: int, new_chat_id: int, from_user: Mapping[str, Any], title: str = "Coordination"
) -> dict[str, Any]:
    """The service message in a group that has just become the supergroup `new_chat_id`."""
    message = _message(from_user, group(old_chat_id, title), None, None)
    message["migrate_to_chat_id"] = new_chat_id
    return {"message": message}


def migrate_from(
    new_chat_id: int, old_chat_id: int, from_user: Mapping[str, Any], title: str = "Coordination"
) -> dict[str, Any]:
    """The first service message of the supergroup that group `old_chat_id` became."""
    message = _message(from_user, group(new_chat_id, title), None, None)
    message["migrate_from_chat_id"] = old_chat_id
    return {"message": message}


def contact_message(
    phone_number: str,
    *,
    from_user: Mapping[str, Any],
    chat: Mapping[str, Any],
    message_id: int | None = None,
) -> dict[str, Any]:
    """A user sharing their own contact card, as the "share my number" button sends it."""
    message = _message(from_user, chat, message_id, None)
    message["contact"] = {
        "phone_number": phone_number,
        "first_name": from_user["first_name"],
        "user_id": from_user["id"],
    }
    return {"message": message}


def my_chat_member(
    chat: Mapping[str, Any],
    *,
    from_user: Mapping[str, Any],
    old_status: str = "left",
    new_status: str = "member",
) -> dict[str, Any]:
    """The bot's own membership in `chat` changing, e.g. being added to a group."""
    return {
        "my_chat_member": {
            "chat": dict(chat),
            "from": dict(from_user),
            "date": int(time.time()),
            "old_chat_member": {"status": old_status, "user": bot_user()},
            "new_chat_member": {"status": new_status, "user": bot_user()},
        }
    }


def with_update_id(update: Mapping[str, Any], update_id: int) -> dict[str, Any]:
    """A copy of `update` numbered `update_id`."""
    return {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}


def _message(
    from_user: Mapping[str, Any],
    chat: Mapping[str, Any],
    message_id: int | None,
    date: int | None,
) -> dict[str, Any]:
    return {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": dict(from_user),
        "chat": dict(chat),
        "date": date if date is not None else int(time.time()),
    }


def _as_dict(message: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    return message.to_dict() if hasattr(message, "to_dict") else message
