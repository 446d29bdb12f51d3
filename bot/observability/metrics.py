"""Prometheus metrics, held in a registry owned by the app (no process-global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric Flare exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_request_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.command_ack_seconds = Histogram(
            "slack_command_ack_seconds",
            "Time from receiving a slash command to acking it",
            ["command"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.slack_calls = Counter(
            "slack_api_calls_total",
            "Slack Web API calls made by the outbox",
            ["method", "result"],
            registry=r,
        )
        self.slack_errors = Counter(
            "slack_api_errors_total",
            "Slack Web API errors by method and error",
            ["method", "error"],
            registry=r,
        )
        self.outbox_failed = Counter(
            "outbox_failed_total",
            "Outbox items stopped by a permanent Slack error",
            ["method", "error"],
            registry=r,
        )
        self.outbox_delivery_seconds = Histogram(
            "outbox_delivery_seconds",
            "Time from enqueue to delivery",
            ["method"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.outbox_pending = Gauge("outbox_pending", "Outbox items waiting to be delivered", registry=r)
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox item",
            registry=r,
        )
        self.alerts_received = Counter(
            "alerts_received_total",
            "Alerts received by source and status",
            ["source", "status"],
            registry=r,
        )
        self.webhook_auth_failures = Counter(
            "webhook_auth_failures_total",
            "Webhook requests refused for bad credentials",
            ["source"],
            registry=r,
        )
        self.incidents_open = Gauge("incidents_open", "Open incidents by severity", ["severity"], registry=r)
        self.rollbacks = Counter(
            "rollbacks_total",
            "Rollbacks by service, environment and result",
            ["service", "env", "result"],
            registry=r,
        )
        self.deploys = Counter(
            "deploys_total",
            "Deploy events by service, environment and status",
            ["service", "env", "status"],
            registry=r,
        )
        self.pagerduty_events = Counter(
            "pagerduty_events_total",
            "PagerDuty Events API v2 calls by action and result (accepted, retry, refused)",
            ["action", "result"],
            registry=r,
        )
        self.pages_undelivered = Counter(
            "pages_undelivered_total",
            "Pages shown as not delivered: refused by PagerDuty (failed) or not accepted in time (late)",
            ["reason"],
            registry=r,
        )
        self.page_delivery_seconds = Histogram(
            "page_delivery_seconds",
            "Time from a page being requested to PagerDuty accepting its trigger",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )

        # Delivery metrics over the last 30 days, recomputed from the database on each scrape.
        delivery = ["service", "env"]
        self.delivery_deploys = Gauge(
            "delivery_deploys", "Successful deploys in the last 30 days", delivery, registry=r
        )
        self.deploy_frequency = Gauge(
            "delivery_deploy_frequency_per_day",
            "Successful deploys per day, last 30 days",
            delivery,
            registry=r,
        )
        self.change_failure_rate = Gauge(
            "delivery_change_failure_rate",
            "Share of deploys followed within 24 h by a rollback or an incident, last 30 days",
            delivery,
            registry=r,
        )
        self.rollback_rate = Gauge(
            "delivery_rollback_rate", "Rollbacks per deploy, last 30 days", delivery, registry=r
        )
        self.time_to_restore = Gauge(
            "delivery_mean_time_to_restore_seconds",
            "Mean time from incident declared to resolved, last 30 days",
            delivery,
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
