"""The jobs context: background work recorded in the ``jobs`` table and carried by the queue."""
