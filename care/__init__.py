"""Care: the playbook that turns what happens to a customer into touches, the scans for its
built-in triggers, and the contact policy (consent, caps, quiet hours) every touch obeys."""
