"""Headless Chromium for the report pages' browser tests.

Debian's `chromium` package (.ci/run installs it). Locally a test is skipped
when it is missing; in CI (CI=true) a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail(
            "headless Chromium is required in CI (Debian package `chromium`; .ci/run installs it)"
        )
    pytest.skip("headless Chromium is not installed: `apt-get install -y chromium`")


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    """Console messages Chromium logged (the reports have no script, so any is a problem)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
