"""The script library (话术库): staff's prepared replies per team and language, and the texts
of the care messages a playbook rule sends, in one YAML file an operator edits."""
