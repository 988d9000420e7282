"""The shared kernel: ports (messenger, updates, clock), effects, i18n, YAML loading and deep
links. It imports nothing else of careloop, so every other package may stand on it."""
