"""`python -m bench.run`: measure the real bot against fake Telegram and Twilio, print a table."""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import figures, world
from bench.figures import Row


@dataclass(frozen=True)
class Plan:
    """How big each figure is: the default run, or the --quick smoke version."""

    in_a_row: int
    at_once: int
    waiting: int
    spread: float
    fan_out: int
    burst: tuple[int, float, float]  # alerts, seconds to feed them, seconds to wait in all
    lateness_cap: float  # seconds figure 2 waits for SMS after the last step falls due
    restart_cap: float  # seconds the bot process may take in figures 4 and 5


DEFAULT = Plan(1000, 100, 10_000, 60.0, 50, (60, 60.0, 90.0), 20.0, 40.0)
QUICK = Plan(100, 20, 300, 8.0, 50, (6, 6.0, 30.0), 25.0, 10.0)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small smoke run, about a minute")
    parser.add_argument("--postgres", metavar="URL", help="also run 1, 2, 4 and 5 on PostgreSQL")
    return parser.parse_args(argv)


async def run(plan: Plan, postgres: str | None, folder: Path) -> list[Row]:
    servers = world.Servers()
    servers.start()
    try:
        rows = await backend(servers, plan, folder, None)
        url = world.fresh_database(folder, "fan_out")
        rows += show(await figures.fan_out(servers, url, plan.fan_out, "SQLite"))
        if postgres is not None:
            rows += await backend(servers, plan, folder, world.postgres_url(postgres))
        url = world.fresh_database(folder, "burst")
        rows += show(await figures.burst(servers, url, folder, plan.burst))  # last: see README
    finally:
        servers.stop()
    return rows


async def backend(servers: world.Servers, plan: Plan, folder: Path, pg: str | None) -> list[Row]:
    """Latency, lateness, restart and memory on one database."""
    label = "PostgreSQL" if pg else "SQLite"
    url = world.fresh_database(folder, "latency", pg)
    rows = show(await figures.latency(servers, url, (plan.in_a_row, plan.at_once), label))
    url = world.fresh_database(folder, "waiting", pg)
    cap = plan.lateness_cap
    rows += show(await figures.lateness(servers, url, plan.waiting, plan.spread, label, cap))
    url = world.fresh_database(folder, "restart", pg)  # not figure 2's leftover backlog
    rows += show(await figures.restart(servers, url, label, plan.restart_cap, plan.waiting))
    return rows


def show(rows: list[Row]) -> list[Row]:
    """Print each figure as soon as it is measured, so a long run shows its progress."""
    for row in rows:
        print(f"{row.figure}: {row.measured}", flush=True)
    return rows


def table(rows: list[Row]) -> str:
    """A Markdown table: figure, measured, floor, goal, verdict."""
    lines = [
        "| figure | measured | floor (same run) | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        verdict = {True: "yes", False: "**no**", None: "-"}[row.met]
        lines.append(
            f"| {row.figure} | {row.measured} | {row.floor or '-'} | {row.goal} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.postgres and not world.reachable(options.postgres):
        raise SystemExit(f"bench: cannot connect to --postgres {options.postgres!r}")
    logging.basicConfig(level=logging.CRITICAL)  # the bot logs expected 429s as errors
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
        rows = asyncio.run(
            run(QUICK if options.quick else DEFAULT, options.postgres, Path(folder))
        )
    print(table(rows))
    print(f"\nwhole run: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
