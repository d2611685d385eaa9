"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, a fresh profile,
and never a downloaded driver. Missing, the tests are skipped, or fail where
RKAUDIO_REQUIRE_BROWSER=1 (as CI sets it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RKAUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RKAUDIO_CHROMEDRIVER", "/usr/bin/chromedriver")
# Read at import, before the autouse fixture clears RKAUDIO_* from the environment.
REQUIRED = os.environ.get("RKAUDIO_REQUIRE_BROWSER") == "1"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1000")


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}, and RKAUDIO_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(f"{reason} (apt-get install chromium chromium-driver; set RKAUDIO_REQUIRE_BROWSER=1 to fail instead)")


@contextlib.contextmanager
def chromium(*, javascript: bool = True) -> Iterator[object]:
    """A headless Chromium with a fresh profile, through chromedriver; optionally with JavaScript off."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            missing(f"{path} not found")
    profile = tempfile.mkdtemp(prefix="rkaudio-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for a test module, with a fresh profile (see `chromium`)."""
    with chromium() as driver:
        yield driver
