"""The real server for a bench: ``zhongtai serve`` as it ships, on a free loopback port.

``start`` launches it against a database (development environment, so dev tokens
work), waits for ``GET /health``; ``stop`` sends SIGTERM (uvicorn finishes in-flight
requests), waits (bounded), and returns the log lines that look like errors, plus one
if the server did not shut down cleanly. The log is kept when it shows a problem.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 60.0
STOP_SECONDS = 30.0


class ServerFailure(Exception):
    pass


@dataclass
class LiveServer:
    proc: asyncio.subprocess.Process
    base_url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "zhongtai"
    base = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from schema.cli import main; main()"]
    )
    return [*base, "serve", "--host", "127.0.0.1", "--port", str(port)]


async def start(database_url: str, log: Path, env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    environment = {
        **os.environ,
        "ZHONGTAI_DATABASE_URL": database_url,
        "ZHONGTAI_ENVIRONMENT": "development",
        **(env or {}),
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *server_command(port),
            env=environment,
            cwd=ROOT,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = LiveServer(proc=proc, base_url=f"http://127.0.0.1:{port}", log=log)
    try:
        await _wait_healthy(server)
    except BaseException:
        await stop(server)
        raise
    return server


async def _wait_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2.0) as probe:
        while time.monotonic() < deadline:
            if server.proc.returncode is not None:
                raise ServerFailure(
                    f"server exited with {server.proc.returncode}:\n{tail(server.log)}"
                )
            try:
                if (await probe.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise ServerFailure(f"server not healthy after {START_SECONDS:.0f}s:\n{tail(server.log)}")


async def stop(server: LiveServer) -> list[str]:
    """Stop the server; the problems its log shows (empty: clean run, log deleted)."""
    proc = server.proc
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_SECONDS)
        except TimeoutError:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
    problems = problem_lines(server.log)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    if proc.returncode not in (0, -signal.SIGTERM) or "Application shutdown complete" not in tail(
        server.log
    ):
        problems.append(f"server did not shut down cleanly (exit status {proc.returncode})")
    if problems:
        problems.append(f"(full server log kept in {server.log})")
    else:
        server.log.unlink(missing_ok=True)
    return problems


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def problem_lines(log: Path) -> list[str]:
    """Log lines of the server that look like errors (tracebacks, error-level records)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    markers = ('"level": "error"', '"level": "critical"', "Traceback", "ERROR:", "Exception")
    return [line for line in text.splitlines() if any(m in line for m in markers)]
