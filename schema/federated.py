"""The federated deployment on one machine: a process per subgraph, Hive Gateway in front.

``make run-federated`` runs it on the demo data; ``tests/test_federation.py`` starts the
same processes to prove the gateway answers what ``/graphql`` answers. Everything listens
on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_DIR = ROOT / "deploy" / "gateway"
GATEWAY_BIN = GATEWAY_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
COMPOSE = ROOT / "tools" / "composition" / "compose.mjs"
SDL = ROOT / "schema" / "sdl"
# The checkout's own code, whatever an installed entry point would import.
ZHONGTAI = [sys.executable, "-c", "from schema.cli import main; main()"]


def subgraph_names() -> list[str]:
    return sorted(path.stem for path in (SDL / "subgraphs").glob("*.graphql"))


def default_subgraph_urls(first_port: int = 4001) -> dict[str, str]:
    """One process per subgraph on consecutive ports, in name order (``make supergraph``)."""
    return {
        name: f"http://127.0.0.1:{first_port + index}/subgraphs/{name}/graphql"
        for index, name in enumerate(subgraph_names())
    }


@dataclass
class Deployment:
    """The running processes (name, process) and where the gateway listens."""

    gateway_url: str
    subgraph_urls: dict[str, str]
    logs: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def stop(self) -> dict[str, int]:
        """SIGTERM to all, then wait (bounded); returns each exit status."""
        for _, process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int] = {}
        for name, process in self.processes:
            try:
                codes[name] = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def _start(
    deployment: Deployment, name: str, args: Sequence[str], env: Mapping[str, str], cwd: Path
) -> subprocess.Popen[bytes]:
    output = (deployment.logs / f"{name}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own programs
        list(args), cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT
    )
    deployment.processes.append((name, process))
    return process


def _wait_for(url: str, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: nothing answered within {within:.0f} s")


def start(
    database_url: str,
    *,
    logs: Path,
    groups: Sequence[Sequence[str]] | None = None,
    gateway_port: int = 4000,
    first_subgraph_port: int = 4001,
    worker: bool = True,
    environment: Mapping[str, str] | None = None,
    within: float = 240,
) -> Deployment:
    """Start the subgraph services (``groups``: the subgraphs each process serves; default
    one process per subgraph), a background worker, and Hive Gateway over a supergraph
    composed for their ports."""
    if not GATEWAY_BIN.exists():
        raise RuntimeError(
            "Hive Gateway is not installed: npm ci --prefix deploy/gateway (needs Node 20)"
        )
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **(environment or {}),
        "PYTHONPATH": str(ROOT),
        "ZHONGTAI_DATABASE_URL": database_url,
    }
    deployment = Deployment(f"http://127.0.0.1:{gateway_port}/graphql", {}, logs)
    try:
        services: list[tuple[str, int, subprocess.Popen[bytes]]] = []
        for index, group in enumerate(groups or [[name] for name in subgraph_names()]):
            port = first_subgraph_port + index
            name = "+".join(group)
            args = ["serve", "--port", str(port), "--subgraph", ",".join(group)]
            process = _start(deployment, name, [*ZHONGTAI, *args, "--no-background"], env, ROOT)
            services.append((name, port, process))
            for subgraph in group:
                deployment.subgraph_urls[subgraph] = (
                    f"http://127.0.0.1:{port}/subgraphs/{subgraph}/graphql"
                )
        if worker:
            _start(deployment, "worker", [*ZHONGTAI, "worker"], env, ROOT)
        supergraph = logs / "supergraph.graphql"
        composed = subprocess.run(  # noqa: S603 - our own composition script
            ["node", str(COMPOSE), str(SDL)],  # noqa: S607 - node from PATH, like make
            env={
                **env,
                "SUBGRAPH_URLS": json.dumps(deployment.subgraph_urls),
                "SUPERGRAPH_OUT": str(supergraph),
            },
            capture_output=True,
            text=True,
        )
        if composed.returncode != 0:
            raise RuntimeError(
                "composition failed (npm ci --prefix tools/composition?):\n"
                + composed.stdout
                + composed.stderr
            )
        gateway_args = ["node", str(GATEWAY_BIN), "supergraph", str(supergraph)]
        gateway = _start(
            deployment,
            "gateway",
            [*gateway_args, "--port", str(gateway_port), "--host", "127.0.0.1"],
            env,
            GATEWAY_DIR,
        )
        for _, port, process in services:
            _wait_for(f"http://127.0.0.1:{port}/ready", process, within)
        _wait_for(f"http://127.0.0.1:{gateway_port}/healthcheck", gateway, within)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def main() -> None:
    """``make run-federated``: the demo data behind the gateway until Ctrl-C."""
    from kernel.db import resolve_database_url
    from kernel.settings import get_settings

    url = resolve_database_url(get_settings())
    # Ctrl-C is for the wait below, not for the start-up's subprocesses.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    deployment = start(url, logs=ROOT / ".zhongtai" / "federated")
    print(f"Hive Gateway: {deployment.gateway_url}")
    for name, subgraph_url in sorted(deployment.subgraph_urls.items()):
        print(f"  {name:12} {subgraph_url}")
    print(
        "Send the dev token as with `make run` (Authorization: Bearer <token>); "
        f"logs in {deployment.logs}. Ctrl-C stops everything."
    )
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        deployment.stop()


if __name__ == "__main__":
    main()
