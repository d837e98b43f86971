"""optkit.batch: solve problem libraries × solvers unattended, store the rows, report.

    runs = ok.batch.run("folder:/data/mps", ["highs", "scipy"], workers=2, time_limit=60,
                        store="results.sqlite")
    ok.batch.report("results.sqlite", "report/")      # Markdown, PNG and self-contained HTML

See docs/batch.md for the isolation model, the store schema and the report's definitions.
"""
from __future__ import annotations

from .job import BATCH_STATUSES, Job
from .runner import BatchRuns, make_jobs, run, summary
from .store import Store
from .tuned import run_tuned


def report(store, out=None, **kw):
    """Write the report of a store (see :func:`optkit.batch.reporting.write_report`)."""
    from .reporting import write_report

    return write_report(store, out, **kw)


__all__ = ["run", "run_tuned", "report", "Store", "Job", "BatchRuns", "make_jobs", "summary", "BATCH_STATUSES"]
