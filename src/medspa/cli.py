"""The `medspa` command: Django's management commands plus `up` for the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request


def _up(argv: list[str]) -> int:
    """Migrate, load the demo clinic if the database is empty, then serve and run the worker."""
    import django
    from django.core.management import call_command

    django.setup()
    from medspa.core.models import Organization

    call_command("migrate", interactive=False, verbosity=0)
    if not Organization.objects.exists():
        print("Loading the demo clinic…", flush=True)
        call_command("demo", seed=1)
    host = os.environ.get("MEDSPA_HOST", "127.0.0.1")
    port = os.environ.get("MEDSPA_PORT", "8000")
    exe = [sys.executable, "-m", "medspa.cli"]
    worker = subprocess.Popen([*exe, "worker"])
    server = subprocess.Popen([*exe, "serve", "--host", host, "--port", port, *argv])
    url = f"http://{host}:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    from medspa.demo import DEMO_PASSWORD, demo_logins

    print(f"\nmedspa is running at {url}  (API docs: {url}api/v1/docs)")
    print(f"Demo logins (password '{DEMO_PASSWORD}'):")
    for role, email in demo_logins():
        print(f"  {role:<11} {email}")
    print("Press Ctrl+C to stop.", flush=True)

    def stop(*_: object) -> None:
        for proc in (server, worker):
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while server.poll() is None and worker.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in (server, worker):
            proc.wait(timeout=30)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medspa.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "up":
        return _up(args[1:])
    if args and args[0] == "manage":  # `medspa manage migrate` reads like manage.py
        args = args[1:]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["medspa", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
