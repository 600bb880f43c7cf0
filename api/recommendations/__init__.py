"""POST /v1/recommendations: ranked next services for one client, explained."""
