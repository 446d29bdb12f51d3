"""Storage: engine/session factories and typed models."""
