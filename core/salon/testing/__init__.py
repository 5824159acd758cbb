"""Test helpers for Salon and its plugins: contract suites per provider Protocol and fixtures
that start the app with a chosen set of plugins. See docs/plugins.md."""
