"""The read-only web console (/ui/): sessions, Sign in with Slack, and the pages' view models."""
