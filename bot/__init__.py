"""careloop: composition root and runtime (settings, CLI, runtimes, delivery, services)."""
