"""Conversation logic by audience, transport-neutral: parse, decide through the domain, return
effects."""
