"""The `vigil` command line: refusals in one line, the roster import and listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

ROSTER = """name,role,organisation,phone,telegram
Ali Raza,officer,Police,0300-1234567,201
Jane Doe,consulate,Consulate of Norway,,@jane_consul
Bad Row,pilot,Police,,202
"""


def test_run_without_a_token_stops_with_one_line_and_status_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert err == "vigil: TELEGRAM_BOT_TOKEN is not set: expected the token BotFather gave you\n"


def test_settings_come_from_dotenv_and_a_bad_policy_names_its_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = workdir / "policy.toml"
    policy.write_text('[levels.critical]\nsteps = [{ after = "soon", notify = "on_duty" }]\n')
    (workdir / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123456789:AAH-secret-token-0123456789abcdefghij\n"
        "TELEGRAM_GROUP_CHAT_ID=-1001234567890\n"
        f"VIGIL_ESCALATION_POLICY={policy}\n"
    )

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"vigil: {policy}, line 2: after:") and err.count("\n") == 1
    assert "secret" not in err


def test_roster_import_reports_bad_rows_and_never_duplicates(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER)

    assert main(["roster", "import", str(roster)]) == 1
    first = capsys.readouterr()
    assert main(["roster", "import", str(roster)]) == 1
    second = capsys.readouterr()

    assert "skipped line 4: role must be one of" in first.err
    assert "Imported 2 people: 2 new, 0 updated, 1 skipped." in first.out
    assert "Imported 2 people: 0 new, 2 updated, 1 skipped." in second.out


def test_roster_list_masks_phones(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = workdir / "roster.csv"
    roster.write_text(ROSTER)
    main(["roster", "import", str(roster)])
    capsys.readouterr()

    assert main(["roster", "list"]) == 0

    out = capsys.readouterr().out
    assert "Ali Raza" in out and "+92••••••4567" in out and "@jane_consul" in out
    assert "+923001234567" not in out


def test_an_unreadable_roster_file_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["roster", "import", str(workdir / "missing.csv")]) == 2

    assert capsys.readouterr().err.startswith("vigil: cannot read")


def test_db_upgrade_creates_the_schema(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0

    assert (workdir / "vigil.db").exists()
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "vigil: DATABASE_URL: cannot use the database"),
        ("mysql://vigil:hunter2@127.0.0.1/vigil", "vigil: DATABASE_URL: its driver is not"),
        ("postgresql+psycopg://vigil:hunter2@127.0.0.1:1/vigil", "vigil: DATABASE_URL: cannot"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    says: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    assert main(["db", "upgrade"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == 1 and "hunter2" not in err


def test_a_policy_that_is_not_utf8_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = workdir / "policy.toml"
    policy.write_bytes("# café\n".encode("latin-1"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAH-secret-token-0123456789abcdefghij")
    monkeypatch.setenv("TELEGRAM_GROUP_CHAT_ID", "-1001234567890")
    monkeypatch.setenv("VIGIL_ESCALATION_POLICY", str(policy))

    assert main(["run"]) == 2

    assert (
        capsys.readouterr().err == f"vigil: {policy}: not UTF-8 text; save the policy as UTF-8\n"
    )
