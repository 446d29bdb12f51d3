"""Pure builders and parsers for the incident modals (declare, post update, resolve)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.catalog import SEVERITY_ORDER, Catalog
from bot.incidents.lifecycle import parse_severity
from bot.incidents.types import IncidentSnapshot
from bot.slack.escape import safe, truncate

DECLARE = "incident_declare"
UPDATE = "incident_update"
RESOLVE = "incident_resolve"
TITLE_MAX = 150
TEXT_MAX = 3000
_METADATA_MAX = 3000


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " "}


def _option(value: str, text: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _plain(text), "value": value}
    if description:
        option["description"] = _plain(description)
    return option


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, 2000),
        "optional": optional,
        "element": {**element, "action_id": "value"},
    }


def declare_modal(
    catalog: Catalog,
    *,
    title: str = "",
    severity: str | None = None,
    service: str | None = None,
    description: str = "",
    origin: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """The declare modal, optionally pre-filled; `origin` and the channel it was opened from (for the
    declarer's confirmation) travel in private_metadata."""
    severities = [_option(name, f"{name}", catalog.severity(name).description) for name in SEVERITY_ORDER]
    severity_select: dict[str, Any] = {
        "type": "static_select",
        "placeholder": _plain("How bad is it?"),
        "options": severities,
    }
    chosen = parse_severity(severity) if severity else None
    if chosen:
        severity_select["initial_option"] = severities[SEVERITY_ORDER.index(chosen)]
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "max_length": TITLE_MAX,
        "placeholder": _plain("Checkout is failing for some users"),
    }
    if title:
        title_input["initial_value"] = truncate(title, TITLE_MAX)
    blocks = [
        _input("title", "Title", title_input),
        _input("severity", "Severity", severity_select),
    ]
    services = [_option(s.name, s.name, s.description or None) for s in catalog.services[:100]]
    if services:
        service_select: dict[str, Any] = {
            "type": "static_select",
            "placeholder": _plain("Pick a service"),
            "options": services,
        }
        match = next((o for o in services if o["value"] == service), None)
        if match:
            service_select["initial_option"] = match
        blocks.append(_input("service", "Affected service", service_select, optional=True))
    description_input: dict[str, Any] = {
        "type": "plain_text_input",
        "multiline": True,
        "max_length": TEXT_MAX,
    }
    if description:
        description_input["initial_value"] = truncate(description, TEXT_MAX)
    blocks.append(_input("description", "Description", description_input, optional=True))
    blocks.append(_input("commander", "Commander", {"type": "users_select"}, optional=True))
    meta = {"origin": origin[:200]} if origin else {}
    if channel:
        meta["channel"] = channel[:40]
    metadata = json.dumps(meta)
    return {
        "type": "modal",
        "callback_id": DECLARE,
        "title": _plain("Declare incident", 24),
        "submit": _plain("Declare", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": metadata[:_METADATA_MAX],
        "blocks": blocks,
    }


@dataclass(frozen=True)
class DeclareForm:
    """A valid declare submission."""

    title: str
    severity: str
    service: str | None
    description: str
    commander: str | None
    origin: str | None
    channel: str | None = None  # where the modal was opened from (the confirmation goes there)


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    entry = values.get(block, {})
    found = entry.get("value") if isinstance(entry, dict) else None
    return found if isinstance(found, dict) else {}


def _text(values: dict[str, Any], block: str) -> str:
    return str(_value(values, block).get("value") or "").strip()


def _selected(values: dict[str, Any], block: str) -> str | None:
    option = _value(values, block).get("selected_option")
    return str(option.get("value")) if isinstance(option, dict) and option.get("value") else None


def parse_declare(
    values: dict[str, Any], private_metadata: str, catalog: Catalog
) -> DeclareForm | dict[str, str]:
    """The submitted form, or {block_id: error} to show inline in the modal."""
    errors: dict[str, str] = {}
    title = " ".join(_text(values, "title").split())
    if not title:
        errors["title"] = "Give the incident a short title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title within {TITLE_MAX} characters (it has {len(title)})."
    severity = parse_severity(_selected(values, "severity") or "")
    if severity is None:
        errors["severity"] = f"Pick a severity ({', '.join(SEVERITY_ORDER)})."
    service = _selected(values, "service")
    if service is not None and catalog.service(service) is None:
        errors["service"] = f"Unknown service {service!r}; pick one from the list."
    description = _text(values, "description")
    if len(description) > TEXT_MAX:
        errors["description"] = f"Keep the description within {TEXT_MAX} characters."
    commander = _value(values, "commander").get("selected_user")
    if errors:
        return errors
    assert severity is not None
    try:
        meta = json.loads(private_metadata) if private_metadata else {}
    except ValueError:
        meta = {}
    origin = meta.get("origin") if isinstance(meta, dict) else None
    channel = meta.get("channel") if isinstance(meta, dict) else None
    return DeclareForm(
        title=title,
        severity=severity,
        service=service,
        description=description,
        commander=str(commander) if commander else None,
        origin=str(origin)[:200] if origin else None,
        channel=str(channel)[:40] if isinstance(channel, str) and channel.isalnum() else None,
    )


def text_modal(kind: str, s: IncidentSnapshot) -> dict[str, Any]:
    """The 'Post update' or 'Resolve' modal for an incident; its id rides in private_metadata."""
    if kind == UPDATE:
        title, submit, label, optional = "Post update", "Post", "What is the current status?", False
    else:
        title, submit, label, optional = "Resolve incident", "Resolve", "Resolution summary", True
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"*{s.human_id}*: {safe(s.title, 1900)}"}],
    }
    text_input = {"type": "plain_text_input", "multiline": True, "max_length": TEXT_MAX}
    return {
        "type": "modal",
        "callback_id": kind,
        "title": _plain(title, 24),
        "submit": _plain(submit, 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps({"incident": s.id}),
        "blocks": [context, _input("text", label, text_input, optional=optional)],
    }


def parse_text(values: dict[str, Any], private_metadata: str) -> tuple[int | None, str]:
    """(incident id, text) from a 'Post update' or 'Resolve' submission."""
    try:
        meta = json.loads(private_metadata) if private_metadata else {}
    except ValueError:
        meta = {}
    incident = meta.get("incident") if isinstance(meta, dict) else None
    return (incident if isinstance(incident, int) else None), _text(values, "text")
