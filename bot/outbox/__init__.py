"""The outbox: carrying out effects after their commit, within Telegram's limits, and the
sender for proactive messages. It imports no handlers: rendering is handed in."""
