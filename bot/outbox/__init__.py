"""Delivery: carrying out handler effects, and the outbox sender for proactive messages."""
