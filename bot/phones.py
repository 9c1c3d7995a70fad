"""Phone numbers: read them as people write them, store E.164, show them masked."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """A phone number that cannot be read or is not a valid number."""


def normalise(raw: str, region: str) -> str:
    """`0300-1234567` in region PK → `+923001234567`; raise PhoneError if not a number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"{mask(raw)} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{mask(raw)} is not a valid number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str | None) -> str:
    """Show only enough of a number to recognise it: `+923001234567` → `+92•••••••4567`."""
    if not phone:
        return "—"
    digits = [index for index, char in enumerate(phone) if char.isdigit()]
    if len(digits) <= 4:
        return "•" * len(phone)
    keep = set(digits[:2] + digits[-4:])
    return "".join(
        char if index in keep or not char.isdigit() else "•" for index, char in enumerate(phone)
    )
