"""Instances: a run prepared (`prepare`) and driven on n8n (`run`), its executions found,
waited for, recorded and followed (`executions`), instances found, listed and shown
(`queries`), and one promoted into a template (`promote`)."""
