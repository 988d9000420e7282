"""The care playbook: which touches each business event, birthday and quiet stretch calls
for, read from a checked YAML file (default.yaml ships with careloop)."""
