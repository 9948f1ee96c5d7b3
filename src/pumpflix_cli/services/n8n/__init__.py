"""n8n: its status, pairing templates with workflows, planning and carrying out a sync,
and the diff."""
