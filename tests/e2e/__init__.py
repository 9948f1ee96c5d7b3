"""End-to-end tests against a real n8n started by scripts/n8n-e2e."""
