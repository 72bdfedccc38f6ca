"""The queue domain: pure hall logic. Importing the package registers every command handler and event applier,
so `registry.apply_event` works for a node that never builds an engine."""

from hall_bus.domain import (
    booking,
    calls,
    cases,
    casework,
    complaints,
    counters,
    faults,
    feedback,
    handover,
    helpers,
    printing,
    staff,
    tickets,
    timekeeping,
)

__all__ = ["booking", "calls", "cases",
           "casework", "complaints", "counters", "faults", "feedback", "handover", "helpers",
           "printing", "staff", "tickets", "timekeeping"]
