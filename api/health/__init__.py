"""/health/live and /health/ready."""
