"""Survey definitions, scoring and thresholds, invitations and answers, and the metrics and
report computed from them."""
