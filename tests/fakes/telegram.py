"""A fake Telegram Bot API server on 127.0.0.1 for python-telegram-bot to talk to.

In a test::

    async with FakeTelegram() as tg:
        bot = telegram.Bot(TOKEN, base_url=tg.base_url)

On its own, for driving a real ``vigil run`` by hand or from a benchmark::

    python -m tests.fakes.telegram --port 8081

prints the base URL on one line and serves until SIGINT or SIGTERM. Requests arrive at
``/bot<TOKEN>/<method>``; the HTTP control endpoints under ``/_control/`` do over HTTP what
the Python methods below do in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes import updates
from tests.fakes._server import (
    LoopbackServer,
    Signal,
    command_line_parser,
    control_call,
    json_ok,
    read_json,
    serve_until_signalled,
)
from tests.fakes.telegram_api import (
    ApiError,
    BotApi,
    StoredMessage,
    forbidden,
    too_many_requests,
)

__all__ = ["Call", "FakeTelegram", "StoredMessage"]

UPDATES_LIMIT = 100
GROUP_WINDOW_SECONDS = 60.0
UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024

# Methods Telegram counts against a group's limit of messages per minute.
GROUP_LIMITED_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument"}
)

# Telegram leaves these out of getUpdates unless allowed_updates names them.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# PTB sends a form whose values are strings; these are JSON or numbers inside the string.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "link_preview_options",
        "allowed_updates",
        "media",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "user_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "from_chat_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_paid_broadcast",
    }
)

_DESCRIPTIONS = {
    401: "Unauthorized",
    409: (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    ),
    500: "Internal Server Error",
}
_BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1></body></html>\n"
)


@dataclass(frozen=True)
class Call:
    """One request the fake answered: when it arrived and the status it got."""

    method: str
    params: dict[str, Any]
    at: float
    chat_id: int | None
    status: int = 200


@dataclass
class _Failure:
    method: str
    status: int
    description: str | None
    retry_after: int | None
    migrate_to_chat_id: int | None
    remaining: int
    chat_id: int | None

    def matches(self, method: str, chat_id: int | None) -> bool:
        return self.method in (method, "*") and self.chat_id in (None, chat_id)

    def error(self, chat_id: int | None) -> ApiError:
        parameters: dict[str, int] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        description = self.description or self._default_description(chat_id)
        return ApiError(self.status, description, parameters or None)

    def _default_description(self, chat_id: int | None) -> str:
        if self.status == 429:
            return f"Too Many Requests: retry after {self.retry_after}"
        if self.migrate_to_chat_id is not None:
            return "Bad Request: group chat was upgraded to a supergroup chat"
        if self.status == 403:
            chat_id = chat_id if chat_id is not None else updates.SUPERGROUP_ID_LIMIT
            return forbidden(chat_id).description
        return _DESCRIPTIONS.get(self.status) or HTTPStatus(self.status).phrase


class _GroupRateLimit:
    """Telegram's limit on messages per minute in one group, on a clock the test may drive."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.rejected = 0
        self._sent: dict[int, deque[float]] = {}

    def check(self, chat_id: int) -> None:
        now = self.clock()
        window = self._sent.setdefault(chat_id, deque())
        while window and window[0] <= now - GROUP_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= self.per_minute:
            self.rejected += 1
            raise too_many_requests(max(1, math.ceil(window[0] + GROUP_WINDOW_SECONDS - now)))

    def note(self, chat_id: int) -> None:
        self._sent.setdefault(chat_id, deque()).append(self.clock())


class FakeTelegram(LoopbackServer):
    """A Bot API server that records every call and answers like Telegram, errors included.

    `token` makes any other bot token get 401. `strict_html` (the default) also refuses a bare
    ``&`` or ``>`` in HTML text, which real Telegram would show as typed.
    """

    def __init__(
        self, *, port: int = 0, token: str | None = None, strict_html: bool = True
    ) -> None:
        super().__init__(port=port)
        self.token = token
        self.api = BotApi(strict_html=strict_html)
        known = [*self.api.method_names(), "getUpdates"]
        self._method_names = {name.lower(): name for name in known}
        self._next_update_id = 1
        self._calls_changed = Signal()
        self._updates_changed = Signal()
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._failures: list[_Failure] = []
        self._delays: dict[str, float] = {}
        self._rate_limit: _GroupRateLimit | None = None
        self._allowed_updates: frozenset[str] | None = None

    @property
    def base_url(self) -> str:
        """The ``base_url`` for PTB's ``Bot``: it appends the token, then ``/<method>``."""
        return f"{self.root_url}/bot"

    def reset(self) -> None:
        """Forget calls, messages, queued updates, failures, delays and the rate limit.

        Update and message ids keep counting up, so a bot that is polling stays in step.
        """
        self.calls.clear()
        self._updates.clear()
        self._failures.clear()
        self._delays.clear()
        self._rate_limit = None
        self._allowed_updates = None
        self.api.reset()

    # Arranging.

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates, numbering it when it has no update_id."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self.api.learn(update)
        self._updates.append(update)
        self._updates_changed.notify()
        return update["update_id"]

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` ("*": any) fail, optionally in one chat only.

        `status` defaults to 429 with `retry_after`, 400 with `migrate_to_chat_id`, else 500;
        `description` replaces Telegram's wording for that status.
        """
        if status is None:
            status = 429 if retry_after else 400 if migrate_to_chat_id else 500
        if status == 429 and retry_after is None:
            retry_after = 1
        failure = _Failure(
            self._canonical(method),
            status,
            description,
            retry_after,
            migrate_to_chat_id,
            times,
            chat_id,
        )
        self._failures.append(failure)

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` ("*": any) `seconds` late; the call takes effect before the wait."""
        self._delays[self._canonical(method)] = seconds

    def group_rate_limit(
        self, per_minute: int | None = 20, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Refuse sends and edits past `per_minute` in one group with 429 (None: no limit)."""
        self._rate_limit = None if per_minute is None else _GroupRateLimit(per_minute, clock)

    def delete_user_message(self, chat_id: int, message_id: int) -> None:
        """Treat a user's message as deleted, so a reply to it is refused."""
        self.api.delete_user_message(chat_id, message_id)

    def set_member(self, chat_id: int, user: dict[str, Any] | int, status: str) -> None:
        """Give a user a status ("creator", "administrator", "member", "left", "kicked")."""
        self.api.set_member(chat_id, user, status)

    # Reading.

    @property
    def rate_limited(self) -> int:
        """How many 429s the group rate limit has answered."""
        return self._rate_limit.rejected if self._rate_limit else 0

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates that getUpdates has not been told to forget."""
        return list(self._updates)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """The params of every successful answerCallbackQuery."""
        return self.api.callback_answers

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, oldest first."""
        name = self._canonical(method)
        return [call for call in self.calls if call.method == name]

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in a chat as they are now, oldest first."""
        return self.api.messages(chat_id, include_deleted=include_deleted)

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """One message the bot sent; LookupError when it sent no such message."""
        found = self.api.find(chat_id, message_id)
        if found is None:
            raise LookupError(f"the bot sent no message {message_id} in chat {chat_id}")
        return found

    def visible_text(self, chat_id: int, message_id: int) -> str:
        """The text a user sees in a message: markup removed, entities unescaped."""
        return self.message(chat_id, message_id).text

    def last_message(self, chat_id: int) -> StoredMessage | None:
        """The newest message the bot has in a chat, if any."""
        current = self.messages(chat_id)
        return current[-1] if current else None

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool],
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> Call:
        """Return the `count`-th recorded call that matches, waiting for it to arrive.

        A call is recorded once the fake has acted on it and before any delay; getUpdates is
        recorded when its poll begins.
        """
        matches = self._matcher(predicate_or_method)

        def found() -> Call | None:
            hits = [call for call in self.calls if matches(call)]
            return hits[count - 1] if len(hits) >= count else None

        def describe() -> str:
            recorded = [call.method for call in self.calls]
            return f"no matching call #{count} within {timeout} s; recorded: {recorded}"

        return await self._calls_changed.wait_for(found, timeout, describe)

    def _matcher(self, wanted: str | Callable[[Call], bool]) -> Callable[[Call], bool]:
        if callable(wanted):
            return wanted
        name = self._canonical(wanted)
        return lambda call: call.method == name

    def _canonical(self, method: str) -> str:
        return self._method_names.get(method.lower(), method)

    # Serving.

    def build_app(self) -> web.Application:
        """Route the Bot API and the control endpoints."""
        app = web.Application(client_max_size=UPLOAD_LIMIT_BYTES)
        api = "/bot{token}/{method}"
        app.add_routes(
            [
                web.get(api, self._handle_api, allow_head=False),
                web.post(api, self._handle_api),
                web.post("/_control/updates", self._control_updates),
                web.get("/_control/calls", self._control_calls),
                web.get("/_control/messages", self._control_messages),
                web.post("/_control/fail", self._control_fail),
                web.post("/_control/delay", self._control_delay),
                web.post("/_control/reset", self._control_reset),
                web.get("/_control/rate_limit", self._control_rate_limit),
                web.post("/_control/rate_limit", self._control_rate_limit),
                web.post("/_control/delete_user_message", self._control_delete_user_message),
                web.post("/_control/member", self._control_member),
            ]
        )
        return app

    def on_closing(self) -> None:
        """Release long polls so the server stops at once."""
        self._updates_changed.notify()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = self._canonical(request.match_info["method"])
        params = await read_params(request)
        chat_id = params.get("chat_id")
        chat_id = chat_id if isinstance(chat_id, int) else None
        status, body = self._answer(request.match_info["token"], method, params, chat_id)
        self.calls.append(Call(method, params, arrived, chat_id, status))
        self._calls_changed.notify()
        await self.pause(self._delays.get(method, self._delays.get("*", 0.0)))
        if method == "getUpdates" and status == HTTPStatus.OK:
            body = {"ok": True, "result": await self._poll(params)}
        return _response(status, body)

    def _answer(
        self, token: str, method: str, params: dict[str, Any], chat_id: int | None
    ) -> tuple[int, dict[str, Any]]:
        try:
            if self.token is not None and token != self.token:
                raise ApiError(401, "Unauthorized")
            self._inject_failure(method, chat_id)
            result = self._run(method, params, chat_id)
        except ApiError as error:
            return error.status, error.body()
        return 200, {"ok": True, "result": result}

    def _inject_failure(self, method: str, chat_id: int | None) -> None:
        for failure in self._failures:
            if failure.matches(method, chat_id):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                raise failure.error(chat_id)

    def _run(self, method: str, params: dict[str, Any], chat_id: int | None) -> Any:
        if method == "getUpdates":
            self._remember_allowed_updates(params.get("allowed_updates"))
            self._confirm(params.get("offset"))
            return None
        limit = self._rate_limit
        if limit is None or method not in GROUP_LIMITED_METHODS or chat_id is None or chat_id > 0:
            result = self.api.call(method, params)
        else:
            limit.check(chat_id)
            result = self.api.call(method, params)
            limit.note(chat_id)
        if method == "deleteWebhook" and params.get("drop_pending_updates"):
            self._updates.clear()
        return result

    def _confirm(self, offset: object) -> None:
        """Forget the updates below `offset`; a negative one keeps only the last few."""
        if not isinstance(offset, int) or offset == 0:
            return
        if offset < 0:
            self._updates[:] = self._updates[offset:]
        else:
            self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]

    def _remember_allowed_updates(self, allowed: object) -> None:
        """Keep the update types asked for; an empty list means Telegram's default."""
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None

    def _deliverable(self) -> list[dict[str, Any]]:
        return [update for update in self._updates if self._is_wanted(update)]

    def _is_wanted(self, update: dict[str, Any]) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _deliverable_or_closing(self) -> bool | None:
        return True if self._deliverable() or self._closing.is_set() else None

    async def _poll(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        timeout = params.get("timeout")
        timeout = timeout if isinstance(timeout, int | float) else 0
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self._updates_changed.wait_for(self._deliverable_or_closing, timeout, str)
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 1 <= limit <= UPDATES_LIMIT else UPDATES_LIMIT
        return self._deliverable()[:limit]

    # Control endpoints.

    async def _control_updates(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        pushed = [self.push_update(update) for update in _as_list(body)]
        return json_ok(pushed)

    async def _control_calls(self, request: web.Request) -> web.Response:
        return json_ok([asdict(call) for call in self.calls])

    async def _control_messages(self, request: web.Request) -> web.Response:
        if not request.query.get("chat_id", "").lstrip("-").isdigit():
            return web.json_response({"ok": False, "description": "chat_id is needed"}, status=400)
        chat_id = int(request.query["chat_id"])
        found = self.messages(chat_id, include_deleted="include_deleted" in request.query)
        return json_ok([{**asdict(message), "message": message.to_dict()} for message in found])

    async def _control_fail(self, request: web.Request) -> web.Response:
        return await control_call(request, self.fail_next)

    async def _control_delay(self, request: web.Request) -> web.Response:
        return await control_call(request, self.delay)

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return json_ok(True)

    async def _control_rate_limit(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await read_json(request)
            self.group_rate_limit(body.get("per_minute") if isinstance(body, dict) else None)
        per_minute = self._rate_limit.per_minute if self._rate_limit else None
        return json_ok({"per_minute": per_minute, "rejected": self.rate_limited})

    async def _control_delete_user_message(self, request: web.Request) -> web.Response:
        return await control_call(request, self.delete_user_message)

    async def _control_member(self, request: web.Request) -> web.Response:
        return await control_call(request, self.set_member)


async def read_params(request: web.Request) -> dict[str, Any]:
    """The parameters of a Bot API request from its query, JSON, form or multipart body."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        params.update(await _body_params(request))
    params = {key: _decode(key, value) for key, value in params.items()}
    return {key: _attached(value, params) for key, value in params.items()}


async def _body_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.post()
    return {
        key: _upload(value) if isinstance(value, web.FileField) else value
        for key, value in form.items()
    }


def _upload(field: web.FileField) -> dict[str, Any]:
    size = len(field.file.read())
    return {"filename": field.filename, "content_type": field.content_type, "size": size}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_PARAMS:
            return json.loads(value)
        if key in _INT_PARAMS:
            return int(value)
        if key == "timeout":
            return float(value)
    except ValueError:
        return value
    if key in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _attached(value: Any, params: dict[str, Any]) -> Any:
    """Resolve an ``attach://name`` reference to the upload sent under that name."""
    if isinstance(value, str) and value.startswith("attach://"):
        return params.get(value.removeprefix("attach://"), value)
    return value


def _response(status: int, body: dict[str, Any]) -> web.Response:
    if status == HTTPStatus.BAD_GATEWAY:
        # What the proxy in front of the Bot API answers: a page, not JSON.
        return web.Response(status=status, text=_BAD_GATEWAY_PAGE, content_type="text/html")
    return web.json_response(body, status=status)


def _as_list(body: object) -> list[Any]:
    return body if isinstance(body, list) else [body]


def main(argv: list[str] | None = None) -> None:
    """Serve the fake Bot API until interrupted."""
    parser = command_line_parser("Serve a fake Telegram Bot API on 127.0.0.1.")
    parser.add_argument("--token", help="answer 401 to any other bot token")
    parser.add_argument(
        "--lenient-html", action="store_true", help="accept a bare & or > as Telegram does"
    )
    args = parser.parse_args(argv)
    fake = FakeTelegram(port=args.port, token=args.token, strict_html=not args.lenient_html)
    asyncio.run(serve_until_signalled(fake))


if __name__ == "__main__":
    main()
