"""Copy the front-end libraries from node_modules into static files (`make assets`).

No bundler: each library ships a ready build; we serve those files as they are.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(__file__).resolve().parent / "core" / "static" / "vendor"

FILES = {
    "@event-calendar/build/dist/event-calendar.min.js": "event-calendar.min.js",
    "@event-calendar/build/dist/event-calendar.min.js.map": "event-calendar.min.js.map",
    "@event-calendar/build/dist/event-calendar.min.css": "event-calendar.min.css",
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "@picocss/pico/css/pico.min.css": "pico.min.css",
    "signature_pad/dist/signature_pad.umd.min.js": "signature_pad.umd.min.js",
    "signature_pad/dist/signature_pad.umd.min.js.map": "signature_pad.umd.min.js.map",
}


def main() -> int:
    modules = ROOT / "node_modules"
    TARGET.mkdir(parents=True, exist_ok=True)
    missing = [src for src in FILES if not (modules / src).exists()]
    if missing:
        sys.stderr.write(f"missing in node_modules (run `npm ci`): {', '.join(missing)}\n")
        return 1
    for src, name in FILES.items():
        shutil.copyfile(modules / src, TARGET / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
