"""Incidents: declaring, the lifecycle, the timeline and reminders. Other features use bot.incidents.api."""
