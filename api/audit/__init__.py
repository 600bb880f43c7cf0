"""GET /v1/audit: every recommendation answered, with its decisions."""
