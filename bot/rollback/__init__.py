"""Rollbacks and traffic changes on Cloud Run: planning, guards, lock, execution, verification."""
