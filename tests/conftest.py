"""Shared test settings: hypothesis runs deterministically and without deadlines; the ``slow``
marker; the ``browser`` fixture.

The machines that run the suite are shared and noisy, so no test depends on timing; a derandomized
hypothesis run gives the same examples on every run (set HYPOTHESIS_PROFILE=explore locally to
search with fresh random examples).

The quick loop while you work leaves out the tests marked ``slow`` (15 s or more each, or for the
run they share: the demos' quick run, the notebooks, micrograd's demo trained for 100 steps):
``python -m pytest -m "not slow"``. ``python -m pytest`` runs everything, and so does CI.

A test whose optional tool is missing (selenium and Chromium, Jupyter, scikit-learn, Pillow,
micrograd) is skipped on a learner's machine, saying what to install; in CI it fails
(``examples.need``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from examples import missing, need
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", 'slow: takes 15 s or more; the quick local loop is pytest -m "not slow"'
    )


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium from Debian, driven by selenium and kept off the network. The browser
    and its driver are the system's; selenium is never allowed to download either."""
    webdriver = need("selenium.webdriver")
    service = need("selenium.webdriver.chrome.service")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing(
            FileNotFoundError(
                "the browser test needs Debian's chromium and chromium-driver: "
                "apt-get install chromium chromium-driver"
            )
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    # An explicit driver path: selenium's manager never looks for (or downloads) another one.
    executable = service.Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=executable, options=options)
    try:
        yield driver
    finally:
        driver.quit()
