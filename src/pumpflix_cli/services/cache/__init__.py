"""The cache's own operations: warming it (warm), and its stats, flush and verify (inspect)."""
