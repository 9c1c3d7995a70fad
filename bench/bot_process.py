"""The real bot in a process of its own, for figures that a stuck start-up must not stall.

Prints `began=<monotonic>` before building, `started=<monotonic>` once the job queue runs,
then `rss_kb=… hwm_kb=… jobs=…` two seconds later, and stops after `seconds` at most.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from types import SimpleNamespace

from bench import world


def status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def say(text: str) -> None:
    print(text, flush=True)


async def serve(url: str, telegram: str, twilio: str, seconds: float) -> None:
    servers = SimpleNamespace(
        tg=SimpleNamespace(base_url=telegram), tw=SimpleNamespace(base_url=twilio)
    )
    say(f"began={time.monotonic()} base_kb={status_kb('VmRSS')}")
    engine = world.engine_for(url)
    app = world.build(url, engine, servers)  # type: ignore[arg-type]
    await world.start(app)
    say(f"started={time.monotonic()}")
    await asyncio.sleep(2)
    jobs = len(app.job_queue.jobs()) if app.job_queue else 0
    say(f"rss_kb={status_kb('VmRSS')} hwm_kb={status_kb('VmHWM')} jobs={jobs}")
    await asyncio.sleep(max(seconds - 2, 0))
    await world.stop(app)


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)
    url, telegram, twilio, seconds = sys.argv[1:5]
    asyncio.run(serve(url, telegram, twilio, float(seconds)))
