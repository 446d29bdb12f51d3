"""Paging the on-call through PagerDuty: a durable queue of Events API v2 events, and both-ways sync."""
