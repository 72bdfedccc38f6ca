"""`hallctl`, one module per command group; `main` is the console entry point."""

from hall_bus.cli.hallctl import main

__all__ = ["main"]
