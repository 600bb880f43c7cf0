"""The audit logs: GET /v1/audit (recommendations and their decisions), GET /v1/audit/plans."""
