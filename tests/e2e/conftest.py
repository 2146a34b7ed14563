"""Browser tests: the demo clinic served by `medspa serve` on SQLite, driven by Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("MEDSPA_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served demo clinic on a fresh SQLite file; yields its base URL."""
    home = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home / 'e2e.sqlite3'}",
        "MEDSPA_VAR": str(home),
    }
    medspa = [sys.executable, "-m", "medspa.cli"]
    subprocess.run([*medspa, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*medspa, "demo", "--seed", "1"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    server = subprocess.Popen(
        [*medspa, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.terminate()
        pytest.fail("medspa serve did not answer /healthz")
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: make e2e installs Debian's chromium")
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    yield tab
    context.close()
