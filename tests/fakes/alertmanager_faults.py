"""A loopback stand-in for an Alertmanager that misbehaves: answers 5xx or 4xx, or never answers.

The happy path is tested against the real Debian binary (tests/support/alertmanager.py); this
fake only plays the failures a real one is hard to produce on demand. It records every request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class FaultyAlertmanager:
    """mode: "500" | "400" | "hang" | "ok" (answers like Alertmanager)."""

    mode: str = "500"
    requests: list[Seen] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.method, request.path, dict(request.headers), await request.text()))
        if self.mode == "hang":
            await asyncio.sleep(60)
        if self.mode == "400":
            return web.json_response("bad matchers: invalid label name", status=400)
        if self.mode == "ok":
            if request.method == "POST":
                return web.json_response({"silenceID": f"fake-{len(self.requests)}"})
            return web.json_response([] if request.method == "GET" else None)
        return web.Response(status=500, text="internal error: storage unavailable")

    async def start(self) -> FaultyAlertmanager:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
