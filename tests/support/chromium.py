"""Debian's Chromium for the console's browser tests and benchmarks (not Playwright's own download)."""

from __future__ import annotations

EXECUTABLE = "/usr/bin/chromium"  # installed by .ci/ensure-system-deps
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
