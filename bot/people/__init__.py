"""People: Slack users' display names, resolved with users.info and cached."""
