"""Sign in with Slack on the fake Slack: an authorize page, openid.connect.token and openid.connect.userInfo.

The authorize page (GET /openid/connect/authorize, next to /api/ as on slack.com) lists the fake's
people as buttons; choosing one redirects to `redirect_uri` with a one-time code and the `state`. The
token endpoint takes the client id and secret as HTTP basic auth (as slack_sdk sends them) and
answers an access token and an ID token carrying the nonce; userInfo answers who signed in.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.slack import FakeSlack

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-oidc-client-secret-0000"
OTHER_TEAM_ID = "T0OTHERWS1"


@dataclass
class Person:
    """Someone who can sign in on the fake."""

    user_id: str
    team_id: str
    name: str
    email: str


@dataclass
class Grant:
    """A code handed out by the authorize page."""

    person: Person
    nonce: str
    redirect_uri: str
    client_id: str
    used: bool = False


@dataclass
class FakeOidc:
    """The OpenID Connect side of the fake Slack."""

    slack: FakeSlack
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    people: dict[str, Person] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Person] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    # Scripted failures: method -> an error to answer (ok: false) or an HTTP status (int) to return once.
    failures: dict[str, str | int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_person(
        self, user_id: str, name: str, *, team_id: str | None = None, email: str | None = None
    ) -> Person:
        """Someone who may sign in (in the fake's own workspace unless `team_id` says otherwise)."""
        from tests.fakes.slack import TEAM_ID

        person = Person(user_id, team_id or TEAM_ID, name, email or f"{name.split()[0].lower()}@acme.test")
        self.people[user_id] = person
        return person

    def register(self, app: web.Application) -> None:
        """Add the routes (before the fake's generic /api/{method})."""
        app.router.add_get("/openid/connect/authorize", self._authorize)
        app.router.add_post("/openid/connect/authorize", self._choose)
        app.router.add_post("/api/openid.connect.token", self._token)
        app.router.add_route("*", "/api/openid.connect.userInfo", self._user_info)

    # ------------------------------------------------------------------ pages
    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        problem = self._authorize_problem(query)
        if problem:
            return web.Response(status=400, text=f"fake Slack: {problem}")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        buttons = "".join(
            f'<button name="user" value="{html.escape(p.user_id)}">Continue as {html.escape(p.name)} '
            f"({html.escape(p.user_id)}, workspace {html.escape(p.team_id)})</button><br>"
            for p in self.people.values()
        )
        body = (
            "<!doctype html><link rel=icon href='data:,'><title>Sign in with Slack (fake)</title>"
            "<h1>Sign in with Slack (fake)</h1>"
            f"<p>Flare asks for: {html.escape(query.get('scope', ''))}</p>"
            f'<form method="post">{hidden}{buttons}<button name="user" value="">Cancel</button></form>'
        )
        return web.Response(text=body, content_type="text/html")

    def _authorize_problem(self, query: dict[str, str]) -> str | None:
        if query.get("response_type") != "code":
            return "response_type must be code"
        if set(query.get("scope", "").split()) != {"openid", "profile", "email"}:
            return "scope must be openid profile email"
        if query.get("client_id") != self.client_id:
            return "unknown client_id"
        for name in ("state", "nonce", "redirect_uri"):
            if not query.get(name):
                return f"{name} is missing"
        return None

    async def _choose(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        values = {k: str(v) for k, v in form.items()}
        problem = self._authorize_problem(values)
        if problem:
            return web.Response(status=400, text=f"fake Slack: {problem}")
        redirect = values["redirect_uri"]
        person = self.people.get(values.get("user", ""))
        if person is None:
            raise web.HTTPFound(
                redirect + "?" + urlencode({"error": "access_denied", "state": values["state"]})
            )
        code = f"code-{next(self._ids)}-{time.monotonic_ns()}"
        self.grants[code] = Grant(person, values["nonce"], redirect, values["client_id"])
        raise web.HTTPFound(redirect + "?" + urlencode({"code": code, "state": values["state"]}))

    # ------------------------------------------------------------------ Web API
    def _record(self, method: str, params: dict[str, Any], response: dict[str, Any]) -> web.Response:
        from tests.fakes.slack import Call

        self.slack.calls.append(Call(method, params, time.monotonic(), 200, response))
        self.slack._changed.set()
        return web.json_response(response)

    def _scripted(self, method: str, params: dict[str, Any]) -> web.Response | None:
        failure = self.failures.pop(method, None)
        if failure is None:
            return None
        if isinstance(failure, int):
            from tests.fakes.slack import Call

            self.slack.calls.append(Call(method, params, time.monotonic(), failure, {}))
            return web.Response(status=failure, text="upstream error")
        return self._record(method, params, {"ok": False, "error": failure})

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        scripted = self._scripted("openid.connect.token", {"code": form.get("code")})
        if scripted is not None:
            return scripted
        client_id, client_secret = _basic(request.headers.get("Authorization", ""))
        client_id = client_id or form.get("client_id", "")
        client_secret = client_secret or form.get("client_secret", "")
        params = {"code": form.get("code"), "redirect_uri": form.get("redirect_uri"), "client_id": client_id}
        if client_id != self.client_id or client_secret != self.client_secret:
            return self._record("openid.connect.token", params, {"ok": False, "error": "invalid_client_id"})
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.used:
            return self._record("openid.connect.token", params, {"ok": False, "error": "invalid_code"})
        if grant.redirect_uri != form.get("redirect_uri") or grant.client_id != client_id:
            return self._record("openid.connect.token", params, {"ok": False, "error": "bad_redirect_uri"})
        grant.used = True
        token = f"xoxp-fake-oidc-{next(self._ids)}"
        self.tokens[token] = grant.person
        claims = {
            "iss": "https://slack.com",
            "sub": grant.person.user_id,
            "aud": client_id,
            "exp": int(time.time()) + 3600,
            "iat": int(time.time()),
            "nonce": grant.nonce,
            "https://slack.com/user_id": grant.person.user_id,
            "https://slack.com/team_id": grant.person.team_id,
        }
        id_token = ".".join(
            [
                _b64({"alg": "none", "typ": "JWT"}),
                _b64(claims),
                base64.urlsafe_b64encode(b"fake").decode().rstrip("="),
            ]
        )
        body = {"ok": True, "access_token": token, "token_type": "Bearer", "id_token": id_token}
        return self._record("openid.connect.token", params, body)

    async def _user_info(self, request: web.Request) -> web.Response:
        scripted = self._scripted("openid.connect.userInfo", {})
        if scripted is not None:
            return scripted
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        if not token:
            form = await request.post()
            token = str(form.get("token") or request.query.get("token") or "")
        person = self.tokens.get(token)
        if person is None:
            return self._record("openid.connect.userInfo", {}, {"ok": False, "error": "invalid_auth"})
        body = {
            "ok": True,
            "sub": person.user_id,
            "https://slack.com/user_id": person.user_id,
            "https://slack.com/team_id": person.team_id,
            "email": person.email,
            "email_verified": True,
            "name": person.name,
            "picture": "https://secure.gravatar.com/avatar/fake.png",
        }
        return self._record("openid.connect.userInfo", {"user": person.user_id}, body)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        raw = base64.b64decode(header[6:]).decode()
    except ValueError:
        return "", ""
    user, _, password = raw.partition(":")
    return user, password
