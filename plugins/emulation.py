"""What every backend emulator shares: a real HTTP server on 127.0.0.1 (uvicorn running
a Starlette app in this event loop) and the failure modes it can inject.

    async with LoopbackServer(app) as server:   # server.url == "http://127.0.0.1:<port>"
        server.faults.fail_next(3, status=503)  # the next 3 requests answer 503
        server.faults.delay_next(1, 10.0)       # the next one hangs for 10 s
        await server.stop()                     # down: connections are refused
        await server.start()                    # back, on the same port
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class Faults:
    """Failure modes applied to the next requests, in the order they are queued."""

    _queue: list[tuple[str, float]] = field(default_factory=list)
    # Process the request, then answer 500 anyway: the client retries something the
    # backend already has (the duplicate a consumer must dedupe).
    ack_lost: int = 0
    requests: int = 0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, count: int, status: int = 503) -> None:
        self._queue.extend(("status", float(status)) for _ in range(count))

    def delay_next(self, count: int, seconds: float) -> None:
        self._queue.extend(("delay", seconds) for _ in range(count))

    def lose_ack_next(self, count: int) -> None:
        self.ack_lost += count

    def clear(self) -> None:
        self._queue.clear()
        self.ack_lost = 0

    def take(self) -> tuple[str, float] | None:
        self.requests += 1
        return self._queue.pop(0) if self._queue else None


class _FaultyApp:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.faults.take()
        if fault is not None and fault[0] == "delay":
            # Hang, but let a stopping server end the request instead of cancelling it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.faults.stopping.wait(), fault[1])
            if self.faults.stopping.is_set():
                await JSONResponse({"error": "shutting down"}, status_code=503)(
                    scope, receive, send
                )
                return
        elif fault is not None and fault[0] == "status":
            response: Response = JSONResponse(
                {"error": "injected failure"}, status_code=int(fault[1])
            )
            await response(scope, receive, send)
            return
        if self.faults.ack_lost > 0:
            self.faults.ack_lost -= 1
            swallowed: list[Any] = []

            async def swallow(message: Any) -> None:
                swallowed.append(message)

            await self.app(scope, receive, swallow)
            await JSONResponse({"error": "injected lost ack"}, status_code=500)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LoopbackServer:
    """A Starlette app served over real HTTP on loopback, stoppable and restartable."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.faults = Faults()
        self._app = _FaultyApp(app, self.faults)
        self.port = port or _free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.faults.stopping.clear()
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            if self._task.done():
                await self._task
                raise RuntimeError("emulator failed to start")
            await asyncio.sleep(0.01)
        raise RuntimeError("emulator did not start in 5 s")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self.faults.stopping.set()
            self._server.should_exit = True
            self._server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = None
        self._task = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
