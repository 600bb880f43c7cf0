"""GET /v1/reports/services: the service report logged with the served model's run."""
