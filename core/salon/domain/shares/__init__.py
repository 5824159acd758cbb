"""The shares context."""
