"""Rendering: texts, labels, cards and keyboards in the reader's language, and masking."""
