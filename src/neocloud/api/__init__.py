"""The REST API (FastAPI): versioned under /v1, API keys per tenant, errors as JSON with a stable code."""
