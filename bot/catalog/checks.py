"""Cross-reference checks over the whole catalog, run by the loader after the schema.

They sit above the section modules (routing, webhooks, alertmanager, gate), which therefore never
need the Catalog type: the sections stay below the model that assembles them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.catalog.model import Catalog
from bot.catalog.routing import parse_matcher
from bot.catalog.webhooks import SUPPORTED, WebhookAuth


def routing_problems(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Cross-reference checks for `routes` (run by the catalog loader)."""
    seen: dict[str, int] = {}
    for i, rule in enumerate(catalog.routes.rules):
        if rule.name is not None:
            if rule.name in seen:
                yield (
                    ("routes", "rules", i, "name"),
                    f"duplicate route name {rule.name!r} (see rules[{seen[rule.name]}])",
                )
            seen.setdefault(rule.name, i)
        if not rule.channels and not catalog.teams:
            yield (
                ("routes", "rules", i, "channels"),
                "no channels given and no teams defined; set channels: [C0123ABCD]",
            )


def webhook_problems(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Each configured source must name credentials it can actually check."""
    for source, (token, basic, secret, secret_required) in SUPPORTED.items():
        auth: WebhookAuth | None = getattr(catalog.webhooks, source)
        if auth is None:
            continue
        path: tuple[str | int, ...] = ("webhooks", source)
        if auth.token_env and not token:
            yield (*path, "token_env"), f"{source} does not send a token; use secret_env"
        if (auth.username or auth.password_env) and not basic:
            yield (*path, "username"), f"{source} does not use basic auth; use secret_env"
        if auth.secret_env and not secret:
            yield (*path, "secret_env"), f"{source} does not sign its requests; use token_env or basic auth"
        if bool(auth.username) != bool(auth.password_env):
            yield (
                (*path, "password_env" if auth.username else "username"),
                ("basic auth needs both username and password_env"),
            )
        if secret_required and not auth.secret_env:
            yield (
                (*path, "secret_env"),
                f"{source} signs every request; name its signing secret in secret_env",
            )
        elif not (auth.token_env or auth.password_env or auth.secret_env):
            yield path, "no credentials configured; set token_env (or username + password_env)"


def alertmanager_problems(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Cross-reference checks: silence matchers name known services and can select something."""
    settings = catalog.alertmanager
    if settings is None:
        return
    for service, matchers in settings.silence_matchers.items():
        path: tuple[str | int, ...] = ("alertmanager", "silence_matchers", service)
        if catalog.service(service) is None:
            known = ", ".join(s.name for s in catalog.services) or "none defined"
            yield path, f"unknown service {service!r} (services: {known})"
            continue
        parsed = [parse_matcher(m) for m in matchers]
        if not any(m.op in ("=", "=~") and not m.matches({}) for m in parsed):
            # Alertmanager refuses such a silence: it would match every alert.
            yield path, 'at least one matcher must not match the empty string, e.g. service="checkout"'


def gate_problems(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Gated environments must exist on some service (typos would silently open the gate)."""
    known = {env for service in catalog.services for env in service.environments}
    if not catalog.services or "envs" not in catalog.deploys.gate.model_fields_set:
        return
    for i, env in enumerate(catalog.deploys.gate.envs):
        if env not in known:
            names = ", ".join(sorted(known))
            yield ("deploys", "gate", "envs", i), f"no service has an environment called {env!r} ({names})"
