"""The composition root: one factory builds the whole bot from a settings object."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine
from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.clock import Clock, SystemClock
from bot.meetings import Meetings
from bot.ratelimit import PriorityRateLimiter
from bot.service import Stores, Vigil
from bot.sms import SmsProvider
from config.policy import load_policy
from config.settings import Settings
from handlers import (
    acknowledgements,
    alerts,
    duty,
    errors,
    guard,
    help,
    membership,
    onboarding,
    roster,
    status,
)
from handlers import meetings as meeting_handlers
from storage.db import make_engine
from storage.meetings import MeetingStore
from storage.report import ReportStore

logger = logging.getLogger(__name__)

# python-telegram-bot's Application is generic in six types Vigil leaves at their defaults.
VigilApp = Application[Any, Any, Any, Any, Any, Any]

COMMANDS = [
    BotCommand("alert", "Raise an alert: /alert [critical|high|normal] what and where"),
    BotCommand("ack", "Acknowledge an alert"),
    BotCommand("resolve", "Resolve an alert: /resolve N [note]"),
    BotCommand("status", "Open alerts, or /status N for one alert"),
    BotCommand("onduty", "Start your duty"),
    BotCommand("offduty", "End your duty"),
    BotCommand("oncall", "Who is on duty now, and who comes next"),
    BotCommand("whoami", "Your roster entry"),
    BotCommand("roster", "Admins: the roster by organisation"),
    BotCommand("invite", "Admins, in private: /invite <role> <organisation>"),
    BotCommand("meeting", "The next security meeting; admins set, move or cancel it"),
    BotCommand("agenda", "The next meeting's agenda; admins: /agenda add item"),
    BotCommand("report", "A month's figures and chart: /report [YYYY-MM]"),
    BotCommand("help", "What you can do here"),
]


def build_application(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    sms: SmsProvider | None = None,
    rate_limiter: PriorityRateLimiter | None = None,
) -> VigilApp:
    """Build the bot: handlers, services, timers. Nothing touches the network yet."""
    builder = ApplicationBuilder().token(settings.telegram_token).concurrent_updates(True)
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot"))
    # Always installed, so cards and lines can be marked urgent; tests switch the limits off.
    limiter = rate_limiter or (
        PriorityRateLimiter() if settings.telegram_rate_limit else PriorityRateLimiter.off()
    )
    builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]  # PTB's generics
    application = builder.post_init(_start).post_shutdown(_stop).build()

    policy = load_policy(settings.policy_path)
    stores = Stores.on(engine or make_engine(settings.database_url))
    vigil = Vigil(settings, stores, policy, clock or SystemClock(), application.bot, sms)
    application.bot_data["vigil"] = vigil
    database = stores.alerts.engine
    application.bot_data["meetings"] = Meetings(
        settings, MeetingStore(database), ReportStore(database), vigil.poster, vigil.clock
    )

    application.add_handlers(guard.handlers())
    for module in (alerts, acknowledgements, status, duty, onboarding, roster, help, membership):
        application.add_handlers(module.handlers())
    application.add_handlers(meeting_handlers.handlers())
    application.add_error_handler(errors.on_error)
    return application


async def _start(application: VigilApp) -> None:
    vigil: Vigil = application.bot_data["vigil"]
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as error:
        logger.warning("Could not set the command menu: %s", error)
    await vigil.start(application.job_queue)
    await application.bot_data["meetings"].start(application.job_queue)
    logger.info("Vigil is running for group %s", vigil.group.id)


async def _stop(application: VigilApp) -> None:
    vigil: Vigil = application.bot_data["vigil"]
    await vigil.stop()


def vigil_of(application: VigilApp) -> Vigil:
    vigil = application.bot_data["vigil"]
    assert isinstance(vigil, Vigil)
    return vigil
