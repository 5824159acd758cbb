"""Contract suites: subclass one and supply a fixture that builds your provider."""
