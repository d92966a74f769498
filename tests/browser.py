"""Headless Chromium for the browser tests: offline (no network but, optionally, the loopback server under test)."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1300,900",
]


def headless_chromium(allow_loopback: bool = False) -> object:
    """A Selenium Chrome driver; every host is unreachable, 127.0.0.1 too unless ``allow_loopback``.

    Missing binaries skip the test, or fail it when ``SIM_REQUIRE_BROWSER`` is set.
    """
    missing = not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK))
    if missing and os.environ.get("SIM_REQUIRE_BROWSER"):
        pytest.fail(f"SIM_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
    if missing:
        pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        if allow_loopback:
            flag = flag.replace("MAP * ~NOTFOUND", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    drv.set_page_load_timeout(120)
    return drv


def open_page(driver: object, uri: str, timeout: float = 120.0) -> None:
    """``driver.get(uri)``, then wait until that document has loaded.

    ChromeDriver 150 with ``--headless=new`` sometimes returns from ``get`` while the new document is still
    ``loading`` (measured: 2 of 12 loads of a 1.4 MB report, 12 ms after the call): its scripts, plotly.js among
    them, have not run yet.
    """
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__geosim_previous_page = true;")    # gone once the new document replaced it
    driver.get(uri)
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return !window.__geosim_previous_page && document.URL === arguments[0]"
        " && document.readyState === 'complete'", uri))
