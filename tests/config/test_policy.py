"""The escalation policy file: the shipped default, durations, and faults named by line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.policy import PolicyError, Tier, load_policy, parse_duration
from config.settings import DEFAULT_POLICY_PATH


def test_the_default_policy_escalates_critical_alerts_through_three_tiers() -> None:
    critical = load_policy(DEFAULT_POLICY_PATH).for_level("critical")

    assert [critical.tier(i) for i in range(critical.step_count)] == [
        Tier.ON_DUTY,
        Tier.SUPERVISORS,
        Tier.COMMAND,
        Tier.COMMAND,
        Tier.COMMAND,
        Tier.COMMAND,
    ]
    assert [critical.due_after(i) for i in range(4)] == [
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("2m", timedelta(minutes=2)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 1S ", timedelta(seconds=1)),
    ],
)
def test_durations_are_read_as_administrators_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0s", "", "5", "2 minutes", "-1m", "1d"])
def test_durations_that_are_not_positive_or_not_understood_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


POLICY = """\
[levels.critical]
steps = [
  {{ after = "2m", notify = "on_duty" }},
  {{ after = "{after}", notify = "{notify}" }},
]
repeat_every = "10m"

[levels.high]
steps = [{{ after = "5m", notify = "on_duty" }}]

[levels.normal]
steps = [{{ after = "15m", notify = "on_duty" }}]
"""


@pytest.mark.parametrize(
    ("after", "notify", "line", "words"),
    [
        ("5x", "supervisors", 4, "after"),
        ("5m", "generals", 4, "expected one of on_duty, supervisors, command"),
        ("1m", "supervisors", 1, "in order"),
    ],
)
def test_a_malformed_policy_is_refused_with_its_file_and_line(
    tmp_path: Path, after: str, notify: str, line: int, words: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(after=after, notify=notify))

    with pytest.raises(PolicyError) as raised:
        load_policy(path)

    assert f"{path}, line {line}:" in str(raised.value)
    assert words in str(raised.value)


def test_a_policy_that_is_not_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[levels.critical]\nsteps = [\n")

    with pytest.raises(PolicyError, match=r"policy.toml, line 2: .*not valid TOML"):
        load_policy(path)


def test_repeats_default_to_three_and_follow_the_last_step(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(after="5m", notify="command"))

    critical = load_policy(path).for_level("critical")

    assert critical.step_count == 5
    assert critical.due_after(4) == timedelta(minutes=35)
    assert critical.tier(4) is Tier.COMMAND


@pytest.mark.parametrize(
    ("extra", "line", "words"),
    [
        ('repeat_evry = "5m"\n', 6, "unknown key 'repeat_evry'"),
        ("[levelz.high]\nsteps = []\n", 14, "the file: unknown key 'levelz'"),
    ],
)
def test_a_misspelt_key_is_refused_not_ignored(
    tmp_path: Path, extra: str, line: int, words: str
) -> None:
    text = POLICY.format(after="5m", notify="command")
    if extra.startswith("repeat"):
        text = text.replace('repeat_every = "10m"\n', 'repeat_every = "10m"\n' + extra)
    else:
        text += extra
    path = tmp_path / "policy.toml"
    path.write_text(text)

    with pytest.raises(PolicyError) as raised:
        load_policy(path)

    assert words in str(raised.value)


def test_a_step_more_than_a_week_away_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(after="99999999h", notify="command"))

    with pytest.raises(PolicyError, match="line 4: after: at most 168h"):
        load_policy(path)
