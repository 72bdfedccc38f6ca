"""Print jobs in the engine: owed until the kiosk reports, expired when nobody printed them in time."""

from __future__ import annotations

import pytest

from hall_bus.domain.engine import CommandRejected

from .conftest import Hall


def notice(hall: Hall) -> str:
    return hall("issue_notice", service="不动产", missing=["完税证明"], by="王芳", print_at="kiosk-2")["notice_id"]


def test_a_slip_is_owed_until_its_own_kiosk_reports(hall: Hall) -> None:
    job = notice(hall)
    assert hall.state.print_jobs[job].status == "pending" and hall.state.print_jobs[job].kiosk == "kiosk-2"
    with pytest.raises(CommandRejected, match="prints at kiosk-2, not at kiosk-1"):
        hall("print_result", job=job, ok=True, node="kiosk-1")
    hall("print_result", job=job, ok=False, problem="paper out", node="kiosk-2")
    assert (hall.state.print_jobs[job].status, hall.state.print_jobs[job].problem) == ("failed", "paper out")
    hall("reprint", job=job, by="王芳")
    hall("print_result", job=job, ok=True, node="kiosk-2")
    assert hall("print_result", job=job, ok=True, node="kiosk-2")["already"]  # a retried report: one effect
    assert [e["type"] for e in hall.events if e["type"].startswith("print_")] == [
        "print_queued", "print_reported", "print_queued", "print_reported"]


def test_nobody_printed_it_in_time_so_it_expires_and_says_so(hall: Hall) -> None:
    job = notice(hall)
    hall.wait(hall.cfg.hall.print_expire_minutes * 60 - 1)
    hall("tick")
    assert hall.state.print_jobs[job].status == "pending"
    hall.wait(2)
    assert hall.engine.work_due()  # the server's heartbeat sends a tick for it
    hall("tick")
    assert hall.state.print_jobs[job].status == "expired"
    with pytest.raises(CommandRejected, match="expired"):
        hall("print_result", job=job, ok=True, node="kiosk-2")  # too late: the greeters were told instead
    hall("reprint", job=job, by="王芳")
    assert hall.state.print_jobs[job].status == "pending"
