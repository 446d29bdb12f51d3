"""The console in a real Chromium (Debian's, driven by Playwright): sign in through the fake Slack, find the
P1, read its post-mortem, switch versions, diff, download, see the charts and services, log out; and the
refusals. Screenshots of every page land in tests/artifacts/console/ (ignored by git)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.conftest import API_TOKEN, Flare
from tests.console.conftest import MALLORY, SRE_GROUP, StartConsole
from tests.console.story import P1_TITLE, history, p1_with_two_drafts
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.support.chromium import ARGS, EXECUTABLE

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
pytestmark = pytest.mark.slow


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (Playwright's own browser download is not used)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=EXECUTABLE, args=ARGS)
        yield browser
        await browser.close()


def watch_console(page: Page) -> list[str]:
    """Collect the page's console errors (a CSP violation shows up here)."""
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
    return errors


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot for the reviewer."""
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in_as(page: Page, flare: Flare, name: str, path: str = "/ui/incidents") -> None:
    """Open a console page signed out, and choose `name` on the fake Slack's authorize page."""
    await page.goto(flare.url + path)
    assert "Sign in with Slack (fake)" in await page.title()
    await page.get_by_role("button", name=f"Continue as {name}").click()


async def test_sign_in_browse_read_compare_chart_and_log_out(
    start_console: StartConsole, fake_slack: FakeSlack, chromium: Browser
) -> None:
    flare = await start_console()
    await history(flare)
    incident_id, channel = await p1_with_two_drafts(flare, fake_slack)
    human = f"INC-{incident_id}"
    context = await chromium.new_context(timezone_id="Europe/Berlin", viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    errors = watch_console(page)

    # Sign in: the console sends the browser to Slack, which sends it back signed in.
    await sign_in_as(page, flare, "Alice Admin")
    await page.wait_for_url(flare.url + "/ui/incidents")
    assert await page.locator(".who span").inner_text() == "Alice Admin"
    rows = page.locator("table.incidents tbody tr")
    assert await rows.count() == 50  # one page of 61 incidents
    await shot(page, "01-incidents")
    # Times are shown in the viewer's zone when JavaScript runs.
    first_time = await page.locator("table.incidents time").first.inner_text()
    assert first_time.endswith(("CET", "CEST", "GMT+1", "GMT+2")), first_time
    await page.get_by_role("link", name="Older »").click()
    assert await rows.count() == 11

    # Find the P1 of the last month by severity and title search.
    await page.goto(flare.url + "/ui/incidents")
    await page.select_option("select[name=severity]", "P1")
    await page.fill("input[name=q]", "eu cards")
    await page.get_by_role("button", name="Filter").click()
    assert await rows.count() == 1
    row = rows.first
    assert P1_TITLE in await row.inner_text()
    assert "Resolved" in await row.inner_text()
    channel_link = row.locator("td").nth(8).locator("a").first
    assert await channel_link.get_attribute("href") == f"https://acme-flare.slack.com/archives/{channel}"
    assert await row.locator("a.app").get_attribute("href") == f"slack://channel?team={TEAM_ID}&id={channel}"
    await shot(page, "02-incidents-filtered")

    # Open it: card, roles, timeline with the root-cause note.
    await row.get_by_role("link", name=human).click()
    await page.wait_for_url(f"{flare.url}/ui/incidents/{human}")
    body = await page.locator("main").inner_text()
    assert "the card-network certificate expired" in body
    assert await page.locator("dt:text-is('Commander') + dd").inner_text() == "U0BOB0001"
    assert "Rotated the certificate" in body
    # Timeline links go to the Slack messages Flare posted, on the workspace's URL.
    update_row = page.locator("table.timeline tr", has_text="Rotated the certificate")
    message = await update_row.get_by_role("link", name="message").get_attribute("href")
    assert message is not None
    assert message.startswith(f"https://acme-flare.slack.com/archives/{channel}/p")
    card = (
        await page.locator("table.timeline tr", has_text="Declared P1")
        .get_by_role("link")
        .get_attribute("href")
    )
    assert card is not None
    assert card.startswith(f"https://acme-flare.slack.com/archives/{channel}/p")
    await shot(page, "03-incident")

    # The post-mortem: newest version first, rendered (tables), then v1, then the diff.
    await page.get_by_role("link", name="Post-mortem (v2)").click()
    article = page.locator("article.markdown")
    assert await article.locator("table").count() >= 2
    assert "Rotated the certificate" in await article.inner_text()
    await shot(page, "04-postmortem-v2")
    await page.select_option("select[name=version]", "1")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/postmortem?version=1")
    assert "Rotated the certificate" not in await article.inner_text()
    await page.get_by_role("button", name="Diff").click()
    await page.wait_for_url("**/postmortem?old=1&new=2")
    added = await page.locator(".diff .d-add").all_inner_texts()
    assert any("Rotated the certificate" in line for line in added)
    await shot(page, "05-postmortem-diff")

    # Download v2: the same bytes the API serves.
    await page.goto(f"{flare.url}/ui/incidents/{human}/postmortem?version=2")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name=f"Download inc-{incident_id}-postmortem-v2.md").click()
    download = await waiting.value
    downloaded = Path(await download.path()).read_bytes()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{flare.url}/api/incidents/{incident_id}/postmortem.md?version=2",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as api,
    ):
        assert downloaded == await api.read()

    # Delivery: five charts for checkout, each with its table of numbers.
    await page.goto(flare.url + "/ui/delivery?service=checkout&weeks=8")
    charts = page.locator("figure.chart")
    assert await charts.count() == 5
    assert await page.locator("figure.chart svg").count() == 5
    deploys = page.locator("#deploys table.numbers tbody tr")
    assert await deploys.count() == 8
    assert sum(int(t) for t in await deploys.locator("td.num").all_inner_texts()) >= 150
    tooltip = await page.locator("#deploys svg .series title").first.text_content()
    assert tooltip is not None
    assert tooltip.startswith("deploys, week of")
    await shot(page, "06-delivery-checkout")
    await page.goto(flare.url + "/ui/delivery")
    assert "all services, production" in await page.locator("#deploys figcaption").inner_text()

    await page.goto(flare.url + "/ui/services")
    services = await page.locator("main").inner_text()
    assert "checkout-00159 90%" in services
    assert "100% (Cloud Run (live))" in services  # checkout staging: never watched, read from Cloud Run
    await shot(page, "07-services")

    # Log out: the console asks for Slack again.
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(flare.url + "/ui/signed-out")
    await shot(page, "08-signed-out")
    await page.goto(flare.url + "/ui/incidents")
    assert "Sign in with Slack (fake)" in await page.title()
    assert errors == [], errors
    await context.close()


async def test_refusals_are_explained(
    start_console: StartConsole, fake_slack: FakeSlack, chromium: Browser
) -> None:
    flare = await start_console()
    context = await chromium.new_context(java_script_enabled=False)
    page = await context.new_page()

    # Someone from another workspace.
    await sign_in_as(page, flare, "Mallory Outsider")
    assert await page.locator("h1").inner_text() == "Wrong workspace"
    assert f"belongs to workspace {TEAM_ID}" in await page.locator(".reason").inner_text()
    await shot(page, "10-refused-wrong-team")
    assert not [c for c in await context.cookies() if c["name"] == "flare_console"]

    # A forged session cookie gets the sign-in page.
    host = flare.url.removeprefix("http://").split(":")[0]
    await context.add_cookies(
        [{"name": "flare_console", "value": "gAAAAAforged", "domain": host, "path": "/ui/"}]
    )
    await page.goto(flare.url + "/ui/incidents")
    assert "Sign in with Slack (fake)" in await page.title()

    # Someone outside the allowed user group.
    restricted = await start_console(groups=[SRE_GROUP])
    await sign_in_as(page, restricted, "Carol Comms")
    assert await page.locator("h1").inner_text() == "Not allowed"
    assert SRE_GROUP in await page.locator(".reason").inner_text()
    await shot(page, "11-refused-not-in-group")

    # With JavaScript off, a signed-in page still works and shows times in UTC, labelled.
    await sign_in_as(page, flare, "Bob Oncall")
    await page.wait_for_url(flare.url + "/ui/incidents")
    assert await page.locator(".tz-note").inner_text() == "Times in UTC"
    await shot(page, "12-no-javascript")
    assert MALLORY not in await page.content()
    await context.close()
