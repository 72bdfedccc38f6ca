"""The supervisor's ledger report (issue 13): a seeded simulated week through the engine into a ledger, with
hand-overs, consultations, follow-ups and delegations added to it, then the report's figures against a direct
computation from the same events, the XLSX opened with openpyxl, and the PDF rendered to an image that stays in
build/reports/ for a person to look at."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import load_config
from hall_bus.domain.engine import QueueEngine
from hall_bus.errors import UserError
from hall_bus.reports import ReportRequest, build_report
from hall_bus.sim.daysim import DayPlan, engine_submitter, run_day, summarise
from hall_bus.stats import percentile
from hall_bus.store.ledger import Entry, Ledger

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "hall.example.toml"
ARTEFACTS = ROOT / "build" / "reports"
FIRST = date(2026, 11, 23)
LAST = FIRST + timedelta(days=6)
VISITOR = "张三丰"
PHONE = "13812345678"
PRINCIPAL = "欧阳小明"


class Extras:
    """What the day simulation does not do, added as greeters and the supervisor would: hand-overs, consultations
    (some answered at once, some the next day, some never), follow-ups assigned and half closed, delegations."""

    def __init__(self, submit: Any, seed: int) -> None:
        self.inner = submit
        self.rng = random.Random(seed)
        self.owner: dict[str, str] = {}
        self.pending: list[str] = []
        self.refused: list[str] = []

    def _extra(self, cmd: dict[str, Any]) -> dict[str, Any]:
        answer = self.inner(cmd)
        if not answer["ok"]:
            self.refused.append(f"{cmd['op']}: {answer['message']}")
        return answer

    def __call__(self, cmd: Any) -> dict[str, Any]:
        if not isinstance(cmd, dict):  # the day simulation sends models
            cmd = cmd.wire()
        if cmd["op"] == "finish_help":
            cmd = {**cmd, "helper": self.owner.get(cmd["help_id"], cmd["helper"])}
        answer = self.inner(cmd)
        if not answer["ok"]:
            return answer
        result = answer["result"]
        if cmd["op"] == "claim_help" and self.rng.random() < 0.3:
            to = f"helper-{self.rng.randint(1, 6):02d}"
            if to != cmd["helper"] and self._extra({"op": "handover_help", "help_id": cmd["help_id"],
                                                     "from_helper": cmd["helper"], "to_helper": to,
                                                     "note": "换人陪同"})["ok"]:
                self.owner[cmd["help_id"]] = to
        elif cmd["op"] == "issue":
            if self.pending and self.rng.random() < 0.05:
                cid = self.pending.pop(0)
                if self.rng.random() < 0.7:
                    self._extra({"op": "answer_consultation", "consultation_id": cid, "by": "helper-02",
                                 "answer": "已电话答复"})
            if self.rng.random() < 0.04:
                now = self.rng.random() < 0.5
                opened = self._extra({"op": "open_consultation", "helper": "helper-01", "name": VISITOR,
                                      "contact": PHONE, "question": f"退休手续要带什么？回电 {PHONE}",
                                      "service": cmd["service"], **({"answer": "带身份证与社保卡"} if now else {})})
                if opened["ok"] and not now:
                    self.pending.append(opened["result"]["consultation_id"])
            if cmd.get("group") == "delegate" and self.rng.random() < 0.5:
                self._extra({"op": "record_delegation", "helper": "helper-03", "principal": PRINCIPAL,
                             "services": [cmd["service"]], "pages": [{"sha256": "a" * 64, "file": "p1.jpg"}],
                             "ticket": result["ticket"]})
        elif cmd["op"] == "rate" and result.get("followup_id"):
            fid = result["followup_id"]
            self._extra({"op": "assign_followup", "followup_id": fid, "owner": "督办员李明"})
            if self.rng.random() < 0.5:
                self._extra({"op": "close_followup", "followup_id": fid, "note": f"已回访，电话 {PHONE}"})
        return answer


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg = load_config(CONFIG)
    data = tmp_path_factory.mktemp("week")
    ledger = Ledger(data, hall_name=cfg.hall.name)
    clock = ManualClock(datetime.combine(FIRST, datetime.min.time(), cfg.hall.tz), cfg.hall.tz)
    engine = QueueEngine(cfg, clock)
    extras: list[Extras] = []
    for i in range(7):
        sink: list[dict[str, Any]] = []
        ex = Extras(engine_submitter(engine, sink), seed=100 + i)
        extras.append(ex)
        run_day(cfg, DayPlan(day=FIRST + timedelta(days=i), seed=7 + i, visitors=400, helpers=6, cases=False),
                submit=ex, clock=clock)  # the visits' report: the cases' own figures are tested in test_sim_week
        ledger.append([Entry(None, sink, {})])
    events = list(ledger.events())
    ledger.close()
    return {"cfg": cfg, "data": data, "events": events, "extras": extras}


@pytest.fixture(scope="module")
def report(week: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("report")
    xlsx, pdf = out / "week.xlsx", out / "week.pdf"
    result = build_report(ReportRequest(week["cfg"], week["data"], FIRST, LAST, [xlsx, pdf]))
    return {"result": result, "xlsx": xlsx, "pdf": pdf}


# ---------------------------------------------------------------------- the direct computation


def direct(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures computed the plainest way, from every event in memory: what the report must agree with."""
    service: dict[str, str] = {}
    outcome: dict[str, str] = {}
    on_time: dict[str, bool | None] = {}
    wait: dict[str, float | None] = {}
    rating: dict[str, str] = {}
    helpers: dict[str, set[str]] = defaultdict(set)
    handovers: dict[str, int] = Counter()
    followups: dict[str, str] = {}
    closed: set[str] = set()
    consult: dict[str, dict[str, Any]] = {}
    for ev in events:
        d, t = ev["data"], ev["type"]
        if t == "ticket_issued":
            service[d["ticket"]] = d["service"]
        elif t == "ticket_transferred":
            service[d["ticket"]] = d["to_service"] or service[d["ticket"]]
        elif t == "ticket_finished":
            service[d["ticket"]] = d["service"]
            outcome[d["ticket"]], on_time[d["ticket"]], wait[d["ticket"]] = d["outcome"], d["on_time"], d["wait_s"]
        elif t == "rating_recorded":
            rating[d["ticket"]] = d["level"]
        elif t == "help_claimed":
            helpers[d["ticket"]].add(d["helper"])
        elif t == "help_handed_over":
            helpers[d["ticket"]].add(d["to_helper"])
            handovers[d["ticket"]] += 1
        elif t == "followup_opened":
            followups[d["followup_id"]] = d["ticket"]
        elif t == "followup_closed":
            closed.add(d["followup_id"])
        elif t == "consultation_opened":
            consult[d["consultation_id"]] = {"due": d["due"], "answered": None, "overdue": False}
        elif t == "consultation_answered":
            consult[d["consultation_id"]]["answered"] = ev["at"]
        elif t == "consultation_overdue":
            consult[d["consultation_id"]]["overdue"] = True
    last_at = datetime.fromisoformat(events[-1]["at"])
    by_service: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "served": 0, "concluded": 0,
                                                                  "on_time": 0, "waits": [], "ratings": Counter()})
    for tid, s in service.items():
        row = by_service[s]
        row["cases"] += 1
        if tid in outcome:
            row["served"] += 1
            if on_time[tid] is not None:
                row["concluded"] += 1
                row["on_time"] += on_time[tid]
            if wait[tid] is not None:
                row["waits"].append(wait[tid])
        if tid in rating:
            row["ratings"][rating[tid]] += 1
    by_helper: dict[str, int] = Counter(h for hs in helpers.values() for h in hs)
    late = sum(1 for q in consult.values() if q["overdue"] or datetime.fromisoformat(
        q["answered"] or last_at.isoformat()) > datetime.fromisoformat(q["due"]))
    return {"service": by_service, "helper": by_helper, "handovers": sum(handovers.values()),
            "followups": len(followups), "followups_open": len(set(followups) - closed),
            "consultations": len(consult), "consultations_overdue": late, "cases": len(service),
            "ratings": Counter(rating.values())}


def minutes(values: list[float], q: float) -> float | None:
    v = percentile(values, q)
    return None if math.isnan(v) else round(v / 60, 1)


def test_the_week_has_what_the_report_must_show(week: dict[str, Any]) -> None:
    kinds = Counter(e["type"] for e in week["events"])
    for kind in ("help_handed_over", "consultation_overdue", "consultation_answered", "followup_closed",
                 "followup_assigned", "delegation_signed", "help_escalated", "ticket_no_show"):
        assert kinds[kind] > 0, kind
    assert not [r for ex in week["extras"] for r in ex.refused]
    assert kinds["day_opened"] == 7


def test_figures_match_a_direct_computation(week: dict[str, Any], report: dict[str, Any]) -> None:
    summary = report["result"].summary
    want = direct(week["events"])
    assert report["result"].cases == want["cases"] == summary.total.cases == 7 * 400
    for name, row in want["service"].items():
        got = summary.service[name]
        assert (got.cases, got.served, got.concluded, got.on_time) == \
            (row["cases"], row["served"], row["concluded"], row["on_time"]), name
        for q in (50, 90):  # the report keeps whole seconds: at most a tenth of a minute apart after rounding
            assert abs((got.wait_min(q) or 0) - (minutes(row["waits"], q) or 0)) <= 0.1, (name, q)
        assert dict(got.ratings) == dict(row["ratings"]), name
    assert dict(summary.total.ratings) == dict(want["ratings"])
    assert {h: t.cases for h, t in summary.helper.items()} == dict(want["helper"])
    assert sum(t.handovers for t in summary.helper.values()) == want["handovers"] > 0
    t = summary.total
    assert (t.followups, t.followups_open) == (want["followups"], want["followups_open"])
    assert 0 < t.followups_open < t.followups
    assert (t.consultations, t.consultations_overdue) == (want["consultations"], want["consultations_overdue"])
    assert t.consultations_overdue > 0
    rated = sum(want["ratings"].values())
    good = sum(n for level, n in want["ratings"].items() if level in ("非常满意", "满意", "基本满意"))
    assert t.satisfaction_rate == pytest.approx(good / rated)


def test_groups_agree_with_the_day_report(week: dict[str, Any], report: dict[str, Any]) -> None:
    """The day simulation's own summary (hall_bus.sim.daysim.summarise) is a second, older reading of the events."""
    tables = summarise(week["events"])
    summary = report["result"].summary
    for group, row in tables["group"].items():
        got = summary.group[group]
        assert (got.cases, got.served, got.no_show, got.concluded, got.on_time) == \
            (row.issued, row.served, row.no_shows, row.concluded, row.on_time), group
        for q in (50, 90):
            assert abs((got.wait_min(q) or 0) - (minutes(row.waits, q) or 0)) <= 0.1


def test_xlsx_has_every_case_sheets_and_native_charts(week: dict[str, Any], report: dict[str, Any]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(report["xlsx"])
    assert wb.sheetnames == ["概览", "台账", "按事项", "按分组", "按窗口", "按帮办员", "按期间", "回访", "咨询", "图表",
                             "一次性告知", "代办协议", "投诉", "投诉统计", "预约台账", "上门服务台账"]
    ws = wb["台账"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["日期", "号码", "事项"] and "转交" in header and "缺少材料" in header
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == 7 * 400
    assert len({(r["日期"], r["号码"]) for r in rows}) == len(rows)
    assert [r["日期"] for r in rows] == sorted(r["日期"] for r in rows)  # listed day by day
    finished = [e["data"] for e in week["events"] if e["type"] == "ticket_finished"]
    assert sum(r["限时内"] == "是" for r in rows) == sum(d["on_time"] is True for d in finished)
    assert sum(r["限时内"] == "否" for r in rows) == sum(d["on_time"] is False for d in finished)
    assert sum(r["结果"] == "材料不全" for r in rows) == sum(d["outcome"] == "materials_missing" for d in finished)
    assert all(r["缺少材料"] for r in rows if r["结果"] == "材料不全")
    handed = [r for r in rows if r["转交"]]
    assert handed and all("→" in r["转交"] and r["帮办员"] and r["认领"] for r in handed)
    assert any(r["回访"] for r in rows)
    assert any(f"委托人 {PRINCIPAL[:2]}**" in (r["备注"] or "") for r in rows)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:R{len(rows) + 1}"
    charts = wb["图表"]._charts
    assert len(charts) == 5
    overview = {r[0].value: r[1].value for r in wb["概览"].iter_rows(min_row=3) if r[0].value}
    assert overview["件数 cases"] == 7 * 400
    consult = list(wb["咨询"].iter_rows(min_row=2, values_only=True))
    assert consult and all(row[3] == "张**" and row[4] == "138****5678" for row in consult)
    with zipfile.ZipFile(report["xlsx"]) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 6  # 5 on 图表, 1 on 投诉统计
        text = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml")).decode()
    assert PHONE not in text and VISITOR not in text and PRINCIPAL not in text  # masked by default


def test_pdf_is_a4_in_chinese_and_its_first_page_is_kept(report: dict[str, Any]) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    raw = report["pdf"].read_bytes()
    assert b"/FontFile2" in raw  # the CJK font is embedded
    doc = pdfium.PdfDocument(report["pdf"])
    assert len(doc) >= 3
    w, h = doc[0].get_size()
    assert (round(w), round(h)) == (595, 842)  # A4 in points
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for words in ("帮办代办台账", "总体情况", "限时内办完率", "按帮办员", "需关注的案件", "分时段取号"):
        assert words in text
    assert PHONE not in text and VISITOR not in text
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    image = doc[0].render(scale=1.5).to_pil()
    image.save(ARTEFACTS / "report-page1.png")
    grey = image.convert("L")
    dark = sum(grey.histogram()[:128])
    assert dark > grey.width * grey.height * 0.01  # text and charts, not a blank page


def test_report_reads_while_the_server_holds_the_ledger(week: dict[str, Any], tmp_path: Path) -> None:
    writer = Ledger(week["data"])  # the one writer's lock, as a running server holds it
    try:
        before = writer.last_seq
        result = build_report(ReportRequest(week["cfg"], week["data"], FIRST, FIRST, [tmp_path / "d.xlsx"]))
        assert result.cases == 400 and result.summary.by == "day"
        assert writer.last_seq == before
    finally:
        writer.close()


def test_the_report_gives_the_collector_back_as_it_found_it(week: dict[str, Any], tmp_path: Path) -> None:
    """The cyclic collector is paused while a report runs (a year's pass made it walk the case book for nothing)
    and is on again afterwards, also when the report fails; left off by the caller, it stays off. What the
    report leaves is aged, not frozen, and objects the caller froze stay frozen."""
    import gc

    assert gc.isenabled()
    build_report(ReportRequest(week["cfg"], week["data"], FIRST, FIRST, [tmp_path / "d.pdf"]))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        build_report(ReportRequest(week["cfg"], week["data"], FIRST, FIRST, [tmp_path / "g.pdf"]))
        assert 0 < gc.get_freeze_count() <= frozen  # not unfrozen, nothing of the report frozen (a few freed)
    finally:
        gc.unfreeze()
    with pytest.raises(UserError):
        build_report(ReportRequest(week["cfg"], tmp_path / "nowhere", FIRST, FIRST, [tmp_path / "e.pdf"]))
    assert gc.isenabled()
    gc.disable()
    try:
        build_report(ReportRequest(week["cfg"], week["data"], FIRST, FIRST, [tmp_path / "f.pdf"]))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_unmasked_needs_the_admin_key(week: dict[str, Any], tmp_path: Path) -> None:
    from hall_bus.cli.report import check_admin
    from hall_bus.wire.keys import KeyStore

    cfg = week["cfg"]
    keys = tmp_path / "keys"
    with pytest.raises(UserError, match="not enrolled"):
        check_admin(cfg, str(keys), "admin")
    with pytest.raises(UserError, match="is a kiosk"):
        check_admin(cfg, str(keys), "kiosk-1")
    store = KeyStore(keys)
    store.init()
    store.add("admin")
    check_admin(cfg, str(keys), "admin")
    out = tmp_path / "u.xlsx"
    build_report(ReportRequest(cfg, week["data"], FIRST, LAST, [out], masked=False))
    with zipfile.ZipFile(out) as z:
        assert PHONE in z.read("xl/sharedStrings.xml").decode()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_bus.cli", "report", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_writes_both_files(week: dict[str, Any], tmp_path: Path) -> None:
    x, p = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    res = _cli("--config", str(CONFIG), "--data", str(week["data"]), "--from", "2026-11-23", "--to", "2026-11-29",
               "--out", str(x), "--out", str(p), "--by", "week")
    assert res.returncode == 0, res.stderr
    assert x.stat().st_size > 0 and p.read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("case", ["backwards", "not_a_date", "no_ledger", "no_dir", "bad_ext", "out_dir",
                                  "out_parent", "unmasked"])
def test_cli_bad_input_is_one_line_exit_2(case: str, week: dict[str, Any], tmp_path: Path) -> None:
    args = {"--config": str(CONFIG), "--data": str(week["data"]), "--from": "2026-11-23", "--to": "2026-11-29",
            "--out": str(tmp_path / "r.xlsx")}
    extra: list[str] = []
    if case == "backwards":
        args["--from"], args["--to"] = "2026-11-29", "2026-11-23"
    elif case == "not_a_date":
        args["--to"] = "29.11.2026"
    elif case == "no_ledger":
        args["--data"] = str(tmp_path)
    elif case == "no_dir":
        args["--data"] = str(tmp_path / "nowhere")
    elif case == "bad_ext":
        args["--out"] = str(tmp_path / "r.docx")
    elif case == "out_dir":
        args["--out"] = str(tmp_path)
        (tmp_path / "x.pdf").mkdir()
        args["--out"] = str(tmp_path / "x.pdf")
    elif case == "out_parent":
        args["--out"] = str(tmp_path / "missing" / "r.pdf")
    elif case == "unmasked":
        extra = ["--unmasked", "--keys", str(tmp_path / "keys")]
    res = _cli(*[x for kv in args.items() for x in kv], *extra)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not list(tmp_path.glob("r.*"))


def test_through_hallctl(week: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "h.pdf"
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "report", "--config", str(CONFIG), "--data",
                          str(week["data"]), "--from", "2026-11-23", "--to", "2026-11-23", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().startswith(b"%PDF")
