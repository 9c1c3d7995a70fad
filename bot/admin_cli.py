"""`vigil orgs`, `vigil rota`, `vigil audit` and the roster's add, remove, set-role, export."""

from __future__ import annotations

import argparse
import csv
import getpass
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.phones import PhoneError, normalise
from bot.roster_file import RosterFileError, read_csv
from bot.rota import read_rota
from config.settings import storage_settings
from storage import db
from storage.audit import Actor, AuditStore
from storage.directory import DirectoryStore, OrganisationRecord, OrgKind, ShiftRecord
from storage.models import Role
from storage.roster import DUTY_ROLES, MemberRecord, RosterStore

ORG_HEADER = ["name", "kind", "address", "latitude", "longitude"]
AUDIT_HEADER = ["at_utc", "actor", "action", "target", "before", "after"]
EXPORT_HEADER = ["name", "role", "organisation", "phone", "telegram"]
LAST_ADMIN = "vigil: that would leave Vigil without an admin; make someone else admin first"


def add_roster_commands(roster: Any) -> None:
    """`vigil roster add|remove|set-role|export`, next to import and list."""
    add = roster.add_parser("add", help="add or update one person")
    add.add_argument("name")
    add.add_argument("role", choices=list(Role))
    add.add_argument("organisation")
    add.add_argument("--phone", help="e.g. 0300-1234567 or +923001234567")
    add.add_argument("--telegram", help="numeric user id or @username")
    add.set_defaults(action=_roster_add)
    remove = roster.add_parser("remove", help="take one person off the roster")
    remove.add_argument("who", help="@username, phone, Telegram id or name")
    remove.set_defaults(action=_roster_remove)
    set_role = roster.add_parser("set-role", help="change one person's role")
    set_role.add_argument("who", help="@username, phone, Telegram id or name")
    set_role.add_argument("role", choices=list(Role))
    set_role.set_defaults(action=_roster_set_role)
    export = roster.add_parser("export", help="write the roster as CSV (phones whole)")
    export.add_argument("file", type=Path)
    export.set_defaults(action=_roster_export)


def add_commands(commands: Any) -> None:
    """`vigil orgs import|list`, `vigil rota import`, `vigil audit export`."""
    orgs = commands.add_parser("orgs", help="the organisations people belong to")
    orgs_commands = orgs.add_subparsers(title="commands", required=True, metavar="COMMAND")
    importer = orgs_commands.add_parser(
        "import", help="add or update organisations", description=f"CSV: {','.join(ORG_HEADER)}"
    )
    importer.add_argument("file", type=Path)
    importer.set_defaults(action=_orgs_import)
    orgs_commands.add_parser("list", help="print the organisations").set_defaults(
        action=_orgs_list
    )
    rota = commands.add_parser("rota", help="the duty rota")
    rota_commands = rota.add_subparsers(title="commands", required=True, metavar="COMMAND")
    rota_import = rota_commands.add_parser(
        "import", help="replace the rota", description="CSV header: member,days,start,end"
    )
    rota_import.add_argument("file", type=Path)
    rota_import.set_defaults(action=_rota_import)
    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(title="commands", required=True, metavar="COMMAND")
    export = audit_commands.add_parser("export", help="write the audit trail as CSV")
    export.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("file", type=Path)
    export.set_defaults(action=_audit_export)


def command_line_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor.command_line(user)


def _stores() -> tuple[DirectoryStore, RosterStore, AuditStore, str]:
    url, region = storage_settings()
    db.upgrade(url)
    engine = db.make_engine(url)
    return DirectoryStore(engine), RosterStore(engine), AuditStore(engine), region


def _orgs_import(args: argparse.Namespace) -> int:
    directory, _roster, _audit, _region = _stores()
    records, problems = _read_orgs(args.file)
    now, actor = SystemClock().now(), command_line_actor()
    added = sum(directory.upsert_organisation(record, now, actor) for record in records)
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(
        f"Imported {len(records)} organisations: {added} new, {len(records) - added} updated, "
        f"{len(problems)} skipped."
    )
    return 1 if problems else 0


def _read_orgs(path: Path) -> tuple[list[OrganisationRecord], list[str]]:
    return read_csv(path, _parse_orgs)


def _parse_orgs(lines: Iterable[str]) -> tuple[list[OrganisationRecord], list[str]]:
    reader = csv.reader(lines)
    if [c.strip().lower() for c in next(reader, [])] != ORG_HEADER:
        raise RosterFileError(f"the first line must be: {','.join(ORG_HEADER)}")
    records, problems = [], []
    for row in reader:
        try:
            records.append(_org(row))
        except ValueError as error:
            problems.append(f"line {reader.line_num}: {error}")
    return records, problems


def _org(row: list[str]) -> OrganisationRecord:
    if len(row) != len(ORG_HEADER):
        raise ValueError(f"expected {len(ORG_HEADER)} columns, found {len(row)}")
    name, kind, address, latitude, longitude = (cell.strip() for cell in row)
    if not name:
        raise ValueError("name is empty")
    if kind.lower() not in set(OrgKind):
        raise ValueError(f"kind must be one of {', '.join(OrgKind)}")
    lat = float(latitude) if latitude else None
    lon = float(longitude) if longitude else None
    if (lat is None) != (lon is None) or (lat is not None and not -90 <= lat <= 90):
        raise ValueError("give both latitude and longitude, in degrees, or neither")
    return OrganisationRecord(name, kind.lower(), address, lat, lon)


def _orgs_list(_args: argparse.Namespace) -> int:
    directory, *_ = _stores()
    organisations = directory.organisations()
    if not organisations:
        print("No organisations yet. Add them with: vigil orgs import FILE.csv")
    for o in organisations:
        where = f"{o.latitude},{o.longitude}" if o.latitude is not None else "—"
        print(f"{o.name[:36]:<36} {o.kind:<10} {o.address[:40]:<40} {where}")
    return 0


def _roster_add(args: argparse.Namespace) -> int:
    directory, roster, _audit, region = _stores()
    try:
        phone = normalise(args.phone, region) if args.phone else None
    except PhoneError as error:
        print(f"vigil: {error}", file=sys.stderr)
        return 2
    telegram = (args.telegram or "").strip()
    user_id = int(telegram) if telegram.isdigit() else None
    username = telegram.removeprefix("@").lower() if telegram and user_id is None else None
    if not (phone or telegram):
        print("vigil: give --phone, --telegram, or both", file=sys.stderr)
        return 2
    now, actor = SystemClock().now(), command_line_actor()
    directory.ensure_organisation(args.organisation, now, actor)
    record = MemberRecord(args.name, args.role, args.organisation, phone, user_id, username)
    created = roster.upsert(record, now, actor)
    print(f"{args.name} {'added' if created else 'updated'}.")
    return 0


def _one(directory: DirectoryStore, who: str) -> int | None:
    found = directory.find(who)
    if len(found) != 1:
        names = ", ".join(m.name for m in found[:10])
        print(f"vigil: {'several match: ' + names if found else 'nobody matches ' + who}")
        return None
    return found[0].id


def _roster_remove(args: argparse.Namespace) -> int:
    directory, *_ = _stores()
    member_id = _one(directory, args.who)
    if member_id is None:
        return 1
    if directory.leaves_no_admin(member_id, None):
        print(LAST_ADMIN, file=sys.stderr)
        return 1
    removed = directory.remove(member_id, SystemClock().now(), command_line_actor())
    print(f"{removed.name if removed else args.who} is no longer on the roster.")
    return 0


def _roster_set_role(args: argparse.Namespace) -> int:
    directory, *_ = _stores()
    member_id = _one(directory, args.who)
    if member_id is None:
        return 1
    if directory.leaves_no_admin(member_id, args.role):
        print(LAST_ADMIN, file=sys.stderr)
        return 1
    changed = directory.set_role(member_id, args.role, SystemClock().now(), command_line_actor())
    print(f"{changed.name if changed else args.who} is now {args.role}.")
    return 0


def _roster_export(args: argparse.Namespace) -> int:
    _directory, roster, *_ = _stores()
    members = roster.members()
    with args.file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_HEADER)
        for m in members:
            telegram = m.telegram_user_id or (
                f"@{m.telegram_username}" if m.telegram_username else ""
            )
            writer.writerow([m.name, m.role, m.organisation, m.phone or "", telegram])
    print(f"Wrote {len(members)} people to {args.file}.")
    return 0


def _rota_import(args: argparse.Namespace) -> int:
    directory, _roster, _audit, region = _stores()
    rota = read_rota(args.file, region)
    shifts, problems = [], list(rota.problems)
    for line, who, days, start, end in rota.lines:
        found = directory.find(who)
        if len(found) != 1 or found[0].id is None:
            problems.append(f"line {line}: nobody on the roster is {who}")
            continue
        if Role(found[0].role) not in DUTY_ROLES:
            problems.append(
                f"line {line}: {found[0].name} is {found[0].role}; only "
                "officers, supervisors and command go on duty"
            )
            continue
        shifts.append(ShiftRecord(found[0].id, days, start, end))
    before = directory.replace_rota(shifts, SystemClock().now(), command_line_actor())
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    print(f"The rota now has {len(shifts)} shifts (it had {before}); {len(problems)} skipped.")
    return 1 if problems else 0


def _audit_export(args: argparse.Namespace) -> int:
    _directory, _roster, audit, _region = _stores()
    since = datetime.combine(args.since, datetime.min.time(), UTC) if args.since else None
    entries = audit.entries(since)
    with args.file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(AUDIT_HEADER)
        for e in entries:
            at = e.at.astimezone(UTC).isoformat(timespec="seconds")
            writer.writerow([at, e.actor, e.action, e.target, e.before or "", e.after or ""])
    print(f"Wrote {len(entries)} audit entries to {args.file}.")
    return 0
