"""HTTP plumbing shared by every route: errors as JSON, request ids, limits, metrics."""
