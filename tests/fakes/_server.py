"""The loopback aiohttp server that both fakes build on, and their command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Self, TypeVar

from aiohttp import web

HOST = "127.0.0.1"

T = TypeVar("T")


class Signal:
    """Wake every coroutine that waits for the next change of some recorded state."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake the current waiters; later waiters wait for the next change."""
        self._event.set()
        self._event = asyncio.Event()

    async def next_change(self) -> None:
        """Return at the next `notify`."""
        await self._event.wait()

    async def wait_for(
        self, condition: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        """Return the first value of `condition` that is not None, checked after every change."""
        try:
            async with asyncio.timeout(timeout):
                while (found := condition()) is None:
                    await self.next_change()
                return found
        except TimeoutError:
            raise TimeoutError(describe()) from None


class LoopbackServer:
    """An aiohttp application on 127.0.0.1 that lives for one ``async with`` block."""

    def __init__(self, *, port: int = 0) -> None:
        self._wanted_port = port
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0

    def build_app(self) -> web.Application:
        """Return the routes of this fake."""
        raise NotImplementedError

    @property
    def root_url(self) -> str:
        """Scheme, host and port, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL a client is configured with."""
        return self.root_url

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port when the port is 0)."""
        self._closing.clear()
        # A client that gives up disconnects; cancelling its handler keeps shutdown quick.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self._wanted_port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release every waiting request, then close the listening socket."""
        self._closing.set()
        self.on_closing()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def on_closing(self) -> None:
        """Wake requests that wait for something other than `pause`."""

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when the server is stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def json_ok(result: object) -> web.Response:
    """Answer a control request the way the Bot API answers: ``{"ok": true, "result": ...}``."""
    return web.json_response({"ok": True, "result": result})


async def read_json(request: web.Request) -> object:
    """Return the JSON body of a control request, or an empty object when there is none."""
    if not request.can_read_body:
        return {}
    return await request.json()


async def control_call(request: web.Request, action: Callable[..., object]) -> web.Response:
    """Call `action` with the JSON object of a control request as keyword arguments."""
    body = await read_json(request)
    try:
        if not isinstance(body, dict):
            raise TypeError("the body must be a JSON object of keyword arguments")
        action(**body)
    except (TypeError, ValueError) as error:
        return web.json_response({"ok": False, "description": str(error)}, status=400)
    return json_ok(True)


def command_line_parser(description: str) -> argparse.ArgumentParser:
    """Return a parser with the options every fake accepts when run on its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    return parser


async def serve_until_signalled(server: LoopbackServer) -> None:
    """Print the base URL on one line, then serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        print(server.base_url, flush=True)
        await stop.wait()
