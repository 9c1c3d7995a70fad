"""The escalation policy: which tier is paged, and when, for each alert level."""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

LEVELS = ("critical", "high", "normal")
DEFAULT_REPEAT_LIMIT = 3
LEVEL_KEYS = {"steps", "repeat_every", "repeat_limit"}
LONGEST_WAIT = timedelta(days=7)  # an escalation step later than a week is a typo
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class Tier(StrEnum):
    ON_DUTY = "on_duty"
    SUPERVISORS = "supervisors"
    COMMAND = "command"


class PolicyError(Exception):
    """The policy file is malformed; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Step:
    after: timedelta
    notify: Tier


@dataclass(frozen=True)
class LevelPolicy:
    steps: tuple[Step, ...]
    repeat_every: timedelta | None = None
    repeat_limit: int = 0

    @property
    def step_count(self) -> int:
        """How many steps run in all, repeats of the last one included."""
        return len(self.steps) + (self.repeat_limit if self.repeat_every else 0)

    def due_after(self, index: int) -> timedelta:
        """How long after the alert was raised step `index` falls due."""
        if index < len(self.steps):
            return self.steps[index].after
        assert self.repeat_every is not None
        return self.steps[-1].after + self.repeat_every * (index - len(self.steps) + 1)

    def tier(self, index: int) -> Tier:
        """Whom step `index` notifies."""
        return self.steps[min(index, len(self.steps) - 1)].notify


@dataclass(frozen=True)
class Policy:
    levels: dict[str, LevelPolicy]

    def for_level(self, level: str) -> LevelPolicy:
        return self.levels[level]


def parse_duration(text: str) -> timedelta:
    """Read `45s`, `2m`, `1h` or `1h30m`; raise ValueError for anything else or zero."""
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 45s, 2m or 1h")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise ValueError(f"{text!r} must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """Write a duration the way the policy file does: `90s` → `1m30s`."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return "".join(parts) + (f"{seconds}s" if seconds or not any(parts) else "")


def load_policy(path: Path) -> Policy:
    """Read and check a policy file; raise PolicyError naming the file and line on a fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text; save the policy as UTF-8") from None
    except OSError as error:
        raise PolicyError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(path, text, error) from None
    return _Reader(path, text).policy(data)


def _syntax_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> PolicyError:
    found = re.search(r"\(at line (\d+), column \d+\)", str(error))
    line = int(found.group(1)) if found else max(len(text.splitlines()), 1)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(error))
    return PolicyError(f"{path}, line {line}: {reason} (the file is not valid TOML)")


class _Reader:
    """Turns parsed TOML into a Policy, locating each fault on its line in the source."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def policy(self, data: dict[str, Any]) -> Policy:
        levels = data.get("levels")
        if not isinstance(levels, dict):
            raise self.error(1, "expected [levels.critical], [levels.high] and [levels.normal]")
        unknown = sorted(set(levels) - set(LEVELS))
        if unknown:
            raise self.error(self.line_of(f"levels.{unknown[0]}"), f"unknown level {unknown[0]!r}")
        self.only_known(data, {"levels"}, 1, "the file")
        return Policy({name: self.level(name, levels.get(name)) for name in LEVELS})

    def level(self, name: str, table: Any) -> LevelPolicy:
        header = self.line_of(f"levels.{name}")
        if not isinstance(table, dict):
            raise self.error(1, f"[levels.{name}] is missing")
        self.only_known(table, LEVEL_KEYS, header, f"[levels.{name}]")
        raw_steps = table.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.error(header, f"[levels.{name}] needs a non-empty steps = [...] list")
        steps = tuple(self.step(name, header, raw) for raw in raw_steps)
        for earlier, later in itertools.pairwise(steps):
            if later.after < earlier.after:
                raise self.error(header, f"[levels.{name}] steps must be in order of 'after'")
        repeat_every = None
        if "repeat_every" in table:
            repeat_every = self.duration(table["repeat_every"], header, "repeat_every")
        limit = table.get("repeat_limit", DEFAULT_REPEAT_LIMIT if repeat_every else 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 100:
            raise self.error(self.line_of("repeat_limit", header), "repeat_limit: 0 to 100")
        return LevelPolicy(steps, repeat_every, limit if repeat_every else 0)

    def step(self, level: str, header: int, raw: Any) -> Step:
        if not isinstance(raw, dict) or set(raw) != {"after", "notify"}:
            raise self.error(
                header, f"[levels.{level}] each step is {{ after = ..., notify = ... }}"
            )
        after = self.duration(raw["after"], header, "after")
        try:
            notify = Tier(raw["notify"])
        except ValueError:
            line = self.line_of(str(raw["notify"]), header)
            tiers = ", ".join(tier.value for tier in Tier)
            raise self.error(
                line, f"notify = {raw['notify']!r}: expected one of {tiers}"
            ) from None
        return Step(after, notify)

    def duration(self, value: Any, header: int, key: str) -> timedelta:
        try:
            duration = parse_duration(value)
        except ValueError as error:
            raise self.error(self.line_of(str(value), header), f"{key}: {error}") from None
        if duration > LONGEST_WAIT:
            raise self.error(self.line_of(str(value), header), f"{key}: at most 168h (a week)")
        return duration

    def only_known(self, table: dict[str, Any], known: set[str], start: int, where: str) -> None:
        """A misspelt key would silently change the policy; refuse it instead."""
        for key in table:
            if key not in known:
                expected = ", ".join(sorted(known))
                raise self.error(
                    self.line_of(key, start), f"{where}: unknown key {key!r}; expected {expected}"
                )

    def line_of(self, needle: str, start: int = 1) -> int:
        for number, line in enumerate(self.lines[start - 1 :], start=start):
            if needle in line:
                return number
        return start

    def error(self, line: int, message: str) -> PolicyError:
        return PolicyError(f"{self.path}, line {line}: {message}")
