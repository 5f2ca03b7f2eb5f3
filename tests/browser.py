"""A real browser for the tests: Debian's Chromium (`make test` installs it) driven by Playwright, with every
request outside the server under test refused, so that a page that needs the internet fails here as it would
on an operator's offline machine. Under CI a missing Chromium fails the test, never skips it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .servers import missing

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent.parent / "build" / "screenshots"  # the best go to docs/img by hand


@pytest.fixture(scope="module")  # not longer: Playwright's loop would stay running under later tests' asyncio.run
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium; make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def offline_page(browser: Any, origin: str, outside: list[str]) -> Any:
    """A page that may reach `origin` only; every other request is refused and listed in `outside`."""
    context = browser.new_context()

    def only_ours(route: Any) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    page = context.new_page()
    page.set_default_timeout(10_000)  # a page of ours answers within a second or two; waiting longer hides why
    return page
