"""The n8n adapter: the only package that imports httpx."""
