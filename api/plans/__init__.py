"""POST /v1/plans: a month's clients awaiting a decision planned into the services' seats."""
