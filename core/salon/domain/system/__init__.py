"""The system context."""
