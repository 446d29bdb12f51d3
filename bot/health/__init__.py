"""Health checks: concurrent probes with timeouts, aggregated by criticality."""
