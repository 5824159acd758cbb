"""The sources context."""
