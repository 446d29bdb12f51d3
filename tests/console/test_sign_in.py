"""Sign in with Slack over HTTP: the happy path, logout, and every refusal (no browser needed here)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import insert, select
from yarl import URL

from bot.console.models import ConsoleSession
from bot.incidents.models import Incident
from tests.conftest import Flare, StartFlare
from tests.console import seed
from tests.console.conftest import ALICE, CAROL, MALLORY, SRE_GROUP, Browser, StartConsole, sign_in
from tests.fakes.slack import TEAM_ID, FakeSlack
from tests.fakes.slack_oidc import CLIENT_ID
from tests.support.clock import ManualClock


async def test_sign_in_through_slack_opens_the_console(
    console: Flare, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    browser = browser_factory(console)
    status, _, response = await browser.get("/ui/incidents?status=open")
    assert status == 302
    location = urlsplit(response.headers["Location"])
    assert (location.path, dict(parse_qsl(location.query))) == (
        "/ui/login",
        {"next": "/ui/incidents?status=open"},
    )

    status, _, response = await browser.get("/ui/login?next=/ui/incidents?status=open")
    authorize = response.headers["Location"]
    parts = urlsplit(authorize)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake_slack.base_url.replace(
        "/api/", "/openid/connect/authorize"
    )
    query = dict(parse_qsl(parts.query))
    assert query["scope"] == "openid profile email"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{console.url}/ui/auth/callback"
    assert len(query["state"]) >= 40
    assert len(query["nonce"]) >= 40
    login_cookie = response.cookies["flare_console_login"]
    assert login_cookie["httponly"]
    assert login_cookie["samesite"] == "Lax"
    assert login_cookie["path"] == "/ui/"

    status, _, location = await sign_in(browser, ALICE, next_path="/ui/incidents?status=open")
    assert (status, location) == (302, "/ui/incidents?status=open")
    status, body, response = await browser.get("/ui/incidents?status=open")
    assert status == 200
    assert "Alice Admin" in body
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    # The code was exchanged with the client's credentials, then userInfo read with the user's token.
    (token_call,) = fake_slack.ok_calls("openid.connect.token")
    assert token_call.params["redirect_uri"] == f"{console.url}/ui/auth/callback"
    assert [c.params["user"] for c in fake_slack.ok_calls("openid.connect.userInfo")] == [ALICE]
    async with console.container.db.sessions() as session:
        (row,) = (await session.execute(select(ConsoleSession))).scalars()
    assert (row.user_id, row.team_id, row.name) == (ALICE, TEAM_ID, "Alice Admin")
    assert row.expires_at - row.created_at == timedelta(hours=12)


async def test_logout_revokes_the_session_so_the_old_cookie_is_refused(
    console: Flare, browser_factory: Callable[[Flare], Browser]
) -> None:
    browser = browser_factory(console)
    await sign_in(browser, ALICE)
    cookie = browser.http.cookie_jar.filter_cookies(URL(console.url + "/ui/"))["flare_console"].value
    assert (await browser.get("/ui/incidents"))[0] == 200

    async with browser.http.post(console.url + "/ui/logout", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (302, "/ui/signed-out")

    # Replaying the cookie from before the logout gets the sign-in page, not the console.
    replay = browser_factory(console)
    status, _, response = await replay.get("/ui/incidents", headers={"Cookie": f"flare_console={cookie}"})
    assert status == 302
    assert response.headers["Location"].startswith("/ui/login?next=")
    async with console.container.db.sessions() as session:
        (row,) = (await session.execute(select(ConsoleSession))).scalars()
    assert row.revoked_at is not None


async def test_a_link_to_logout_from_another_site_does_not_sign_anyone_out(
    console: Flare, browser_factory: Callable[[Flare], Browser]
) -> None:
    browser = browser_factory(console)
    await sign_in(browser, ALICE)
    # SameSite=Lax sends the cookie on a top-level GET from any site: logging out takes a POST.
    status, _, _ = await browser.get("/ui/logout")
    assert status == 405
    assert (await browser.get("/ui/incidents"))[0] == 200


async def test_a_forged_or_altered_cookie_is_refused(
    console: Flare, browser_factory: Callable[[Flare], Browser]
) -> None:
    browser = browser_factory(console)
    await sign_in(browser, ALICE)
    genuine = browser.http.cookie_jar.filter_cookies(URL(console.url + "/ui/"))["flare_console"].value
    tampered = genuine[:-6] + ("AAAAAA" if not genuine.endswith("AAAAAA") else "BBBBBB")
    for forged in (tampered, "gAAAAABforged", '{"sid": "x"}'):
        stranger = browser_factory(console)
        status, _, response = await stranger.get(
            "/ui/incidents", headers={"Cookie": f"flare_console={forged}"}
        )
        assert status == 302, forged
        assert response.headers["Location"].startswith("/ui/login"), forged


async def test_a_user_of_another_workspace_is_refused_with_the_reason(
    console: Flare, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    browser = browser_factory(console)
    status, body, _ = await sign_in(browser, MALLORY)
    assert status == 403
    assert "Wrong workspace" in body
    assert f"this Flare belongs to workspace {TEAM_ID}" in body
    assert "flare_console" not in {c.key for c in browser.http.cookie_jar}
    assert (await browser.get("/ui/incidents"))[0] == 302


async def test_only_members_of_the_allowed_groups_get_in(
    start_console: StartConsole, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    flare = await start_console(groups=[SRE_GROUP])
    carol = browser_factory(flare)
    status, body, _ = await sign_in(carol, CAROL)
    assert status == 403
    assert f"Only members of the Slack user group(s) {SRE_GROUP}" in body
    assert [c.params["usergroup"] for c in fake_slack.ok_calls("usergroups.users.list")] == [SRE_GROUP]

    alice = browser_factory(flare)
    assert (await sign_in(alice, ALICE))[0] == 302
    assert (await alice.get("/ui/incidents"))[0] == 200


async def test_membership_is_checked_again_on_refresh(
    start_console: StartConsole, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    flare = await start_console(groups=[SRE_GROUP])
    alice = browser_factory(flare)
    await sign_in(alice, ALICE)
    fake_slack.usergroups[SRE_GROUP] = []  # Alice leaves the on-call group
    async with flare.container.transaction() as session:
        row = (await session.execute(select(ConsoleSession))).scalar_one()
        row.checked_at = row.checked_at - timedelta(minutes=11)
    status, body, _ = await alice.get("/ui/incidents")
    assert status == 403
    assert "Only members of the Slack user group(s)" in body
    async with flare.container.db.sessions() as session:
        assert (await session.execute(select(ConsoleSession))).scalar_one().revoked_at is not None


async def test_state_is_single_use_and_bound_to_the_browser(
    console: Flare, browser_factory: Callable[[Flare], Browser]
) -> None:
    victim = browser_factory(console)
    status, _, response = await victim.get("/ui/login")
    authorize = response.headers["Location"]
    login_cookie = response.cookies["flare_console_login"].value
    fields = dict(parse_qsl(urlsplit(authorize).query)) | {"user": ALICE}
    async with victim.http.post(authorize.split("?")[0], data=fields, allow_redirects=False) as chosen:
        callback = chosen.headers["Location"]
    # Another browser (no login cookie) cannot use the callback URL.
    attacker = browser_factory(console)
    status, body, _ = await attacker.get(callback)
    assert status == 400
    assert "not started in this browser" in body
    # The browser that started it can, once.
    assert (await victim.get(callback))[0] == 302
    # Replayed with the same login cookie, the state has been used.
    replay = browser_factory(console)
    status, body, _ = await replay.get(callback, headers={"Cookie": f"flare_console_login={login_cookie}"})
    assert status == 400
    assert "already used" in body


async def test_console_off_answers_404_naming_the_variables(
    start_console: StartConsole, browser_factory: Callable[[Flare], Browser]
) -> None:
    flare = await start_console(flare_session_secret=None, slack_client_secret=None)
    status, body, _ = await browser_factory(flare).get("/ui/incidents")
    assert status == 404
    assert "SLACK_CLIENT_SECRET, FLARE_SESSION_SECRET" in body


async def test_no_secret_reaches_a_page(console: Flare, browser_factory: Callable[[Flare], Browser]) -> None:
    browser = browser_factory(console)
    await sign_in(browser, ALICE)
    secrets = console.container.settings.secret_values()
    for path in ("/ui/incidents", "/ui/services", "/ui/delivery", "/ui/signed-out", "/ui/nothing-here"):
        _, body, _ = await browser.get(path)
        assert not [s for s in secrets if s in body], path
    await asyncio.sleep(0)


async def test_slack_refusing_or_failing_the_exchange_is_explained(
    console: Flare, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    fake_slack.oidc.failures["openid.connect.token"] = "invalid_code"
    status, body, _ = await sign_in(browser_factory(console), ALICE)
    assert status == 502
    assert "Slack refused the sign-in (invalid_code). Try again in a minute." in body
    fake_slack.oidc.failures["openid.connect.userInfo"] = 503
    status, body, _ = await sign_in(browser_factory(console), ALICE)
    assert status == 502
    assert "Slack could not finish the sign-in (HTTP 503). Try again in a minute." in body
    async with console.container.db.sessions() as session:
        assert (await session.execute(select(ConsoleSession))).scalars().all() == []
    # Once Slack answers again, signing in works.
    assert (await sign_in(browser_factory(console), ALICE))[0] == 302


async def test_group_check_failing_in_slack_is_a_503_not_a_refusal(
    start_console: StartConsole, fake_slack: FakeSlack, browser_factory: Callable[[Flare], Browser]
) -> None:
    flare = await start_console(groups=[SRE_GROUP])
    fake_slack.fail("usergroups.users.list", status=200, error="internal_error")
    status, body, _ = await sign_in(browser_factory(flare), ALICE)
    assert status == 503
    assert f"could not read the user group(s) {SRE_GROUP} from Slack" in body


async def test_console_off_is_logged_once_at_info(
    start_flare: StartFlare, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="flare"):
        await start_flare()
    summaries = [r for r in caplog.records if getattr(r, "off", None) is not None]
    assert len(summaries) == 1
    assert summaries[0].levelno == logging.INFO
    assert (
        "console (/ui/) (set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, FLARE_PUBLIC_URL, FLARE_SESSION_SECRET)"
        in summaries[0].off
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_cookies_are_secure_when_the_public_url_is_https(
    start_console: StartConsole, browser_factory: Callable[[Flare], Browser]
) -> None:
    flare = await start_console(flare_public_url="https://flare.acme.test")
    status, _, response = await browser_factory(flare).get("/ui/login")
    assert status == 302
    query = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
    assert query["redirect_uri"] == "https://flare.acme.test/ui/auth/callback"
    cookie = response.cookies["flare_console_login"]
    assert cookie["secure"]
    assert cookie["httponly"]


async def test_external_text_is_escaped_once(
    console: Flare, browser_factory: Callable[[Flare], Browser]
) -> None:
    async with console.container.transaction() as session:
        await session.execute(
            insert(Incident),
            [
                seed.incident_row(
                    1, console.container.clock.now(), title='<script>alert("x")</script> & <b>co</b>'
                )
            ],
        )
    browser = browser_factory(console)
    await sign_in(browser, ALICE)
    for path in ("/ui/incidents", "/ui/incidents/INC-1"):
        _, body, _ = await browser.get(path)
        assert "<script>alert" not in body, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in body, path


async def test_a_session_ends_after_its_lifetime(
    start_console: StartConsole, browser_factory: Callable[[Flare], Browser]
) -> None:
    clock = ManualClock()
    flare = await start_console(clock=clock, flare_session_hours=12)
    browser = browser_factory(flare)
    await sign_in(browser, ALICE)
    clock.advance(hours=11, minutes=59)
    assert (await browser.get("/ui/incidents"))[0] == 200
    clock.advance(minutes=2)
    status, _, response = await browser.get("/ui/incidents")
    assert status == 302
    assert response.headers["Location"].startswith("/ui/login")
