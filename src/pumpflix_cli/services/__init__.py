"""Services: what the CLI does, as plain functions over the adapters. Usable without the CLI."""
