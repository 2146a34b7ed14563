"""`medspa worker`: run background tasks (django-tasks, database backend) and periodic upkeep."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Worker

from medspa.core.housekeeping import periodic_jobs

logger = logging.getLogger("medspa.worker")


def run_periodic_jobs() -> list[str]:
    """Run every registered job once; returns the names of those that failed."""
    failed = []
    for name, job in periodic_jobs():
        try:
            job()
        except Exception:  # one failing job must not stop the others or the worker
            logger.exception("periodic job %s failed", name)
            failed.append(name)
    return failed


def _periodic_loop(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        close_old_connections()
        run_periodic_jobs()
    connection.close()


class Command(BaseCommand):
    help = "Run the background worker: queued tasks and periodic upkeep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument(
            "--periodic-every", type=float, default=60.0, help="Seconds between upkeep runs."
        )
        parser.add_argument(
            "--once", action="store_true", help="Run upkeep and every ready task, then exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = f"{socket.gethostname()}-{os.getpid()}"
        worker = Worker(
            queue_names=["default"],
            interval=options["interval"],
            batch=options["once"],
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        run_periodic_jobs()
        if options["once"]:
            worker.run()
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=_periodic_loop, args=(stop, options["periodic_every"]), daemon=True
        )
        thread.start()
        self.stdout.write(f"medspa worker {worker_id} started")
        worker.configure_signals()
        try:
            worker.run()
        finally:
            stop.set()
