"""Ports: the neutral shapes the domain speaks through, with no framework behind them."""
