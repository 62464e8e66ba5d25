"""Headless Chromium for the report's browser tests (Debian's `chromium` and `chromedriver`,
which `make test` installs where apt is available). Each test file imports `CHROMIUM`,
`CHROMEDRIVER`, the skip mark and `start(profile_dir)`."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
missing = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium needs Debian's chromium and chromium-driver "
           "(apt-get install chromium chromium-driver; `make test` does it where apt exists)")
# No network here, and Chromium tries to reach Google without these; no sandbox as root.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def start(profile_dir, console_log: bool = False):
    """A headless Chromium driven by Selenium, with its own profile folder; `console_log`
    keeps the page's console messages (driver.get_log("browser"))."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
