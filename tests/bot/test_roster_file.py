"""The roster CSV: phones normalised, bad rows reported by line, the rest imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.phones import PhoneError, mask, normalise
from bot.roster_file import RosterFileError, parse_roster, read_roster

GOOD = """name,role,organisation,phone,telegram
Ali Raza,officer,Police,0300-1234567,@Ali_Police
Jane Doe,consulate,Consulate of Norway,,101
"""


def test_rows_are_normalised() -> None:
    roster = parse_roster(GOOD.splitlines(), "PK")

    (line, ali), (_, jane) = roster.records
    assert line == 2 and roster.problems == []
    assert ali.phone == "+923001234567" and ali.telegram_username == "ali_police"
    assert jane.telegram_user_id == 101 and jane.phone is None


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("Bob,pilot,Police,,202", "role must be one of"),
        (",officer,Police,,202", "name is empty"),
        ("Bob,officer,,,202", "organisation is empty"),
        ("Bob,officer,Police,,", "give a phone number"),
        ("Bob,officer,Police,12,202", "not a valid number"),
        ("Bob,officer,Police,,@x", "telegram must be"),
        ("Bob,officer,Police", "expected 5 columns"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_skipped(row: str, problem: str) -> None:
    roster = parse_roster([*GOOD.splitlines(), row], "PK")

    assert len(roster.records) == 2
    assert len(roster.problems) == 1
    assert roster.problems[0].startswith("line 4: ") and problem in roster.problems[0]


def test_a_file_with_the_wrong_header_is_refused_whole() -> None:
    with pytest.raises(RosterFileError, match="first line must be"):
        parse_roster(["name,phone", "Ali,0300"], "PK")


def test_numbers_are_masked_to_their_country_code_and_last_four_digits() -> None:
    assert mask("+923001234567") == "+92••••••4567"
    assert mask(None) == "—"


def test_an_impossible_number_is_refused_without_being_echoed() -> None:
    with pytest.raises(PhoneError) as raised:
        normalise("not a number 5551234", "PK")

    assert "5551234" not in str(raised.value)


@pytest.mark.parametrize(
    "second",
    [
        "Beta Two,officer,Police,0300-8888888,@ali_police",
        "Beta Two,officer,Police,0300-1234567,",
    ],
)
def test_two_rows_for_the_same_account_are_not_merged(second: str) -> None:
    roster = parse_roster([*GOOD.splitlines(), second], "PK")

    assert [record.name for _, record in roster.records] == ["Ali Raza", "Jane Doe"]
    assert roster.problems[0].startswith("line 4: same ") and "as line 2" in roster.problems[0]


def test_a_file_that_is_not_utf8_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes((GOOD + "José,officer,Police,,303\n").encode("cp1252"))

    with pytest.raises(RosterFileError, match="not UTF-8 text: save it as"):
        read_roster(path, "PK")
