"""Surfaces: where people reach the use cases (the Teams routing table; the CLI)."""
