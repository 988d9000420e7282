"""Customers: the directory and linking, consent, languages, community membership, the
timeline of every touch, privacy and the audit log."""
