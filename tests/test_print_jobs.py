"""Print jobs in the engine: owed until the kiosk reports, expired when nobody printed them in time."""

from __future__ import annotations

import pytest

from hall_bus.domain.engine import CommandRejected
from hall_bus.web.links import case_link

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


# ---------------------------------------------------------------------- a case's paper: receipt and result notice

APPLICANT, ID = "张秀英", "370322195203150021"
PROMISED = "QR-379901-BDC-004"  # 新建商品房首次转移登记: 5 working days


def accept(hall: Hall, **kw: object) -> dict:  # type: ignore[type-arg]
    return hall("accept_case", item=PROMISED, applicant=APPLICANT, id_number=ID, counter=1, by="ln03", **kw)


def test_accepting_at_a_window_with_a_kiosk_queues_its_receipt_there_masked(hall: Hall) -> None:
    r = accept(hall, print_at="kiosk-2")
    job = hall.state.print_jobs[r["print_job"]]
    assert (job.kind, job.kiosk, job.status) == ("receipt", "kiosk-2", "pending")
    slip = job.slip
    assert slip["case"] == r["case"] and slip["qr"] == case_link(hall.cfg, r["case"]) and slip["title"] == "受理回执"
    text = "\n".join(slip["lines"])
    assert f"办件编号：{r['case']}" in text and "申请人：张**" in text and "2026-11-30 17:30" in text
    assert APPLICANT not in repr(slip) and ID not in repr(slip)  # the slip is on the bus and in the state
    queued = next(e for e in hall.events if e["type"] == "print_queued")
    assert queued["data"]["paper"] == "receipt" and APPLICANT not in repr(queued)


def test_no_kiosk_named_no_receipt_and_a_wrong_kiosk_is_refused(hall: Hall) -> None:
    r = accept(hall)
    assert "print_job" not in r and hall.state.print_jobs == {}
    with pytest.raises(CommandRejected, match="no kiosk kiosk-9"):
        accept(hall, print_at="kiosk-9")
    assert len(hall.state.cases) == 1  # refused before anything was written


def test_concluding_queues_the_result_notice_with_where_and_what_to_bring(hall: Hall) -> None:
    case = accept(hall)["case"]
    hall("start_case", case=case, by="ln03")
    hall.wait(3600)
    r = hall("conclude_case", case=case, decision="approved", by="ln03", print_at="kiosk-2")
    job = hall.state.print_jobs[r["print_job"]]
    assert (job.kind, job.kiosk) == ("result", "kiosk-2") and job.slip["title"] == "领取通知"
    text = "\n".join(job.slip["lines"])
    assert "1 号窗口领取办理结果" in text and "身份证原件" in text and "申请人：张**" in text
    # a result slip that did not come out reaches the greeters like a notice, and is reprinted the same way
    hall("print_result", job=r["print_job"], ok=False, problem="paper out", node="kiosk-2")
    from hall_bus.nodes.greeter import unprinted_slips

    assert [s[0] for s in unprinted_slips(hall.state)] == [r["print_job"]]
    hall("reprint", job=r["print_job"], by="王芳")
    assert hall.state.print_jobs[r["print_job"]].kind == "result"


def test_a_window_asks_only_its_own_kiosk_to_print() -> None:
    from hall_bus.domain import commands as c
    from hall_bus.wire.protocol import authorize

    cmd = c.AcceptCase(item=PROMISED, applicant=APPLICANT, counter=1, print_at="kiosk-1")
    assert "print at kiosk-2, not kiosk-1" in (authorize("counter", 1, cmd, print_at="kiosk-2") or "")
    assert authorize("counter", 1, cmd.model_copy(update={"print_at": "kiosk-2"}), print_at="kiosk-2") is None
