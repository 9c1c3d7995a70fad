"""Reading the roster CSV: every row checked, bad rows reported by line and skipped."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.phones import PhoneError, normalise
from storage.models import Role
from storage.roster import MemberRecord

HEADER = ["name", "role", "organisation", "phone", "telegram"]
T = TypeVar("T")


@dataclass
class RosterFile:
    records: list[tuple[int, MemberRecord]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class RosterFileError(ValueError):
    """The file as a whole cannot be read (missing, wrong header)."""


def read_csv(path: Path, parse: Callable[[Iterable[str]], T]) -> T:
    """Parse a CSV file; an unreadable file or one that is not UTF-8 is one clear error."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return parse(handle)
    except OSError as error:
        raise RosterFileError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise RosterFileError(
            f'{path} is not UTF-8 text: save it as "CSV UTF-8" and import it again'
        ) from None


def read_roster(path: Path, region: str) -> RosterFile:
    return read_csv(path, lambda lines: parse_roster(lines, region))


def parse_roster(lines: Iterable[str], region: str) -> RosterFile:
    reader = csv.reader(lines)
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != HEADER:
        raise RosterFileError(f"the first line must be: {','.join(HEADER)}")
    result = RosterFile()
    seen: dict[str, int] = {}  # phone, Telegram id or username → the line that gave it
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        try:
            record = _record(row, region)
            _check_unique(record, reader.line_num, seen)
            result.records.append((reader.line_num, record))
        except ValueError as error:
            result.problems.append(f"line {reader.line_num}: {error}")
    return result


def _check_unique(record: MemberRecord, line: int, seen: dict[str, int]) -> None:
    """Two rows naming the same phone or Telegram account would merge two people into one."""
    keys = {
        "phone": record.phone,
        "Telegram id": record.telegram_user_id and str(record.telegram_user_id),
        "username": record.telegram_username,
    }
    for label, value in keys.items():
        if value and f"{label}:{value}" in seen:
            raise ValueError(f"same {label} as line {seen[f'{label}:{value}']}; one per person")
    for label, value in keys.items():
        if value:
            seen[f"{label}:{value}"] = line


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
