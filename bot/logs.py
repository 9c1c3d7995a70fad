"""Logging set-up: one line per event, and no secret in any line."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import TextIO

from telegram.error import InvalidToken, NetworkError

from bot.phones import mask

QUIET_LOGGERS = ("httpx", "httpcore", "twilio", "apscheduler", "aiohttp")


class Redact(logging.Filter):
    """Replaces each secret with a placeholder wherever it would appear in a log line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret and len(secret) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text or ""
        for secret in self.secrets:
            exc_text = exc_text.replace(secret, "[redacted]")
        if text != message:
            record.msg, record.args = text, None
        record.exc_text = exc_text or None
        return True


class MaskPhones(logging.Filter):
    """Masks phone numbers and invitation codes in any line, such as a library's debug dump
    of an update: a code in a log could let a reader join the roster."""

    NUMBER = re.compile(
        r"\+\d{7,15}|(?<=phone_number': ')\d{7,15}|(?<=phone_number\": \")\d{7,15}"
    )
    INVITE = re.compile(r"(?<=start=)[A-Za-z0-9_-]{6,}|(?<=/start )[A-Za-z0-9_-]{6,}")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.NUMBER.sub(lambda match: mask(match.group()), message)
        masked = self.INVITE.sub("[code]", masked)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class ReportedElsewhere(logging.Filter):
    """Drops library tracebacks for failures the command line reports in one line itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, InvalidToken):
            return False
        # Failing to reach Telegram at start-up: `vigil run` says so in one line itself.
        return not (isinstance(error, NetworkError) and "Bootstrap" in record.getMessage())


def setup_logging(
    secrets: Iterable[str] = (), stream: TextIO | None = None, level: str | None = None
) -> None:
    """Log to stderr at `level` (default VIGIL_LOG_LEVEL, else INFO); libraries at WARNING."""
    level = (level or os.environ.get("VIGIL_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))
    handler.addFilter(MaskPhones())
    handler.addFilter(ReportedElsewhere())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for name in QUIET_LOGGERS:  # httpx's request lines carry the bot token
        logging.getLogger(name).setLevel(logging.WARNING)
