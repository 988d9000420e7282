"""Survey definitions, scoring and thresholds, and the metrics computed from answers."""
