"""Scheduled rounds: what the scheduler's ticks decide (reminders, campaign runs, the desk's
cards and alerts, community welcomes)."""
