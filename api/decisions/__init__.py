"""POST and GET /v1/decisions: what the caseworker chose, and why."""
