"""careloop's composition and adapters: the app factory, settings, the CLI, the runtimes, the
HTTP API and the outbox that carries out effects."""
