"""GET /v1/services, /v1/model and /v1/reports/fairness."""
