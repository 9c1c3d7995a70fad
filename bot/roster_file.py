"""Reading the roster CSV: every row checked, bad rows reported by line and skipped."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.phones import PhoneError, normalise
from storage.models import Role
from storage.roster import MemberRecord

HEADER = ["name", "role", "organisation", "phone", "telegram"]


@dataclass
class RosterFile:
    records: list[tuple[int, MemberRecord]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class RosterFileError(ValueError):
    """The file as a whole cannot be read (missing, wrong header)."""


def read_roster(path: Path, region: str) -> RosterFile:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return parse_roster(handle, region)
    except OSError as error:
        raise RosterFileError(f"cannot read {path}: {error.strerror}") from None


def parse_roster(lines: Iterable[str], region: str) -> RosterFile:
    reader = csv.reader(lines)
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != HEADER:
        raise RosterFileError(f"the first line must be: {','.join(HEADER)}")
    result = RosterFile()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        try:
            result.records.append((reader.line_num, _record(row, region)))
        except ValueError as error:
            result.problems.append(f"line {reader.line_num}: {error}")
    return result


def _record(row: list[str], region: str) -> MemberRecord:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, found {len(row)}")
    name, role, organisation, phone, telegram = (cell.strip() for cell in row)
    if not name:
        raise ValueError("name is empty")
    if role.lower() not in set(Role):
        raise ValueError(f"role must be one of {', '.join(Role)}")
    if not organisation:
        raise ValueError("organisation is empty")
    if not phone and not telegram:
        raise ValueError("give a phone number, a Telegram id or @username, or both")
    user_id, username = _telegram(telegram)
    try:
        e164 = normalise(phone, region) if phone else None
    except PhoneError as error:
        raise ValueError(str(error)) from None
    return MemberRecord(name, role.lower(), organisation, e164, user_id, username)


def _telegram(value: str) -> tuple[int | None, str | None]:
    if not value:
        return None, None
    if value.isdigit():
        return int(value), None
    username = value.removeprefix("@")
    if not (5 <= len(username) <= 32) or not username.replace("_", "").isalnum():
        raise ValueError("telegram must be a numeric user id or an @username")
    return None, username.lower()
