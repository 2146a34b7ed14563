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
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("MEDSPA_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MEDSPA = [sys.executable, "-m", "medspa.cli"]


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the served demo clinic (its SQLite file and var folder)."""
    home = tmp_path_factory.mktemp("served")
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home / 'e2e.sqlite3'}",
        "MEDSPA_VAR": str(home),
    }


def run_in_demo(env: dict[str, str], code: str) -> str:
    """Run Python in the served clinic's Django (`medspa shell -c`); its last printed line."""
    done = subprocess.run(
        [*MEDSPA, "shell", "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def open_menu(page: Page, name: str) -> None:
    """Open one of the top bar's menus (Money, Clinic) so its links can be clicked."""
    page.locator("header.topbar summary", has_text=name).click()


def axe_violations(page: Page) -> list[str]:
    """Serious and critical accessibility violations on the page, as readable lines."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.fixture(scope="session")
def served(demo_env: dict[str, str]) -> Iterator[str]:
    """A served demo clinic on a fresh SQLite file; yields its base URL."""
    env = demo_env
    medspa = MEDSPA
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
