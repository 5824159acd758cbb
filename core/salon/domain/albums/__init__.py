"""The albums context."""
