"""The ``llmobs`` command line: one entry point that mounts every component's commands."""

__version__ = "0.1.0"
