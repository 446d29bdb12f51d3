"""Alembic migrations, packaged so `flare migrate` finds them when installed."""
