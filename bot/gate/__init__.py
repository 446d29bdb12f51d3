"""The deploy gate: no deploys while a gated incident is open, unless someone overrides it."""
