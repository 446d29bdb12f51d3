"""Deploy events: the webhook, the Cloud Run watcher, suspects, history and delivery metrics."""
