"""Instances: preparing and running one on n8n, its executions, finding and listing them,
and promoting one into a template."""
