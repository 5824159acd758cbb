"""The uploads context."""
