"""calharness: the harness around the mock providers — reference integration, driver seam, step
definitions, requirement catalogue, reports and CLI."""

__version__ = "0.1.0"
