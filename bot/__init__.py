"""Flare's core: incidents, alerts, Slack delivery, Cloud Run. No Slack UI code lives here."""

__version__ = "0.1.0"
