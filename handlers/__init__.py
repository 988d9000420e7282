"""Conversation logic by audience, transport-neutral: parse, decide through services, render."""
