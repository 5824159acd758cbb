"""The images context."""
