"""/roster, /whois, /setrole, /remove, /rota for admins; /whoami for everyone on the roster."""

from __future__ import annotations

import asyncio
from itertools import groupby

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.permissions import Action
from bot.phones import mask
from handlers.common import NEW_MESSAGES, allowed_member, command_text, vigil_of
from storage.audit import Actor
from storage.models import Member, Role

EMPTY = "The roster is empty. Invite people with /invite in a private chat."
WHO_USAGE = "Reply to the person's message, or give their @username or name, e.g. {example}"
SETROLE_USAGE = (
    "Usage: /setrole <@username or name> <role>, or reply to their message with /setrole "
    "<role>. Roles: {roles}."
)
NOBODY_MATCHES = "Nobody on the roster matches “{query}”."
SEVERAL_MATCH = "Several people match: {names}. Use their @username or reply to their message."
ROLE_SET = "{name} is now {role} (was {old})."
REMOVED = "{name} is no longer on the roster."
NOT_YOURSELF = "You can't remove yourself; ask another admin."
LAST_ADMIN = "That would leave Vigil without an admin. Make someone else admin first."
NO_ROTA = "There is no rota yet. Load one with: vigil rota import FILE.csv"
PROFILE = "{name}\nRole: {role}\nOrganisation: {organisation}\nPhone: {phone}\nTelegram: {tg}"


def profile(member: Member, phone_whole: bool) -> str:
    """A member as /whois and /whoami show them; the phone whole only for an admin's eyes."""
    username = f"@{member.telegram_username}" if member.telegram_username else ""
    telegram = " ".join(p for p in (str(member.telegram_user_id or ""), username) if p) or "—"
    duty = "\nOn duty" if member.on_duty else ""
    return (
        PROFILE.format(
            name=member.name,
            role=member.role,
            organisation=member.organisation,
            phone=(member.phone or "—") if phone_whole else mask(member.phone),
            tg=telegram,
        )
        + duty
    )


async def roster(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the roster by organisation, phones masked."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return

    members = await asyncio.to_thread(vigil_of(context).stores.roster.members)

    lines = []
    for organisation, people in groupby(members, key=lambda m: m.organisation):
        lines.append(f"\n{organisation}")
        lines.extend(f"• {m.name} · {m.role} · {mask(m.phone)}" for m in people)
    await message.reply_text("Roster" + "\n".join(lines) if members else EMPTY)


async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the caller their own roster entry."""
    member = await allowed_member(update, context, Action.SEE_SELF)
    message = update.effective_message
    if member is None or message is None:
        return

    private = message.chat.type == "private"
    await message.reply_text(profile(member, private and member.role == Role.ADMIN))


async def whois(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show an admin one person's roster entry."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return

    target = await _target(update, context, command_text(update), "/whois @ali_police")

    if target is not None:
        await message.reply_text(profile(target, message.chat.type == "private"))


async def setrole(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Change a person's role."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return
    who, _, role = command_text(update).rpartition(" ")
    if role.lower() not in set(Role):
        await message.reply_text(SETROLE_USAGE.format(roles=", ".join(Role)))
        return
    target = await _target(update, context, who, "/setrole @ali_police supervisor")
    if target is None or target.id is None:
        return
    vigil = vigil_of(context)
    directory = vigil.stores.directory
    if await asyncio.to_thread(directory.leaves_no_admin, target.id, role.lower()):
        await message.reply_text(LAST_ADMIN)
        return

    changed = await asyncio.to_thread(
        vigil.stores.directory.set_role,
        target.id,
        role.lower(),
        vigil.clock.now(),
        Actor.of(admin),
    )

    name = changed.name if changed else target.name
    await message.reply_text(ROLE_SET.format(name=name, role=role.lower(), old=target.role))


async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a person off the roster; their history stays."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return
    target = await _target(update, context, command_text(update), "/remove @ali_police")
    if target is None or target.id is None:
        return
    if target.id == admin.id:
        await message.reply_text(NOT_YOURSELF)
        return

    vigil = vigil_of(context)
    await asyncio.to_thread(
        vigil.stores.directory.remove, target.id, vigil.clock.now(), Actor.of(admin)
    )

    await message.reply_text(REMOVED.format(name=target.name))


async def rota(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show an admin the duty rota as loaded."""
    admin = await allowed_member(update, context, Action.MANAGE_ROTA)
    message = update.effective_message
    if admin is None or message is None:
        return

    vigil = vigil_of(context)
    shifts = await asyncio.to_thread(vigil.stores.directory.shifts)
    members = {m.id: m.name for m in await asyncio.to_thread(vigil.stores.roster.members)}

    lines = [f"• {members.get(s.member_id, '?')}: {s.days} {s.start}–{s.end}" for s in shifts]
    await message.reply_text("Rota\n" + "\n".join(lines) if lines else NO_ROTA)


async def _target(
    update: Update, context: ContextTypes.DEFAULT_TYPE, query: str, example: str
) -> Member | None:
    """The person a command is about: the replied-to author, an @username or a name."""
    message = update.effective_message
    assert message is not None
    vigil = vigil_of(context)
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and not query.strip():
        found = await asyncio.to_thread(
            vigil.stores.directory.by_telegram_id, replied.from_user.id
        )
        people = [found] if found else []
        query = replied.from_user.full_name
    elif query.strip():
        people = await asyncio.to_thread(vigil.stores.directory.find, query)
    else:
        await message.reply_text(WHO_USAGE.format(example=example))
        return None
    if len(people) == 1:
        return people[0]
    if not people:
        await message.reply_text(NOBODY_MATCHES.format(query=query.strip()))
    else:
        names = ", ".join(p.name for p in people[:10])
        await message.reply_text(SEVERAL_MATCH.format(names=names))
    return None


def handlers() -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("roster", roster, filters=NEW_MESSAGES),
        CommandHandler("whoami", whoami, filters=NEW_MESSAGES),
        CommandHandler("whois", whois, filters=NEW_MESSAGES),
        CommandHandler("setrole", setrole, filters=NEW_MESSAGES),
        CommandHandler("remove", remove, filters=NEW_MESSAGES),
        CommandHandler("rota", rota, filters=NEW_MESSAGES),
    ]
