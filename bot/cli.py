"""The `vigil` command: run the bot, upgrade the database, manage the roster."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.exc import SQLAlchemyError

from bot import admin_cli
from bot.clock import SystemClock
from bot.logs import setup_logging
from bot.phones import mask
from bot.report import Month, export
from bot.roster_file import RosterFileError, read_roster
from config.policy import PolicyError, load_policy
from config.settings import SettingsError, load_settings, local_zone, storage_settings
from storage import db
from storage.directory import DirectoryStore
from storage.report import ReportStore
from storage.roster import RosterStore

USAGE_ERROR = 2
logger = logging.getLogger("vigil")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vigil` console script."""
    load_dotenv(Path.cwd() / ".env", override=False)  # the real environment wins
    args = _parser().parse_args(argv)
    try:
        return int(args.action(args) or 0)
    except (SettingsError, PolicyError, RosterFileError) as error:
        print(f"vigil: {error}", file=sys.stderr)
        return USAGE_ERROR
    except SQLAlchemyError as error:
        print(
            f"vigil: DATABASE_URL: cannot use the database: {_first_line(error)}", file=sys.stderr
        )
        return USAGE_ERROR
    except ImportError as error:
        print(f"vigil: DATABASE_URL: its driver is not installed ({error.name})", file=sys.stderr)
        return USAGE_ERROR
    except OSError as error:
        print(f"vigil: {error.filename or 'file'}: {error.strerror}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _first_line(error: SQLAlchemyError) -> str:
    """The driver's own reason, one line, with any password in a URL hidden."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return re.sub(r"(://[^:/@\s]+:)[^@\s]*@", r"\1***@", reason)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: emergency alerts and SMS escalation for a Telegram group.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="upgrade the database and start the bot")
    run.set_defaults(action=_run)

    report = commands.add_parser(
        "report",
        help="a month's figures: print them, export a CSV, draw the chart",
        description="Without --month: last month, in VIGIL_TIMEZONE.",
    )
    report.add_argument("--month", metavar="YYYY-MM", help="e.g. 2026-11")
    report.add_argument("--csv", type=Path, metavar="FILE", help="one row per alert")
    report.add_argument("--png", type=Path, metavar="FILE", help="the chart")
    report.set_defaults(action=_report)

    database = commands.add_parser("db", help="database schema")
    database_commands = database.add_subparsers(title="commands", required=True, metavar="COMMAND")
    upgrade = database_commands.add_parser("upgrade", help="create or upgrade the schema")
    upgrade.set_defaults(action=_db_upgrade)

    roster = commands.add_parser("roster", help="the people Vigil knows")
    roster_commands = roster.add_subparsers(title="commands", required=True, metavar="COMMAND")
    importer = roster_commands.add_parser(
        "import",
        help="add or update people from a CSV file",
        description="CSV header: name,role,organisation,phone,telegram",
    )
    importer.add_argument("file", type=Path, help="the CSV file")
    importer.set_defaults(action=_roster_import)
    listing = roster_commands.add_parser("list", help="print the roster, phones masked")
    listing.set_defaults(action=_roster_list)
    admin_cli.add_roster_commands(roster_commands)
    admin_cli.add_commands(commands)
    return parser


def _run(_args: argparse.Namespace) -> int:
    settings = load_settings()
    load_policy(settings.policy_path)  # a bad policy stops start-up before anything else
    secrets = [settings.telegram_token]
    if settings.twilio:
        secrets.append(settings.twilio.auth_token)
    setup_logging(secrets, level=settings.log_level)
    db.upgrade(settings.database_url)

    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.app import build_application

    application = build_application(settings)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        print(
            "vigil: Telegram refused TELEGRAM_BOT_TOKEN: copy it again from BotFather",
            file=sys.stderr,
        )
        return USAGE_ERROR
    except NetworkError as error:
        print(
            f"vigil: cannot reach the Telegram Bot API ({type(error).__name__}): check the "
            "network, or TELEGRAM_API_BASE_URL",
            file=sys.stderr,
        )
        return USAGE_ERROR
    except Exception:
        logger.critical("Vigil stopped on an unexpected error", exc_info=True)  # redacted
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    url, _region = storage_settings()
    zone, now = local_zone(), SystemClock().now()
    month = Month.parse(args.month) if args.month else Month.before(now, zone)
    if month is None:
        print("vigil: --month: expected YYYY-MM, e.g. 2026-11", file=sys.stderr)
        return USAGE_ERROR
    db.upgrade(url)
    records = ReportStore(db.make_engine(url)).alerts_between(month.start(zone), month.end(zone))
    print("\n".join(export(records, month, zone, now, args.csv, args.png)))
    return 0


def _db_upgrade(_args: argparse.Namespace) -> int:
    url, _region = storage_settings()
    db.upgrade(url)
    print("Database is up to date.")
    return 0


def _roster_import(args: argparse.Namespace) -> int:
    url, region = storage_settings()
    roster = read_roster(args.file, region)
    db.upgrade(url)
    engine = db.make_engine(url)
    store, directory = RosterStore(engine), DirectoryStore(engine)
    now, actor = SystemClock().now(), admin_cli.command_line_actor()
    added = updated = 0
    for _line, record in roster.records:
        directory.ensure_organisation(record.organisation, now, actor)
        if store.upsert(record, now, actor):
            added += 1
        else:
            updated += 1
    for problem in roster.problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(
        f"Imported {added + updated} people: {added} new, {updated} updated, "
        f"{len(roster.problems)} skipped."
    )
    return 1 if roster.problems else 0


def _roster_list(_args: argparse.Namespace) -> int:
    url, _region = storage_settings()
    db.upgrade(url)
    members = RosterStore(db.make_engine(url)).members()
    if not members:
        print("The roster is empty. Add people with: vigil roster import FILE.csv")
        return 0
    print(f"{'name':<28} {'role':<11} {'organisation':<32} {'phone':<16} telegram  on duty")
    for m in members:
        telegram = str(m.telegram_user_id or "") or (
            f"@{m.telegram_username}" if m.telegram_username else "—"
        )
        print(
            f"{m.name[:28]:<28} {m.role:<11} {m.organisation[:32]:<32} {mask(m.phone):<16} "
            f"{telegram:<9} {'yes' if m.on_duty else ''}"
        )
    return 0
