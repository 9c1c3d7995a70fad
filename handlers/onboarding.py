"""/invite, /revoke, and the invitee's side: open the link, share the number, join."""

from __future__ import annotations

import asyncio

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot import onboarding
from bot.permissions import Action
from bot.phones import mask
from handlers.common import NEW_MESSAGES, allowed_member, command_text, vigil_of
from storage.audit import Actor
from storage.directory import InviteState
from storage.models import Role

INVITE_USAGE = (
    "Usage: /invite <role> <organisation>, e.g. /invite officer Sindh Police\nRoles: {roles}."
)
PRIVATE_ONLY = "Send /invite to me in a private chat, so the link is not seen by the group."
UNKNOWN_ORG = "There is no organisation called “{name}”. Known: {known}."
INVITED = (
    "Invitation to join as {role} of {organisation}, "
    "valid for 24 hours and for one person:\n{link}"
)
REVOKE_USAGE = "Usage: /revoke <code>, the part of the link after start="
REVOKED = "The invitation is revoked; its link no longer works."
ASK_CONTACT = (
    "Welcome! You are invited to join Vigil as {role} of {organisation}. "
    "Press the button below to share the phone number Telegram has verified for you."
)
SHARE_BUTTON = "📱 Share my phone number"
NOT_YOUR_CONTACT = "Please use the button to share your own number, not someone else's."
JOINED = "✅ You are on Vigil's roster as {role} of {organisation}. Send /help to begin."
ADMINS_JOINED = "👤 {name} joined the roster as {role} of {organisation} (phone {phone})."
REFUSED = {
    InviteState.UNKNOWN: (
        "This invitation link is not valid. Ask an admin of the security cell for a new one."
    ),
    InviteState.EXPIRED: (
        "This invitation has expired (links last 24 hours). Ask an admin for a new one."
    ),
    InviteState.USED: "This invitation has already been used. Ask an admin for a new one.",
    InviteState.REVOKED: "This invitation was revoked. Ask an admin if you need a new one.",
    InviteState.ALREADY_MEMBER: (
        "You are already on Vigil's roster, so this invitation changes nothing (send /whoami "
        "to see your entry). To change your role, ask an admin."
    ),
    InviteState.PHONE_TAKEN: (
        "That phone number is on the roster for someone else, so I could not add you. "
        "The admins have been told."
    ),
}
ADMINS_PHONE_TAKEN = (
    "⚠️ {name} opened an invitation but shared a phone number ({phone}) that is already on the "
    "roster for someone else. Check the roster with /whois."
)


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Give an admin a single-use link that brings one person onto the roster."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return
    if message.chat.type != "private":
        await message.reply_text(PRIVATE_ONLY)
        return
    role, _, name = command_text(update).partition(" ")
    if role.lower() not in set(Role) or not name.strip():
        await message.reply_text(INVITE_USAGE.format(roles=", ".join(Role)))
        return
    vigil = vigil_of(context)
    organisation = await asyncio.to_thread(vigil.stores.directory.organisation, name)
    if organisation is None:
        known = await asyncio.to_thread(vigil.stores.directory.organisations)
        names = ", ".join(o.name for o in known) or "none yet (vigil orgs import)"
        await message.reply_text(UNKNOWN_ORG.format(name=name.strip(), known=names))
        return

    created = await onboarding.invite(vigil, admin, role.lower(), organisation.name)

    link = onboarding.deep_link(context.bot.username, created.code)
    await message.reply_text(
        INVITED.format(role=created.role, organisation=created.organisation, link=link)
    )


async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Revoke an invitation that has not been used yet."""
    admin = await allowed_member(update, context, Action.MANAGE_ROSTER)
    message = update.effective_message
    if admin is None or message is None:
        return
    code = command_text(update).rpartition("start=")[2].strip()
    if not code:
        await message.reply_text(REVOKE_USAGE)
        return

    vigil = vigil_of(context)
    state = await asyncio.to_thread(
        vigil.stores.directory.revoke_invite, code, vigil.clock.now(), Actor.of(admin)
    )

    await message.reply_text(REVOKED if state is InviteState.VALID else REFUSED[state])


async def start_with_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The invitee opened their link: ask for their number with Telegram's contact button."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    code = command_text(update).split()[0]

    vigil = vigil_of(context)
    directory = vigil.stores.directory
    state = await asyncio.to_thread(directory.open_invite, code, user.id, vigil.clock.now())

    if state is not InviteState.VALID:
        await message.reply_text(REFUSED[state])
        return
    opened = await asyncio.to_thread(directory.opened_invite, user.id)
    assert opened is not None
    button = KeyboardButton(SHARE_BUTTON, request_contact=True)
    keyboard = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    text = ASK_CONTACT.format(role=opened.role, organisation=opened.organisation)
    await message.reply_text(text, reply_markup=keyboard)


async def shared_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The invitee shared their number: put them on the roster and tell the admins."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.contact is None:
        return
    if message.contact.user_id != user.id:
        await message.reply_text(NOT_YOUR_CONTACT)
        return

    vigil = vigil_of(context)
    state, member = await onboarding.join(
        vigil, user.id, user.full_name, user.username, message.contact.phone_number
    )

    if member is None:
        await message.reply_text(REFUSED[state], reply_markup=ReplyKeyboardRemove())
        if state is InviteState.PHONE_TAKEN:
            phone = mask(message.contact.phone_number)
            text = ADMINS_PHONE_TAKEN.format(name=user.full_name, phone=phone)
            await onboarding.tell_admins(vigil, f"phone_taken:{user.id}", message.date, text)
        return
    done = JOINED.format(role=member.role, organisation=member.organisation)
    await message.reply_text(done, reply_markup=ReplyKeyboardRemove())
    phone = mask(member.phone)
    await onboarding.tell_admins(
        vigil,
        f"joined:{member.id}",
        message.date,
        ADMINS_JOINED.format(
            name=member.name, role=member.role, organisation=member.organisation, phone=phone
        ),
    )


PRIVATE = filters.ChatType.PRIVATE
WITH_CODE = filters.Regex(r"^/start(@\w+)?\s+[A-Za-z0-9_-]+")


def handlers() -> list[
    CommandHandler[ContextTypes.DEFAULT_TYPE, None]
    | MessageHandler[ContextTypes.DEFAULT_TYPE, None]
]:
    """Register before /help, which answers a bare /start."""
    return [
        CommandHandler("invite", invite, filters=NEW_MESSAGES),
        CommandHandler("revoke", revoke, filters=NEW_MESSAGES),
        CommandHandler("start", start_with_code, filters=NEW_MESSAGES & PRIVATE & WITH_CODE),
        MessageHandler(NEW_MESSAGES & PRIVATE & filters.CONTACT, shared_contact),
    ]
