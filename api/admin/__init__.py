"""/v1/admin: the stop switch and model reloads."""
