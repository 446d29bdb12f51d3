"""Runbooks: step implementations, a registry, the engine, and YAML definitions."""
