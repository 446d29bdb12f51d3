"""Logging, Sentry and metrics."""
