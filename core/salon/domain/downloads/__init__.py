"""The downloads context: albums and selections as streamed ZIP archives."""
