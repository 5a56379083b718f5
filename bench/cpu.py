"""CPU seconds of processes, from Linux ``/proc`` (best effort elsewhere: empty).

Benches print CPU per request for each process that does the work: the server, the
load generator, and the PostgreSQL backends serving the bench's database (the embedded
server only: its postmaster's pid is in ``postmaster.pid``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user+system CPU seconds) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


@dataclass(frozen=True)
class Postgres:
    """Where to read PostgreSQL's CPU from: the postmaster and the bench's database."""

    postmaster_pid: int
    database: str

    @classmethod
    def embedded(cls, data_dir: Path, database: str) -> Postgres | None:
        try:
            pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return cls(postmaster_pid=pid, database=database)

    def backends(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL process working on the database (backends and
        autovacuum workers: their process titles name the database)."""
        found: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                parent, cpu = process_cpu(int(entry))
                if parent != self.postmaster_pid:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            if f" {self.database} " in title:
                found[int(entry)] = cpu
        return found


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by this process, a server
    process (optional) and PostgreSQL's backends of one database (optional)."""

    def __init__(self, server_pid: int | None = None, postgres: Postgres | None = None) -> None:
        self.server_pid = server_pid
        self.postgres = postgres
        self._start: dict[str, float] = {}
        self._backends: dict[int, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {"bench": _own_cpu()}
        try:
            if self.server_pid is not None:
                sample["server"] = process_cpu(self.server_pid)[1]
        except OSError:
            pass
        return sample

    def start(self) -> None:
        self._start = self._sample()
        if self.postgres is not None:
            self._backends = self.postgres.backends()

    def stop(self) -> dict[str, float]:
        """CPU seconds since ``start()``: ``bench``, ``server``, ``postgres`` (if known).
        A backend that started after ``start()`` counts from zero."""
        end = self._sample()
        used = {key: end[key] - self._start[key] for key in end if key in self._start}
        if self.postgres is not None:
            now = self.postgres.backends()
            used["postgres"] = sum(cpu - self._backends.get(pid, 0.0) for pid, cpu in now.items())
        return used


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system
