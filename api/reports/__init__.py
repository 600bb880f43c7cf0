"""The served model's reports: GET /v1/reports/services, and what the API and console share."""
