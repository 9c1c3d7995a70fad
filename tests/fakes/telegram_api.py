"""The Bot API methods of the fake Telegram server, over in-memory chats and messages.

Everything here is synchronous and knows nothing of HTTP: `FakeTelegram` decodes a request,
calls `BotApi.call`, and turns the result or the `ApiError` into Telegram's JSON answer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import updates
from tests.fakes.telegram_html import EntityParseError, Formatted, parse_html, utf16_len

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_TEXT_LIMIT = 200
FIRST_MESSAGE_ID = 1000

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a content and reply markup of the current content and reply markup of the message"
)

GET_ME_FLAGS = {
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
    "has_topics_enabled": False,
    "allows_users_to_create_topics": False,
    "can_manage_bots": False,
    "supports_guest_queries": False,
}

ADMINISTRATOR_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}

MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})

_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """A Telegram error answer: HTTP status, description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON object Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 answer with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """Telegram's flood-control answer."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def migrated(new_chat_id: int) -> ApiError:
    """The answer for a group that became the supergroup `new_chat_id`."""
    return ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def forbidden(chat_id: int, reason: str = "kicked") -> ApiError:
    """A 403 worded for the chat's type: the bot was kicked, blocked, or is not a member."""
    kind = updates.chat_type(chat_id)
    if kind == "private":
        return ApiError(403, "Forbidden: bot was blocked by the user")
    if reason == "kicked":
        return ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
    return ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")


@dataclass
class StoredMessage:
    """The current state of one message the bot sent; `text` is what the user sees."""

    chat: dict[str, Any]
    message_id: int
    date: int
    text: str
    raw_text: str
    parse_mode: str | None
    entities: tuple[dict, ...] = ()
    reply_markup: dict | None = None
    protect_content: bool = False
    reply_to: int | None = None
    kind: str = "text"
    media: dict | None = None
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    reply_snapshot: dict | None = field(default=None, repr=False)

    @property
    def chat_id(self) -> int:
        """The id of the chat the message is in."""
        return self.chat["id"]

    @property
    def buttons(self) -> list[dict]:
        """The inline buttons, row after row."""
        keyboard = inline_keyboard(self.reply_markup) or {"inline_keyboard": []}
        return [button for row in keyboard["inline_keyboard"] for button in row]

    def shows(self, formatted: Formatted, markup: dict | None) -> bool:
        """Whether the message already looks exactly like `formatted` with `markup`."""
        same_text = (self.text, self.entities) == (formatted.text, formatted.entities)
        return same_text and inline_keyboard(self.reply_markup) == inline_keyboard(markup)

    def replace_text(self, raw: str, parse_mode: str | None, formatted: Formatted) -> None:
        """Apply an edit of the text, counting it and stamping edit_date."""
        self.raw_text, self.parse_mode = raw, parse_mode
        self.text, self.entities = formatted.text, formatted.entities
        self.edit_count += 1
        self.edit_date = int(time.time())

    def to_dict(self) -> dict[str, Any]:
        """The Message object Telegram returns for this message."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": updates.bot_user(),
            "chat": dict(self.chat),
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_snapshot is not None:
            message["reply_to_message"] = self.reply_snapshot
        if self.protect_content:
            message["has_protected_content"] = True
        message.update(self._content())
        keyboard = inline_keyboard(self.reply_markup)
        if keyboard is not None:
            message["reply_markup"] = keyboard
        return message

    def _content(self) -> dict[str, Any]:
        if self.kind == "text":
            content: dict[str, Any] = {"text": self.text}
            if self.entities:
                content["entities"] = list(self.entities)
            return content
        file_id = f"fake-{self.kind}-{self.chat_id}-{self.message_id}"
        content = {self.kind: _media_json(self.kind, self.media or {}, file_id)}
        if self.text:
            content["caption"] = self.text
        if self.entities:
            content["caption_entities"] = list(self.entities)
        return content


def inline_keyboard(markup: dict | None) -> dict | None:
    """The inline keyboard a message shows for `markup`, or None when it shows none."""
    if not markup or not any(markup.get("inline_keyboard") or ()):
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


class BotApi:
    """Telegram's methods over the chats and messages the fake knows."""

    def __init__(self, *, strict_html: bool = True) -> None:
        self.strict_html = strict_html
        self._next_message_id: dict[int, int] = {}
        self._methods: dict[str, Callable[[dict], Any]] = {
            "getMe": self.get_me,
            "logOut": _true,
            "close": _true,
            "deleteWebhook": _true,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendChatAction": self.send_chat_action,
            "leaveChat": self.leave_chat,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
        }
        self.reset()

    def reset(self) -> None:
        """Forget chats, messages and settings; message ids keep counting up."""
        self._stored: dict[tuple[int, int], StoredMessage] = {}
        self._chats: dict[int, dict] = {}
        self._users: dict[int, dict] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._gone: set[tuple[int, int]] = set()
        self._absent: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._commands: dict[str, list] = {}
        self.callback_answers: list[dict] = []

    def method_names(self) -> list[str]:
        """The methods `call` answers."""
        return list(self._methods)

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Run `method` (exactly as Telegram spells it) and return its result."""
        handler = self._methods.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(params)

    # What the tests read and arrange.

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in `chat_id`, oldest first."""
        return [
            message
            for (chat, _), message in self._stored.items()
            if chat == chat_id and (include_deleted or not message.deleted)
        ]

    def find(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """The stored message, deleted or not, if the bot sent it."""
        return self._stored.get((chat_id, message_id))

    def delete_user_message(self, chat_id: int, message_id: int) -> None:
        """Make a message the bot did not send count as deleted, e.g. before a reply to it."""
        self._gone.add((chat_id, message_id))

    def set_member(self, chat_id: int, user: dict[str, Any] | int, status: str) -> None:
        """Give `user` (a user dict or id) a membership status in `chat_id`."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unsupported member status {status!r}")
        if isinstance(user, dict):
            self._users[user["id"]] = dict(user)
        user_id = user["id"] if isinstance(user, dict) else user
        self._members[(chat_id, user_id)] = status

    def learn(self, update: dict[str, Any]) -> None:
        """Remember the chats, users, message ids and migrations an update reveals."""
        for message in _messages_in(update):
            self._learn_message(message)
        query = update.get("callback_query")
        if query:
            self._learn_user(query["from"])
        change = update.get("my_chat_member")
        if change:
            self._learn_membership(change)

    def _learn_message(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        if not chat:
            return
        self._chats[chat["id"]] = dict(chat)
        if message.get("from"):
            self._learn_user(message["from"])
        next_id = self._next_message_id.get(chat["id"], FIRST_MESSAGE_ID)
        self._next_message_id[chat["id"]] = max(next_id, message["message_id"] + 1)
        if "migrate_to_chat_id" in message:
            self._migrated[chat["id"]] = message["migrate_to_chat_id"]

    def _learn_user(self, user: dict[str, Any]) -> None:
        self._users[user["id"]] = dict(user)

    def _learn_membership(self, change: dict[str, Any]) -> None:
        chat_id = change["chat"]["id"]
        self._chats[chat_id] = dict(change["chat"])
        status = change["new_chat_member"]["status"]
        if status in ("left", "kicked"):
            self._absent[chat_id] = status
        else:
            self._absent.pop(chat_id, None)

    # Methods.

    def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """The fake bot's identity."""
        return {**updates.bot_user(), **GET_ME_FLAGS}

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        """Store the command list for a scope and language."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
        self._commands[_scope_key(params)] = commands
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict]:
        """The command list for a scope and language."""
        return list(self._commands.get(_scope_key(params), []))

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        """Forget the command list for a scope and language."""
        self._commands.pop(_scope_key(params), None)
        return True

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store and return a new text message."""
        chat_id = self._sendable_chat(params)
        raw = _text_param(params)
        formatted = self._text(raw, params.get("parse_mode"))
        return self._store(chat_id, params, kind="text", raw=raw, formatted=formatted).to_dict()

    def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store and return a photo message (its caption and upload size)."""
        return self._send_media(params, "photo")

    def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store and return a document message (its caption and upload size)."""
        return self._send_media(params, "document")

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a message's text; leaving out reply_markup removes its keyboard."""
        message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw = _text_param(params)
        formatted = self._text(raw, params.get("parse_mode"))
        markup = self._markup(params)
        if message.shows(formatted, markup):
            raise bad_request(NOT_MODIFIED)
        message.replace_text(raw, params.get("parse_mode"), formatted)
        message.reply_markup = markup
        return message.to_dict()

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a message's inline keyboard; leaving out reply_markup removes it."""
        message = self._editable(params)
        markup = self._markup(params)
        if inline_keyboard(message.reply_markup) == inline_keyboard(markup):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_count += 1
        return message.to_dict()

    def delete_message(self, params: dict[str, Any]) -> bool:
        """Delete a message; the bot may delete user messages the fake never saw."""
        key = (_chat_id(params), _message_id(params))
        if key in self._gone:
            raise bad_request("message to delete not found")
        self._gone.add(key)
        if key in self._stored:
            self._stored[key].deleted = True
        return True

    def answer_callback_query(self, params: dict[str, Any]) -> bool:
        """Record the answer to a button press."""
        if not params.get("callback_query_id"):
            raise bad_request("QUERY_ID_INVALID")
        if len(str(params.get("text", ""))) > CALLBACK_TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(dict(params))
        return True

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        """Accept a "typing…" style action."""
        self._sendable_chat(params)
        return True

    def leave_chat(self, params: dict[str, Any]) -> bool:
        """Leave a group; later messages to it are refused with 403."""
        chat_id = _chat_id(params)
        if updates.chat_type(chat_id) == "private":
            raise bad_request("chat member status can't be changed in private chats")
        self._absent[chat_id] = "left"
        return True

    def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """The ChatFullInfo of a chat, from what pushed updates said about it."""
        chat_id = self._sendable_chat(params)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {**dict.fromkeys(gifts, False), "gifts_from_channels": False},
        }

    def get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        """A user's membership in a chat ("member" unless `set_member` said otherwise)."""
        chat_id = _chat_id(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        return _member_json(self._user(user_id), self._status(chat_id, user_id))

    def get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The creator and administrators `set_member` named for a group."""
        chat_id = self._sendable_chat(params)
        if updates.chat_type(chat_id) == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            _member_json(self._user(user_id), status)
            for (chat, user_id), status in self._members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    # Shared steps.

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat_id = self._sendable_chat(params)
        upload = params.get(kind)
        if not upload:
            raise bad_request(f"there is no {kind} in the request")
        raw = str(params.get("caption") or "")
        formatted = self._formatted(raw, params.get("parse_mode"))
        if utf16_len(formatted.text) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        media = upload if isinstance(upload, dict) else {"file_id": str(upload)}
        message = self._store(
            chat_id, params, kind=kind, raw=raw, formatted=formatted, media=media
        )
        return message.to_dict()

    def _store(
        self,
        chat_id: int,
        params: dict[str, Any],
        *,
        kind: str,
        raw: str,
        formatted: Formatted,
        media: dict | None = None,
    ) -> StoredMessage:
        markup = self._markup(params)
        reply_to = self._reply_to(chat_id, params)
        message_id = self._next_message_id.get(chat_id, FIRST_MESSAGE_ID)
        self._next_message_id[chat_id] = message_id + 1
        message = StoredMessage(
            chat=self._chat(chat_id),
            message_id=message_id,
            date=int(time.time()),
            text=formatted.text,
            raw_text=raw,
            parse_mode=params.get("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            protect_content=bool(params.get("protect_content")),
            reply_to=reply_to,
            kind=kind,
            media=media,
            reply_snapshot=self._snapshot(chat_id, reply_to),
        )
        self._stored[(chat_id, message_id)] = message
        return message

    def _text(self, raw: str, parse_mode: str | None) -> Formatted:
        formatted = self._formatted(raw, parse_mode)
        if not formatted.text:
            raise bad_request("message text is empty")
        if utf16_len(formatted.text) > MESSAGE_LIMIT:
            raise bad_request("message is too long")
        return formatted

    def _formatted(self, raw: str, parse_mode: str | None) -> Formatted:
        mode = (parse_mode or "").lower()
        if mode not in ("", "html", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        if mode != "html":
            # TODO: parse Markdown and MarkdownV2 once Vigil sends either; shown as sent now.
            return Formatted(raw).trimmed()
        try:
            return parse_html(raw, strict=self.strict_html).trimmed()
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None

    def _markup(self, params: dict[str, Any]) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or ():
            for button in row:
                _check_button(button)
        return markup

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters") or {}
        if not isinstance(reply, dict):
            raise bad_request("can't parse reply parameters JSON object")
        target = reply.get("message_id", params.get("reply_to_message_id"))
        if target is None:
            return None
        if (chat_id, target) not in self._gone:
            return int(target)
        fallback = params.get("allow_sending_without_reply", False)
        if reply.get("allow_sending_without_reply", fallback):
            return None
        raise bad_request("message to be replied not found")

    def _snapshot(self, chat_id: int, message_id: int | None) -> dict | None:
        if message_id is None:
            return None
        known = self._stored.get((chat_id, message_id))
        if known is None:
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
            }
        snapshot = known.to_dict()
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _editable(self, params: dict[str, Any]) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat_id = self._sendable_chat(params)
        message = self._stored.get((chat_id, _message_id(params)))
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        return message

    def _sendable_chat(self, params: dict[str, Any]) -> int:
        chat_id = _chat_id(params)
        if chat_id in self._migrated:
            raise migrated(self._migrated[chat_id])
        if chat_id in self._absent:
            raise forbidden(chat_id, self._absent[chat_id])
        return chat_id

    def _chat(self, chat_id: int) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if updates.chat_type(chat_id) == "private":
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return updates.group(chat_id, title=f"Group {chat_id}")

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == updates.BOT_ID:
            return updates.bot_user()
        return self._users.get(user_id) or updates.user(user_id, "User")

    def _status(self, chat_id: int, user_id: int) -> str:
        if user_id == updates.BOT_ID and chat_id in self._absent:
            return self._absent[chat_id]
        return self._members.get((chat_id, user_id), "member")


def _true(params: dict[str, Any]) -> bool:
    return True


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("chat not found")
    return value


def _message_id(params: dict[str, Any]) -> int:
    value = params.get("message_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("message identifier is not specified")
    return value


def _text_param(params: dict[str, Any]) -> str:
    text = params.get("text")
    if text is None:
        raise bad_request("message text is empty")
    return str(text)


def _check_button(button: dict[str, Any]) -> None:
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= CALLBACK_DATA_LIMIT:
        raise bad_request("BUTTON_DATA_INVALID")
    if not _BUTTON_ACTIONS.intersection(button):
        raise bad_request("text buttons are unallowed in the inline keyboard")


def _scope_key(params: dict[str, Any]) -> str:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps([scope, params.get("language_code", "")], sort_keys=True)


def _member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update(ADMINISTRATOR_RIGHTS)
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    return member


def _media_json(kind: str, media: dict[str, Any], file_id: str) -> Any:
    sized = {"file_size": media["size"]} if "size" in media else {}
    if kind == "photo":
        return [_photo_size(f"{file_id}-s", 90, sized), _photo_size(file_id, 800, sized)]
    document: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id, **sized}
    if media.get("filename"):
        document["file_name"] = media["filename"]
    if media.get("content_type"):
        document["mime_type"] = media["content_type"]
    return document


def _photo_size(file_id: str, side: int, sized: dict[str, Any]) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": file_id, "width": side, "height": side, **sized}


def _messages_in(update: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if update.get(key):
            yield update[key]
    query = update.get("callback_query")
    if query and query.get("message"):
        yield query["message"]
