"""Alertmanager silences made by Flare: while a change settles, and from alert group messages."""
