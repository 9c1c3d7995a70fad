"""`vigil orgs`, `vigil rota`, `vigil audit` and the roster's add, remove, set-role, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from bot.cli import main
from storage.db import make_engine
from tests.support.directory import ORGS_CSV

ROSTER = """name,role,organisation,phone,telegram
Ali Raza,officer,Police,0300-1110001,201
Sara Khan,officer,Rangers,0300-1110002,202
"""
ROTA = """member,days,start,end
201,Mon-Fri,08:00,16:00
+923001110002,Mon-Fri,22:00,06:00
999,Sat,08:00,16:00
"""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(folder: Path, name: str, content: str) -> str:
    (folder / name).write_text(content)
    return str(folder / name)


def test_organisations_import_again_updates_in_place(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orgs = _write(workdir, "orgs.csv", ORGS_CSV)
    assert main(["orgs", "import", orgs]) == 0
    assert capsys.readouterr().out == "Imported 3 organisations: 3 new, 0 updated, 0 skipped.\n"

    _write(workdir, "orgs.csv", ORGS_CSV.replace("Civil Lines HQ", "Garden Road"))
    assert main(["orgs", "import", orgs]) == 0
    assert "0 new, 3 updated" in capsys.readouterr().out

    assert main(["orgs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Garden Road" in listing and "Civil Lines" not in listing
    assert "24.8138,67.03" in listing


def test_a_bad_organisation_kind_is_skipped_with_its_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orgs = _write(workdir, "orgs.csv", ORGS_CSV + "Navy,navy,,,\n")

    assert main(["orgs", "import", orgs]) == 1

    assert "skipped line 5: kind must be one of" in capsys.readouterr().err


def test_roster_add_set_role_remove_and_export(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["roster", "add", "Ali Raza", "officer", "Police", "--phone", "0300-1110001"]) == 0
    assert main(["roster", "add", "Jane Doe", "consulate", "Norway", "--telegram", "@jane_d"]) == 0
    assert main(["roster", "set-role", "@jane_d", "admin"]) == 0
    assert main(["roster", "remove", "Ali Raza"]) == 0
    assert main(["roster", "remove", "Nobody"]) == 1
    export = workdir / "roster.csv"

    assert main(["roster", "export", str(export)]) == 0

    assert _rows(export) == [
        {
            "name": "Jane Doe",
            "role": "admin",
            "organisation": "Norway",
            "phone": "",
            "telegram": "@jane_d",
        }
    ]
    assert main(["orgs", "list"]) == 0
    assert "Norway" in capsys.readouterr().out  # every member belongs to an organisation


def test_rota_import_matches_people_by_phone_or_telegram_id(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["roster", "import", _write(workdir, "roster.csv", ROSTER)])
    capsys.readouterr()

    assert main(["rota", "import", _write(workdir, "rota.csv", ROTA)]) == 1

    out = capsys.readouterr()
    assert out.out == "The rota now has 2 shifts (it had 0); 1 skipped.\n"
    assert "skipped line 4: nobody on the roster is 999" in out.err


def test_audit_export_records_every_change_with_before_and_after(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["roster", "import", _write(workdir, "roster.csv", ROSTER)])
    main(["roster", "set-role", "201", "supervisor"])
    main(["rota", "import", _write(workdir, "rota.csv", ROTA)])
    export = workdir / "audit.csv"

    assert main(["audit", "export", "--since", "2000-01-01", str(export)]) == 0

    rows = _rows(export)
    actions = [row["action"] for row in rows]
    assert actions.count("roster.add") == 2 and actions.count("organisation.add") == 2
    assert actions[-2:] == ["roster.set_role", "rota.import"]
    change = rows[-2]
    assert change["actor"].startswith("command line (")
    assert json.loads(change["before"])["role"] == "officer"
    assert json.loads(change["after"])["role"] == "supervisor"
    assert main(["audit", "export", "--since", "2999-01-01", str(export)]) == 0
    assert _rows(export) == []


def test_the_audit_log_refuses_updates_and_deletes(
    workdir: Path,
) -> None:
    main(["roster", "add", "Ali Raza", "officer", "Police", "--phone", "0300-1110001"])
    engine = make_engine(f"sqlite:///{workdir}/vigil.db")

    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    engine.dispose()


def test_rota_import_refuses_people_who_never_go_on_duty(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = ROSTER + "Jane Doe,consulate,Consulate of Norway,,101\n"
    main(["roster", "import", _write(workdir, "roster.csv", roster)])
    capsys.readouterr()

    assert main(["rota", "import", _write(workdir, "rota.csv", ROTA + "101,Fri,22:00,06:00\n")])

    err = capsys.readouterr().err
    assert "skipped line 5: Jane Doe is consulate; only officers" in err


@pytest.mark.parametrize("command", ["orgs", "rota", "roster"])
def test_a_file_that_is_not_utf8_is_one_line_for_every_import(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = workdir / "bad.csv"
    path.write_bytes(b"\xff\xfe x")

    assert main([command, "import", str(path)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("vigil: ") and "is not UTF-8 text" in err and err.count("\n") == 1


def test_the_command_line_keeps_at_least_one_admin(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["roster", "add", "Ayesha Malik", "admin", "Security Cell", "--telegram", "501"])

    assert main(["roster", "set-role", "501", "officer"]) == 1
    assert main(["roster", "remove", "501"]) == 1

    err = capsys.readouterr().err
    assert err.count("that would leave Vigil without an admin") == 2
    assert main(["roster", "add", "Omar Farooq", "admin", "Police", "--telegram", "301"]) == 0
    assert main(["roster", "remove", "501"]) == 0
