"""HTTP load from ``wrk``: a load generator whose own CPU per request is tiny.

A Python HTTP client spends about 1.8 ms of CPU per request on the bench machine's two
cores (docs/performance.md), so against a server answering in 1 ms it would measure
itself. ``wrk`` (C, LuaJIT; Debian package ``wrk``) spends a few microseconds. This
module writes the Lua script for one request (method, body, headers, or a ``request``
function of your own for bodies that change per request), runs ``wrk`` for a fixed
duration, and parses what the script's ``done`` function prints: requests, duration,
latency percentiles, socket errors, non-2xx answers and answers carrying GraphQL
``errors``. It also returns the CPU ``wrk`` used (user + system, from ``wait4``), so a
bench can print the client's cost next to the server's.

Used by ``bench/read_pages.py``; usable by any bench (a mutation bench passes
``request_lua`` to make every idempotency key unique).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass

RESULT_MARK = "ZT_RESULT "
BAD_SAMPLE_MARK = "ZT_BAD_SAMPLE "

# Counts, per thread, answers that are not HTTP 200 or that carry GraphQL "errors";
# ``done`` sums the threads and prints one JSON line. Latencies are in microseconds.
_LUA_COMMON = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)  -- 1, 2, …: for request() bodies unique across threads
end

function init(args)
  bad = 0
  bad_sample = ""
end

function response(status, headers, body)
  if status ~= 200 or (body and string.find(body, '"errors"', 1, true)) then
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = status .. " " .. string.gsub(string.sub(body or "", 1, 400), "[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
    local seen = thread:get("bad_sample") or ""
    if sample == "" then sample = seen end
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"duration_us": %d, "requests": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"bad_answers": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d}\n',
    "ZT_RESULT ", summary.duration, summary.requests, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, total_bad, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
  if sample ~= "" then io.write("ZT_BAD_SAMPLE " .. sample .. "\n") end
end
"""


class LoadError(Exception):
    """wrk is missing, failed, or printed no result."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    socket_errors: int  # connect + read + write + timeouts
    bad_answers: int  # not HTTP 200, or a body with GraphQL "errors"
    bad_sample: str
    client_cpu_seconds: float  # wrk's own user + system CPU

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def client_cpu_ms_per_request(self) -> float:
        return self.client_cpu_seconds * 1000 / self.requests if self.requests else float("nan")


def wrk_path() -> str:
    """The ``wrk`` executable; a clear error with the fix when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise LoadError(
            "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu), "
            "`brew install wrk` (macOS); `make bench-read` installs it with apt-get when it can"
        )
    return found


def _lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua (5.1/LuaJIT) string literal, byte for byte."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or byte < 32 or byte > 126:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_script(
    *,
    method: str = "POST",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    request_lua: str = "",
) -> str:
    """The Lua script for one kind of request. ``request_lua`` may define wrk's
    ``request()`` to build each request itself, e.g. a unique idempotency key per
    request (each wrk thread has its own Lua state; ``thread_id`` tells them apart)::

        local n = 0
        function request()
          n = n + 1
          local key = string.format("bench-%d-%d", thread_id, n)
          return wrk.format(nil, nil, nil, string.format(BODY, key))
        end

    It must not define ``setup``, ``init``, ``response`` or ``done`` (this script's)."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n" + _LUA_COMMON + "\n" + request_lua + "\n"


def parse_output(stdout: str) -> dict[str, object]:
    result: dict[str, object] | None = None
    sample = ""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
        elif line.startswith(BAD_SAMPLE_MARK):
            sample = line[len(BAD_SAMPLE_MARK) :]
    if result is None:
        raise LoadError(f"wrk printed no result:\n{stdout[-2000:]}")
    result["bad_sample"] = sample
    return result


def _run_blocking(argv: list[str], script: str, limit: float) -> tuple[int, str, str, float]:
    """Run ``argv`` with ``script`` as its ``--script`` (killed after ``limit`` s);
    (exit status, stdout, stderr, its user+system CPU seconds, from ``wait4``:
    ``Popen.wait`` would reap it without)."""
    with (
        tempfile.NamedTemporaryFile("w", suffix=".lua") as lua,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        lua.write(script)
        lua.flush()
        proc = subprocess.Popen([*argv, f"--script={lua.name}"], stdout=out, stderr=err)  # noqa: S603
        killer = threading.Timer(limit, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_utime + usage.ru_stime,
        )


async def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    duration: float,
    threads: int | None = None,
    request_timeout: float = 30.0,
) -> WrkResult:
    """Drive ``url`` with ``connections`` keep-alive connections for ``duration`` seconds
    (wrk's threads: at most the number of cores, 2 at most)."""
    binary = wrk_path()
    threads = threads or max(1, min(connections, os.cpu_count() or 1, 2))
    argv = [
        binary,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={max(1, round(request_timeout))}s",
        url,
    ]
    code, stdout, stderr, cpu = await asyncio.to_thread(
        _run_blocking, argv, script, duration + request_timeout + 30
    )
    if code != 0:
        raise LoadError(f"wrk exited with {code}: {stderr.strip()[-2000:]}")
    raw = parse_output(stdout)

    def ms(key: str) -> float:
        return float(raw[key]) / 1000  # type: ignore[arg-type]

    def count(*keys: str) -> int:
        return sum(int(raw[k]) for k in keys)  # type: ignore[call-overload]

    return WrkResult(
        requests=count("requests"),
        seconds=float(raw["duration_us"]) / 1_000_000,  # type: ignore[arg-type]
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        mean_ms=ms("mean_us"),
        max_ms=ms("max_us"),
        socket_errors=count("connect_errors", "read_errors", "write_errors", "timeouts"),
        bad_answers=count("bad_answers"),
        bad_sample=str(raw["bad_sample"]),
        client_cpu_seconds=cpu,
    )
