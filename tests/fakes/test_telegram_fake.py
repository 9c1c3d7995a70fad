"""The fake Bot API answers the real python-telegram-bot 22 the way Telegram does."""

from __future__ import annotations

import asyncio
import datetime as dtm
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import pytest
import telegram
from telegram import (
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.fakes import updates
from tests.fakes.conftest import BOT_TOKEN
from tests.fakes.telegram import FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
GROUP = updates.group()
GROUP_ID = GROUP["id"]
SMALL_GROUP_ID = -4001
ANN = updates.user(101, "Ann", username="ann")


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of buttons whose labels are their callback data."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(item, callback_data=item) for item in data]]
    )


async def refusal(request: Awaitable[object], kind: type[TelegramError] = BadRequest) -> str:
    """The message of the error `request` fails with, as PTB words it."""
    with pytest.raises(kind) as caught:
        await request
    return caught.value.message


@pytest.fixture
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Have PTB report RetryAfter.retry_after as a timedelta, without its deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_initialising_the_bot_reads_the_fake_identity(bot: telegram.Bot) -> None:
    assert (bot.id, bot.username, bot.first_name) == (7000001, "vigil_test_bot", "Vigil")
    assert bot.bot.can_join_groups and not bot.bot.can_read_all_group_messages
    assert bot.bot.supports_inline_queries is False


async def test_html_messages_keep_raw_text_and_show_visible_text(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(GROUP_ID, "<b>Fire</b> in A &amp; B", parse_mode=ParseMode.HTML)

    stored = tg.last_message(GROUP_ID)
    assert (sent.message_id, sent.chat.type, sent.text) == (1000, "supergroup", "Fire in A & B")
    assert (sent.entities[0].type, sent.entities[0].length) == ("bold", 4)
    assert (stored.raw_text, stored.parse_mode) == ("<b>Fire</b> in A &amp; B", "HTML")
    assert tg.visible_text(GROUP_ID, 1000) == "Fire in A & B"


async def test_message_ids_count_up_per_chat_and_chat_types_follow_the_id(
    bot: telegram.Bot,
) -> None:
    first = await bot.send_message(GROUP_ID, "one")
    second = await bot.send_message(GROUP_ID, "two")
    private = await bot.send_message(ANN["id"], "hi")
    small = await bot.send_message(SMALL_GROUP_ID, "hi")

    assert [first.message_id, second.message_id, private.message_id] == [1000, 1001, 1000]
    assert [private.chat.type, small.chat.type] == ["private", "group"]
    assert first.from_user.id == bot.id


async def test_ptb_sends_reply_markup_as_json_in_a_form_and_the_fake_decodes_it(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(GROUP_ID, "alert", reply_markup=keyboard("ack:1"))

    call = tg.calls_to("sendMessage")[-1]
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "ack:1", "callback_data": "ack:1"}]]
    }
    assert sent.reply_markup == keyboard("ack:1")
    assert tg.last_message(GROUP_ID).buttons == [{"text": "ack:1", "callback_data": "ack:1"}]


async def test_an_edit_that_changes_nothing_is_refused_as_not_modified(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(
        GROUP_ID, "<b>Open</b>", parse_mode="HTML", reply_markup=keyboard("a")
    )

    same = bot.edit_message_text(
        "<b>Open</b>",
        chat_id=GROUP_ID,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard("a"),
    )

    assert await refusal(same) == (
        "Message is not modified: specified new message content and reply markup are exactly "
        "the same as a content and reply markup of the current content and reply markup of the "
        "message"
    )
    assert tg.last_message(GROUP_ID).edit_count == 0


async def test_editing_text_without_reply_markup_removes_the_keyboard(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(GROUP_ID, "Open", reply_markup=keyboard("ack"))

    edited = await bot.edit_message_text(
        "Acknowledged", chat_id=GROUP_ID, message_id=sent.message_id
    )

    stored = tg.message(GROUP_ID, sent.message_id)
    assert edited.reply_markup is None and stored.buttons == []
    assert (stored.text, stored.edit_count) == ("Acknowledged", 1)
    assert edited.edit_date is not None


async def test_editing_only_the_keyboard_keeps_the_text(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_message(GROUP_ID, "Open", reply_markup=keyboard("ack"))

    await bot.edit_message_reply_markup(
        GROUP_ID, sent.message_id, reply_markup=keyboard("resolve")
    )

    stored = tg.message(GROUP_ID, sent.message_id)
    assert (stored.text, stored.buttons[0]["callback_data"]) == ("Open", "resolve")
    again = bot.edit_message_reply_markup(
        GROUP_ID, sent.message_id, reply_markup=keyboard("resolve")
    )
    assert (await refusal(again)).startswith("Message is not modified")


async def test_editing_an_unknown_or_deleted_message_is_refused(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    unknown = await refusal(bot.edit_message_text("x", chat_id=GROUP_ID, message_id=4242))
    sent = await bot.send_message(GROUP_ID, "x")
    assert await bot.delete_message(GROUP_ID, sent.message_id)

    deleted = await refusal(
        bot.edit_message_text("y", chat_id=GROUP_ID, message_id=sent.message_id)
    )
    twice = await refusal(bot.delete_message(GROUP_ID, sent.message_id))

    assert unknown == deleted == "Message to edit not found"
    assert twice == "Message to delete not found"
    assert tg.messages(GROUP_ID) == []
    assert tg.messages(GROUP_ID, include_deleted=True)[0].deleted


@pytest.mark.usefixtures("timedelta_periods")
async def test_flood_control_raises_retry_after_with_telegrams_seconds(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.fail_next("sendMessage", retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP_ID, "x")

    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert tg.calls_to("sendMessage")[-1].status == 429
    assert (await bot.send_message(GROUP_ID, "x")).message_id == 1000


async def test_a_kicked_bot_is_forbidden_in_words_that_fit_the_chat(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.fail_next("sendMessage", status=403, chat_id=SMALL_GROUP_ID)

    await bot.send_message(GROUP_ID, "other chats still work")
    group = await refusal(bot.send_message(SMALL_GROUP_ID, "x"), Forbidden)
    tg.fail_next("sendMessage", status=403)
    supergroup = await refusal(bot.send_message(GROUP_ID, "x"), Forbidden)

    assert group == "Forbidden: bot was kicked from the group chat"
    assert supergroup == "Forbidden: bot was kicked from the supergroup chat"


async def test_an_injected_migration_raises_chat_migrated_with_the_new_id(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.fail_next("sendMessage", migrate_to_chat_id=-1009999)

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(SMALL_GROUP_ID, "x")

    assert caught.value.new_chat_id == -1009999


async def test_after_a_migration_update_the_old_group_points_to_the_new_one(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.push_update(updates.migrate_to(SMALL_GROUP_ID, -1004001, ANN))

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(SMALL_GROUP_ID, "x")

    assert caught.value.new_chat_id == -1004001


@pytest.mark.parametrize(
    ("status", "words"), [(500, "Internal Server Error"), (502, "Bad Gateway")]
)
async def test_server_errors_surface_as_plain_network_errors(
    tg: FakeTelegram, bot: telegram.Bot, status: int, words: str
) -> None:
    tg.fail_next("sendMessage", status=status)

    with pytest.raises(NetworkError, match=words) as caught:
        await bot.send_message(GROUP_ID, "x")

    assert type(caught.value) is NetworkError


async def test_a_failure_for_every_method_can_repeat(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail_next("*", status=500, times=2)

    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_me()

    assert (await bot.send_message(GROUP_ID, "up again")).text == "up again"


async def test_get_updates_returns_pushed_updates_and_forgets_confirmed_ones(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    first = tg.push_update(updates.command("/alert Fire in hall", from_user=ANN, chat=GROUP))
    tg.push_update(updates.text_message("hello", from_user=ANN, chat=GROUP))

    received = await bot.get_updates()
    remaining = await bot.get_updates(offset=first + 1, limit=5)

    assert [update.update_id for update in received] == [first, first + 1]
    assert received[0].message.text == "/alert Fire in hall"
    assert [update.update_id for update in remaining] == [first + 1]
    assert [update["update_id"] for update in tg.pending_updates] == [first + 1]


async def test_get_updates_long_polls_until_an_update_arrives(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for("getUpdates", count=2)
    assert not poll.done()

    tg.push_update(updates.text_message("hi", from_user=ANN, chat=GROUP))

    received = await asyncio.wait_for(poll, 5)
    assert [update.message.text for update in received] == ["hi"]


async def test_chat_member_updates_come_only_when_asked_for_by_name(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    joined = updates.my_chat_member(GROUP, from_user=ANN)
    joined["chat_member"] = joined.pop("my_chat_member")
    tg.push_update(joined)
    tg.push_update(updates.text_message("hi", from_user=ANN, chat=GROUP))

    by_default = await bot.get_updates()
    asked = await bot.get_updates(allowed_updates=["chat_member", "message"])
    remembered = await bot.get_updates()

    assert [update.message.text for update in by_default] == ["hi"]
    assert [update.chat_member is not None for update in asked] == [True, False]
    assert len(remembered) == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<x>hi</x>", 'Can\'t parse entities: unsupported start tag "x" at byte offset 0'),
        ("<b>hi", "Can't parse entities: can't find end tag corresponding to start tag \"b\""),
        ("Tom & Jerry", 'Can\'t parse entities: unescaped "&" at byte offset 4'),
    ],
)
async def test_bad_html_is_refused_and_nothing_is_sent(
    tg: FakeTelegram, bot: telegram.Bot, text: str, error: str
) -> None:
    refused = await refusal(bot.send_message(GROUP_ID, text, parse_mode=ParseMode.HTML))

    assert refused == error
    assert tg.messages(GROUP_ID) == []


async def test_text_over_4096_utf16_code_units_is_too_long(bot: telegram.Bot) -> None:
    await bot.send_message(GROUP_ID, "a" * 4096)
    await bot.send_message(GROUP_ID, f"<b>{'a' * 4096}</b>", parse_mode="HTML")

    assert await refusal(bot.send_message(GROUP_ID, "a" * 4097)) == "Message is too long"
    assert await refusal(bot.send_message(GROUP_ID, "🚨" * 2049)) == "Message is too long"


async def test_text_that_is_only_markup_and_spaces_is_empty(bot: telegram.Bot) -> None:
    refused = await refusal(bot.send_message(GROUP_ID, "<b> </b>\n", parse_mode="HTML"))

    assert refused == "Message text is empty"


async def test_callback_data_over_64_bytes_is_refused(bot: telegram.Bot) -> None:
    await bot.send_message(GROUP_ID, "x", reply_markup=keyboard("é" * 32))

    refused = await refusal(bot.send_message(GROUP_ID, "x", reply_markup=keyboard("é" * 33)))

    assert refused == "Button_data_invalid"


async def test_a_reply_carries_the_message_it_answers(tg: FakeTelegram, bot: telegram.Bot) -> None:
    card = await bot.send_message(GROUP_ID, "card")

    to_user = await bot.send_message(GROUP_ID, "ok", reply_parameters=ReplyParameters(77))
    to_card = await bot.send_message(GROUP_ID, "ok", reply_to_message_id=card.message_id)

    assert to_user.reply_to_message.message_id == 77
    assert to_card.reply_to_message.text == "card"
    assert [message.reply_to for message in tg.messages(GROUP_ID)] == [None, 77, card.message_id]


async def test_replying_to_a_deleted_message_fails_unless_allowed_without_reply(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.delete_user_message(GROUP_ID, 55)

    strict = await refusal(bot.send_message(GROUP_ID, "x", reply_parameters=ReplyParameters(55)))
    relaxed = ReplyParameters(55, allow_sending_without_reply=True)
    sent = await bot.send_message(GROUP_ID, "x", reply_parameters=relaxed)

    assert strict == "Message to be replied not found"
    assert sent.reply_to_message is None


async def test_photos_arrive_as_multipart_with_caption_and_size(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_photo(
        GROUP_ID, photo=b"\x89PNG" + bytes(96), caption="<i>map</i>", parse_mode="HTML"
    )

    stored = tg.last_message(GROUP_ID)
    assert (stored.kind, stored.text, stored.media["size"]) == ("photo", "map", 100)
    assert (sent.caption, sent.photo[-1].file_size) == ("map", 100)


async def test_documents_keep_their_name_and_refuse_long_captions(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    sent = await bot.send_document(GROUP_ID, document=b"a,b\n", filename="log.csv")
    long_caption = bot.send_document(GROUP_ID, document=b"x", filename="x", caption="a" * 1025)

    assert (sent.document.file_name, sent.document.file_size) == ("log.csv", 4)
    assert await refusal(long_caption) == "Message caption is too long"


async def test_a_button_press_round_trips_through_ptb(tg: FakeTelegram, bot: telegram.Bot) -> None:
    sent = await bot.send_message(GROUP_ID, "alert", reply_markup=keyboard("ack:1"))
    pressed = updates.callback_query("ack:1", from_user=ANN, message=tg.last_message(GROUP_ID))
    tg.push_update(pressed)

    (update,) = await bot.get_updates()
    assert await update.callback_query.answer("Acknowledged")

    assert update.callback_query.message.message_id == sent.message_id
    assert update.callback_query.data == "ack:1"
    assert tg.callback_answers == [
        {"callback_query_id": update.callback_query.id, "text": "Acknowledged"}
    ]


@pytest.mark.usefixtures("timedelta_periods")
async def test_the_group_rate_limit_answers_429_until_a_slot_frees(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    now = [1000.0]
    tg.group_rate_limit(per_minute=3, clock=lambda: now[0])
    for second in (0, 10, 20):
        now[0] = 1000.0 + second
        await bot.send_message(GROUP_ID, "x")
    now[0] = 1035.5

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP_ID, "x")
    await bot.send_message(ANN["id"], "private chats are not limited")
    now[0] = 1060.0
    await bot.send_message(GROUP_ID, "the first slot is free again")

    assert caught.value.retry_after == dtm.timedelta(seconds=25)
    assert tg.rate_limited == 1


async def test_a_slow_answer_times_out_in_ptb_yet_the_message_was_sent(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.delay("sendMessage", 30)

    with pytest.raises(TimedOut):
        await bot.send_message(GROUP_ID, "sent anyway", read_timeout=0.2)

    assert tg.last_message(GROUP_ID).text == "sent anyway"


async def test_wait_for_returns_the_nth_matching_call(tg: FakeTelegram, bot: telegram.Bot) -> None:
    waiter = asyncio.create_task(tg.wait_for(lambda call: call.chat_id == GROUP_ID, count=2))

    await bot.send_message(GROUP_ID, "one")
    await bot.send_message(ANN["id"], "elsewhere")
    await bot.send_message(GROUP_ID, "two")

    assert (await waiter).params["text"] == "two"


async def test_wait_for_names_the_calls_it_saw_when_it_gives_up(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    with pytest.raises(TimeoutError, match=r"recorded: \['getMe'\]"):
        await tg.wait_for("sendPhoto", timeout=0.01)


async def test_an_unknown_method_is_not_found(bot: telegram.Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendCarrierPigeon")


async def test_a_token_the_fake_does_not_expect_is_unauthorized() -> None:
    async with FakeTelegram(token="1:right") as tg:
        with pytest.raises(InvalidToken):
            await telegram.Bot("1:wrong", base_url=tg.base_url).initialize()


async def test_chat_and_member_lookups_parse_in_ptb(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(updates.text_message("hi", from_user=ANN, chat=GROUP))
    tg.set_member(GROUP_ID, ANN, "administrator")

    chat = await bot.get_chat(GROUP_ID)
    admin = await bot.get_chat_member(GROUP_ID, ANN["id"])
    stranger = await bot.get_chat_member(GROUP_ID, 999)
    admins = await bot.get_chat_administrators(GROUP_ID)

    assert (chat.title, chat.type) == ("Coordination", "supergroup")
    assert (admin.status, admin.user.username) == ("administrator", "ann")
    assert stranger.status == "member"
    assert [member.user.id for member in admins] == [ANN["id"]]


async def test_after_leaving_a_group_the_bot_is_forbidden_there(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    assert await bot.leave_chat(GROUP_ID)

    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(GROUP_ID, "x")
    assert (await bot.get_chat_member(GROUP_ID, bot.id)).status == "left"

    tg.push_update(updates.my_chat_member(GROUP, from_user=ANN, new_status="member"))
    assert (await bot.send_message(GROUP_ID, "back")).text == "back"


async def test_commands_are_stored_per_scope(bot: telegram.Bot) -> None:
    groups = BotCommandScopeAllGroupChats()
    await bot.set_my_commands([("alert", "Raise an alert"), ("ack", "Acknowledge")])
    await bot.set_my_commands([("status", "Show an alert")], scope=groups)

    assert [c.command for c in await bot.get_my_commands()] == ["alert", "ack"]
    assert [c.command for c in await bot.get_my_commands(scope=groups)] == ["status"]
    capitals = await refusal(bot.set_my_commands([("Alert", "capitals are refused")]))
    assert capitals == "Bot_command_invalid"


async def test_a_ptb_application_polls_the_fake_and_answers_a_command(tg: FakeTelegram) -> None:
    async def alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(
            f"<b>Alert</b> raised by {update.effective_user.first_name}"
        )

    application = ApplicationBuilder().token(BOT_TOKEN).base_url(tg.base_url).build()
    application.add_handler(CommandHandler("alert", alert))
    command = updates.command("/alert Fire", from_user=ANN, chat=GROUP)

    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=10)
        tg.push_update(command)
        await tg.wait_for("sendMessage")
        await application.updater.stop()
        await application.stop()

    reply = tg.last_message(GROUP_ID)
    assert reply.text == "Alert raised by Ann"
    assert reply.reply_to == command["message"]["message_id"]
    assert tg.pending_updates == []


async def test_the_control_endpoints_drive_the_fake_over_http(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    said = updates.text_message("hello", from_user=ANN, chat=GROUP)
    async with aiohttp.ClientSession(tg.root_url) as http:
        pushed = await (await http.post("/_control/updates", json=[said, said])).json()
        assert len(await bot.get_updates()) == 2
        await http.post("/_control/fail", json={"method": "sendMessage", "status": 403})
        with pytest.raises(Forbidden):
            await bot.send_message(GROUP_ID, "x")
        await bot.send_message(GROUP_ID, "<i>ok</i>", parse_mode="HTML")
        listed = await (await http.get("/_control/messages", params={"chat_id": GROUP_ID})).json()
        calls = await (await http.get("/_control/calls")).json()
        refused = await http.post("/_control/fail", json={"method": "x", "colour": "red"})
        limit = await http.post("/_control/rate_limit", json={"per_minute": 5})
        await http.post("/_control/reset")

    assert pushed == {"ok": True, "result": [1, 2]}
    assert [message["text"] for message in listed["result"]] == ["ok"]
    assert listed["result"][0]["message"]["text"] == "ok"
    assert [call["status"] for call in calls["result"]][-2:] == [403, 200]
    assert refused.status == 400
    assert (await limit.json())["result"] == {"per_minute": 5, "rejected": 0}
    assert tg.calls == [] and tg.messages(GROUP_ID) == []


async def test_the_fake_runs_on_its_own_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        async with telegram.Bot(BOT_TOKEN, base_url=base_url) as standalone_bot:
            sent = await standalone_bot.send_message(GROUP_ID, "over the wire")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
    assert sent.text == "over the wire"
