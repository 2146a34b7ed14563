"""`medspa serve`: the production WSGI server (gunicorn) with static files from WhiteNoise."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


def default_workers() -> int:
    return max(2, (os.cpu_count() or 1) * 2)


class Command(BaseCommand):
    help = "Serve the web app and API with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("MEDSPA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MEDSPA_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "medspa.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
        ]
        os.execv(sys.executable, argv)
