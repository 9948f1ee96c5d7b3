"""The command line: thin commands over the services. Nothing imports this package."""
