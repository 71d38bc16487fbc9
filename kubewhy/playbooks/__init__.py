"""Loading, validating and finding playbooks."""
