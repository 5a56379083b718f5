"""``zhongtai worker``: the platform's background work in a process of its own.

Durable jobs (payment timeouts, reservation expiry, shipment tracking…) and the outbox
dispatcher (plugin and webhook deliveries). Any number of workers may run beside any
number of API processes (``serve --no-background``) on any number of machines: jobs
and deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` and leases, and their
effects are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from kernel.db import Database, create_engine, resolve_database_url
from kernel.dispatch import Dispatcher
from kernel.jobs import JobHandler, JobRunner
from kernel.settings import Settings

log = logging.getLogger("zhongtai.worker")


async def run_worker(
    settings: Settings,
    job_handlers: Mapping[str, JobHandler],
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run jobs and deliveries until ``stop`` is set or the process gets SIGTERM/SIGINT;
    the job and the deliveries in flight then finish (deliveries within their timeout)."""
    stopping = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    db = Database(
        create_engine(resolve_database_url(settings), settings),
        listen_url=settings.listen_database_url,
    )
    dispatcher = Dispatcher(db)
    jobs = JobRunner(db, job_handlers)
    dispatcher.start()
    runner = asyncio.create_task(jobs.run_forever(settings.jobs_poll_seconds, stopping))
    log.info("worker started: jobs and outbox deliveries")
    try:
        await stopping.wait()
    finally:
        log.info("worker stopping: finishing the job and deliveries in flight")
        await runner
        await dispatcher.stop()
        await db.dispose()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("worker stopped")
