"""The supervisor's ledger report (台账): case rows, summaries and charts, as XLSX and as a printable PDF.

Read straight from the hall ledger over a read-only SQLite connection, so it runs while the server writes:
`cases.py` turns the event stream into one row per case in a single pass, `summary.py` adds those rows up
(bounded memory: histograms, not lists), `xlsx.py` and `pdf.py` lay the figures out, `build.py` ties them.
"""

from hall_bus.reports.build import ReportRequest, build_report

__all__ = ["ReportRequest", "build_report"]
