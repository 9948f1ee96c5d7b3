"""pumpflix: the operator's command line for the PumpFlix workflow-automation platform."""

__version__ = "0.1.0"
