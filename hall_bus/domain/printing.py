"""Print jobs for a kiosk — a one-time notice (告知单), a case's 受理回执 (receipt) or its 领取通知 (result
ready) — kept in the hall state until that kiosk says it printed the slip or could not, so nothing a visitor
was promised on paper depends on an event reaching one printer at one moment.

A kiosk that was offline, restarted, or re-keyed finds its pending jobs in the snapshot it loads and prints them
then; one that cannot print reports it, and the greeters' tablets show the slip that did not come out (with a
reprint once the paper is in). A job nobody printed within `[hall] print_expire_minutes` expires — the visitor
has left the kiosk by then — and the greeters see that too, so someone hands the visitor the words.

Every job says what paper it is (`PAPER_KINDS`): the kiosk lays each kind out in its own way, and a greeter told
that a slip did not come out is told which paper it was (`PAPER_NAMES`). What a job carries is already masked:
the slip sits in the hall state and goes over the bus, so a name on it is the family name only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import HallState, PrintJob

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


PAPER_KINDS = ("notice", "receipt", "result")
PAPER_NAMES = {"notice": "告知单", "receipt": "受理回执", "result": "领取通知"}


def queue_slip(e: QueueEngine, job_id: str, kiosk: str, slip: dict[str, Any], now: datetime,
               paper: str = "notice") -> None:
    """Owe `kiosk` one slip of the kind `paper` (one of PAPER_KINDS); `slip` holds only masked personal data."""
    if paper not in PAPER_KINDS:
        raise ValueError(f"unknown paper kind {paper!r}")
    e.emit("print_queued", now, job=job_id, kiosk=kiosk, paper=paper, slip=slip)


def check_kiosk(e: QueueEngine, print_at: str | None, code: str = "bad_notice") -> None:
    """A command naming a kiosk to print at names one the hall has (a typo would leave the paper owed forever)."""
    if print_at is not None and print_at not in {n.id for n in e.cfg.nodes if n.role == "kiosk"}:
        raise CommandRejected(code, f"no kiosk {print_at} to print the slip")


def expiry_due(e: QueueEngine, now: datetime) -> list[str]:
    limit = e.cfg.hall.print_expire_minutes * 60
    now_ts = now.timestamp()
    return [j.id for j in e.state.print_jobs.values() if j.status == "pending" and now_ts - j.queued_ts >= limit]


def expire_due(e: QueueEngine, now: datetime) -> None:
    """Runs before every command (and the server's tick), like escalations."""
    for job_id in expiry_due(e, now):
        job = e.state.print_jobs[job_id]
        e.emit("print_expired", now, job=job.id, kiosk=job.kiosk)


def _job(e: QueueEngine, job_id: str) -> PrintJob:
    job = e.state.print_jobs.get(job_id)
    if job is None:
        raise CommandRejected("unknown_job", f"no print job {job_id}")
    return job


@handles("print_result")
def print_result(e: QueueEngine, cmd: c.PrintResult, now: datetime) -> dict[str, Any]:
    """The kiosk's word on a job it was given: printed whole, or not and why."""
    job = _job(e, cmd.job)
    if cmd.node is not None and job.kiosk != cmd.node:
        raise CommandRejected("not_your_job", f"{job.id} prints at {job.kiosk}, not at {cmd.node}")
    if job.status == "printed":
        return {"job": job.id, "status": job.status, "already": True}  # a retried report: one effect
    if job.status != "pending":
        raise CommandRejected("bad_state", f"{job.id} is {job.status}; nothing was changed")
    e.emit("print_reported", now, job=job.id, kiosk=job.kiosk, ok=cmd.ok, problem="" if cmd.ok else cmd.problem)
    return {"job": job.id, "status": "printed" if cmd.ok else "failed"}


@handles("reprint")
def reprint(e: QueueEngine, cmd: c.Reprint, now: datetime) -> dict[str, Any]:
    """A helper put paper in (or the kiosk is back): the slip that did not come out goes to the kiosk again."""
    check_person(e, cmd.by)
    job = _job(e, cmd.job)
    if job.status not in ("failed", "expired"):
        raise CommandRejected("bad_state", f"{job.id} is {job.status}; only a slip that did not print is reprinted")
    e.emit("print_queued", now, job=job.id, kiosk=job.kiosk, paper=job.kind, slip=dict(job.slip))
    return {"job": job.id, "status": "pending"}


# ---------------------------------------------------------------------- appliers


@applies("print_queued")
def print_queued(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.print_jobs[d["job"]] = PrintJob(id=d["job"], kiosk=d["kiosk"], kind=d["paper"], slip=dict(d["slip"]),
                                       queued_ts=ts)


@applies("print_reported")
def print_reported(st: HallState, ts: float, d: dict[str, Any]) -> None:
    job = st.print_jobs[d["job"]]
    job.status, job.problem, job.done_ts = ("printed" if d["ok"] else "failed"), d.get("problem", ""), ts


@applies("print_expired")
def print_expired(st: HallState, ts: float, d: dict[str, Any]) -> None:
    job = st.print_jobs[d["job"]]
    job.status, job.done_ts = "expired", ts
