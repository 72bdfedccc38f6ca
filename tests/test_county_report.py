"""The county report and the 考核 scorecard, on a real PostgreSQL: a simulated week of the county centre's hall
(site PA, the same ledger `hallctl report` reads) and a few small sites written by hand, each shipped through
the hub's own `store_batch`.

What is held: PA's row in the county report is PA's own hall report over the same days; the scorecard ranks a
worse town lower, follows the weights (changing them changes the order as worked out by hand below) and says
无数据 where there is nothing to measure; the files read back; no citizen's name, ID number or phone from the
events is in any output; a county_reader sees citizens' fields masked and cannot read the raw events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pytest

from devices.privacy import mask_address, mask_id_number, mask_name, mask_phone
from hall_bus.config import HallConfig
from hall_bus.county.ingest import Shipped, escalate_late, store_batch
from hall_bus.county.projections import TABLES, rebuild
from hall_bus.county.report import build_county_report, county_figures
from hall_bus.county.schema import migrate
from hall_bus.county.scorecard import NO_DATA, Quarter, build_scorecard, scorecard
from hall_bus.county.sites import County, Weights, load_county
from hall_bus.reports.build import ReportRequest, build_report
from hall_bus.reports.cases import CaseReader, LedgerSnapshot
from hall_bus.reports.records import complaint_figures
from hall_bus.store.ledger import Ledger
from tests.test_sim_week import MONDAY, simulate_week

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
SUNDAY = MONDAY + timedelta(days=6)
Q4 = Quarter(2026, 4)
PERSONAL = ("applicant", "id_number", "phone", "collector", "collector_id", "complainant", "name", "contact",
            "principal")


@pytest.fixture(scope="module")
def county() -> County:
    return load_county(ROOT / "config" / "county.example.toml")


@pytest.fixture(scope="module")
def pa_week(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Shipped]]:
    """A week of the county centre's hall (PA), and its ledger's events as the site's link ships them."""
    data = tmp_path_factory.mktemp("pa-week")
    _state, problems = simulate_week(cfg, data, visitors=100)
    assert problems == []
    ledger = Ledger(data)
    try:
        events = [Shipped(seq, kind, at, bytes(raw).decode()) for seq, _v, kind, at, raw in ledger.raw_events()]
    finally:
        ledger.close()
    return data, events


# ---------------------------------------------------------------------- the small sites, by hand


class SiteEvents:
    """A site's ledger written by hand: numbered events in the hall's local time."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.events: list[Shipped] = []

    def add(self, kind: str, at: datetime, **data: Any) -> None:
        self.events.append(Shipped(len(self.events) + 1, kind, at.isoformat(), orjson.dumps(data).decode()))

    def case(self, at: datetime, n: int, *, on_time: bool, owner: str, counter: int | None = 1,
             service: str = "民政", applicant: str = "柏青山", id_number: str = "379901199001011234") -> None:
        number = f"{self.code}-{at:%Y%m%d}-{n:04d}"
        self.add("case_accepted", at, case=number, item="GF-379901-MZJ-002", item_name="高龄津贴申领",
                 service=service, case_kind="promised", applicant=applicant, id_number=id_number,
                 phone="13912345678", owner=owner, counter=counter, ticket=None, delegation_id=None,
                 consultation_id=None, due=(at + timedelta(days=3)).isoformat(), steps=[], by=owner)
        self.add("case_concluded", at + timedelta(hours=2), case=number, decision="approved", reason="",
                 on_time=on_time, due=(at + timedelta(days=3)).isoformat(), by=owner)

    def rating(self, at: datetime, n: int, level: str, *, helper: str | None = None, counter: int = 1,
               service: str = "民政") -> None:
        ticket = f"{at:%Y%m%d}-A{n:03d}"
        self.add("ticket_issued", at, ticket=ticket, number=f"A{n:03d}", service=service, group="general")
        if helper:
            self.add("help_claimed", at + timedelta(minutes=1), help_id=f"H-{ticket}", ticket=ticket,
                     helper=helper)
        self.add("rating_recorded", at + timedelta(minutes=9), ticket=ticket, number=f"A{n:03d}", level=level,
                 service=service, counter=counter, comment="")


def day(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, datetime.min.time(), TZ).replace(hour=hour)


TUESDAY = MONDAY + timedelta(days=1)
Q3_DAY = date(2026, 9, 15)


def small_sites() -> list[SiteEvents]:
    """Three towns, two villages and two partner points. In the fourth quarter PAT01 is on time but half
    rated badly, PAT02 is late but well rated and let a hand-over lapse, PAT03 is worse at everything; in the
    third quarter PAT02 was ahead of PAT01. PAP02 has nothing at all, PAP01 no ratings."""
    v1, v2 = SiteEvents("PAT01V01"), SiteEvents("PAT02V01")
    t1, t2, t3 = SiteEvents("PAT01"), SiteEvents("PAT02"), SiteEvents("PAT03")
    p1 = SiteEvents("PAP01")
    # the third quarter
    for i in (1, 2):
        t1.case(day(Q3_DAY), i, on_time=False, owner="PAT01-01")
        t2.case(day(Q3_DAY), i, on_time=True, owner="PAT02-01")
    # the fourth: hand-overs first (the sender's event creates the hub's row the receiver's events update)
    v1.case(day(TUESDAY, 9), 1, on_time=True, owner="PAT01V01-01")
    v1.case(day(TUESDAY, 9), 2, on_time=True, owner="PAT01V01-01")
    v1.add("case_handed_over", day(TUESDAY, 9), handover_id="HO-1", case="PAT01V01-20261124-0001", to_site="PAT01")
    v2.add("case_handed_over", day(TUESDAY, 9), handover_id="HO-2", case="PAT02V01-20261124-0001", to_site="PAT02")
    t1.add("handover_received", day(TUESDAY, 10), handover_id="HO-1")
    t1.add("handover_accepted", day(TUESDAY, 11), handover_id="HO-1")
    t1.add("case_result_returned", day(TUESDAY, 16), handover_id="HO-1")
    for i in range(1, 5):
        t1.case(day(TUESDAY), i, on_time=True, owner="PAT01-01")
        t1.rating(day(TUESDAY, 11), i, "满意" if i <= 2 else "不满意", helper="PAT01-01")
        t2.case(day(TUESDAY), i, on_time=i == 1, owner="PAT02-01", counter=2)
        t2.rating(day(TUESDAY, 11), i, "非常满意", helper="PAT02-01", counter=2)
    t1.add("consultation_opened", day(TUESDAY, 12), consultation_id="Q-000001", helper="PAT01-01", name="龚雪梅",
           contact="13712345678", question="养老保险怎么交", service="人社", ticket=None,
           due=day(TUESDAY, 17).isoformat())
    t1.add("consultation_answered", day(TUESDAY + timedelta(days=2), 9), consultation_id="Q-000001",
           by="PAT01-01", answer="已电话答复")
    t1.add("followup_opened", day(TUESDAY, 12), followup_id="FU-000001", ticket="20261124-A003", number="A003",
           level="不满意", service="民政", counter=1, comment="", due=day(TUESDAY + timedelta(days=3)).isoformat())
    t1.add("followup_assigned", day(TUESDAY, 13), followup_id="FU-000001", owner="PAT01-02",
           due=day(TUESDAY + timedelta(days=3)).isoformat())
    t1.add("followup_closed", day(TUESDAY, 15), followup_id="FU-000001", ticket="20261124-A003", note="已回访",
           by="PAT01-02")
    t2.add("complaint_registered", day(TUESDAY, 14), complaint_id="CP-000001", channel="hotline",
           subject_kind="staff", subject="PAT02-01", complainant="龚女士", phone="13612345678", text="态度差",
           received_at=day(TUESDAY, 14).isoformat(), due=day(TUESDAY + timedelta(days=1), 14).isoformat(),
           by="PAT02-02", ticket=None)
    t2.add("complaint_closed", day(TUESDAY + timedelta(days=3), 9), complaint_id="CP-000001", by="PAT02-02",
           reply="已整改")
    for i in (1, 2):
        t3.case(day(TUESDAY), i, on_time=False, owner="PAT03-01")
        t3.rating(day(TUESDAY, 11), i, "非常不满意", helper="PAT03-01")
    p1.case(day(TUESDAY), 1, on_time=True, owner="PAP01-01", counter=None, service="人社")
    return [v1, v2, t1, t2, t3, p1]


def _levels(county: County) -> dict[str, str]:
    return {s.code: s.level for s in county.sites}


def ship(conn: psycopg.Connection[Any], county: County, site: str, events: list[Shipped]) -> None:
    for i in range(0, len(events), 500):
        store_batch(conn, site, events[i:i + 500], accept_hours=county.hub.handover_accept_hours,
                    levels=_levels(county), outgoing=lambda t, d: None)


@pytest.fixture
def county_db(pg_dsn: str, county: County, pa_week: tuple[Path, list[Shipped]]) -> Iterator[str]:
    """The county ledger with PA's week and the small sites, shipped as the hub stores them."""
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, [(s.code, s.name, s.level, s.parent) for s in county.sites])
        for site in small_sites():
            ship(conn, county, site.code, site.events)
        ship(conn, county, "PA", pa_week[1])
        late = escalate_late(conn, day(TUESDAY + timedelta(days=3)))
        assert [r["handover_id"] for r in late] == ["HO-2"]
    yield pg_dsn


def citizens(events: list[Shipped]) -> set[str]:
    """Every citizen's name, ID number and phone in the events (long enough to search for safely)."""
    found: set[str] = set()
    for e in events:
        data = orjson.loads(e.data)
        for key in PERSONAL:
            value = data.get(key)
            if isinstance(value, str) and len(value.strip()) >= 2 and e.type != "staff_added":
                found.add(value.strip())
    return found


# ---------------------------------------------------------------------- the figures agree with the hall's


def hall_complaints(cfg: HallConfig, data: Path, first: date, last: date) -> Any:
    """The hall report's complaint figures, read as build_report reads them."""
    snap = LedgerSnapshot(data)
    try:
        reader = CaseReader(snap, cfg.hall.tz, cfg.hall.day_rollover, first, last)
        for _ in reader:
            pass
        as_of = datetime.fromisoformat(snap.last_at).astimezone(cfg.hall.tz) if snap.last_at else None
        return complaint_figures(reader.records.complaints.values(), as_of)
    finally:
        snap.close()


@pytest.mark.parametrize("first, last", [(MONDAY, SUNDAY), (TUESDAY, TUESDAY + timedelta(days=2))])
def test_pa_in_the_county_report_is_pa_own_report(county_db: str, county: County, cfg: HallConfig,
                                                  pa_week: tuple[Path, list[Shipped]], tmp_path: Path,
                                                  first: date, last: date) -> None:
    data, _ = pa_week
    hall = build_report(ReportRequest(cfg, data, first, last, [tmp_path / "hall.xlsx"]))
    work, visits = hall.extra["casework"], hall.summary.total
    with psycopg.connect(county_db) as conn:
        fig = county_figures(conn, county, first, last)
    pa = fig.sites["PA"]
    assert (pa.visits, pa.accepted, pa.concluded, pa.on_time) == (hall.cases, work.accepted, work.total.concluded,
                                                                  work.total.on_time)
    assert pa.accepted > 0 and 0 < pa.on_time < pa.concluded  # the week has late cases: a real comparison
    assert pa.on_time_rate == work.total.rate
    assert (pa.rated, pa.satisfaction_rate) == (visits.rated, visits.satisfaction_rate)
    assert pa.rated > 0 and pa.satisfaction_rate is not None and pa.satisfaction_rate < 1
    complaints = hall_complaints(cfg, data, first, last).total
    assert (pa.complaints, pa.complaints_on_time, pa.complaints_decided) == (
        complaints.received, complaints.on_time, complaints.decided)
    assert pa.complaint_rate == complaints.rate
    if (first, last) == (MONDAY, SUNDAY):
        assert pa.complaints > 0
    # the county adds up the same cases per service and per person as the hall does
    assert sum(t.concluded for (site, _), t in fig.windows.items() if site == "PA") == sum(
        t.concluded for name, t in work.by["window"].items() if name != "代办/无窗口")
    assert {s: t.concluded for s, t in work.by["service"].items()} == {
        s: t.concluded for s, t in _pa_only(fig, county_db, county, first, last).services.items() if t.concluded}


def _pa_only(fig: Any, dsn: str, county: County, first: date, last: date) -> Any:
    """The same figures with the small sites' events out of the way: PA's services alone."""
    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
        conn.execute("DELETE FROM county.p_cases WHERE site <> 'PA'")
        return county_figures(conn, county, first, last)


def test_levels_sites_people_and_hand_overs(county_db: str, county: County) -> None:
    with psycopg.connect(county_db) as conn:
        fig = county_figures(conn, county, Q4.start, Q4.end, as_of=day(TUESDAY + timedelta(days=3)))
    towns = fig.levels["town"]
    assert (towns.accepted, towns.concluded, towns.on_time) == (10, 10, 5)
    assert fig.levels["village"].handovers_sent == 2 and fig.sites["PAT01V01"].handovers_sent == 1
    t1, t2 = fig.sites["PAT01"], fig.sites["PAT02"]
    assert (t1.handovers_addressed, t1.handovers_received, t1.handovers_in_time, t1.handovers_escalated) == (
        1, 1, 1, 0)
    assert (t2.handovers_addressed, t2.handovers_received, t2.handovers_decided, t2.handovers_escalated) == (
        1, 0, 1, 1)
    assert t1.hold_hours_avg == 6.0 and t1.hold_hours_p90 == 6.0 and towns.hold_hours_avg == 6.0
    assert (t1.consultations, t1.consultations_overdue) == (1, 1)
    assert (t1.followups, t1.followups_closed, t1.followup_rate) == (1, 1, 1.0)
    assert (t2.complaints, t2.complaints_decided, t2.complaint_rate) == (1, 1, 0.0)
    person = fig.persons[("PAT01", "PAT01-01")]
    assert (person.accepted, person.rated, person.satisfied, person.consultations) == (4, 4, 2, 1)
    assert fig.persons[("PAT01", "PAT01-02")].followups == 1  # the follow-up counts for who must put it right
    assert fig.persons[("PAT02", "PAT02-01")].complaints == 1  # the complaint was about them
    assert fig.person_label("PAT01-01") == "孙丽（PAT01-01）"  # the county file's roster names people
    assert fig.windows[("PAT02", 2)].rated == 4
    assert fig.sites["PAP01"].rated == 0 and fig.sites["PAP01"].satisfaction_rate is None


def test_projections_rebuilt_from_the_events_equal_those_kept_at_ingest(county_db: str) -> None:
    with psycopg.connect(county_db) as conn:
        def digest() -> list[Any]:
            return [conn.execute(f"SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) "
                                 f"FROM county.{t} x").fetchone() for t in TABLES]

        kept = digest()
        with conn.transaction():
            rebuild(conn)
        assert digest() == kept
        assert all(n for n, _ in kept)  # every table has rows to compare


# ---------------------------------------------------------------------- the scorecard


def _ranking(result: Any, title: str) -> dict[str, Any]:
    return {s.key: s for r in result.rankings if r.title == title for s in r.scores}


def test_the_scorecard_ranks_by_the_weights_and_says_no_data(county_db: str, county: County) -> None:
    with psycopg.connect(county_db) as conn:
        result = scorecard(conn, county, Q4)
        towns = _ranking(result, "乡镇便民服务中心（本级）")
        # worked out by hand from the events above, with the county file's weights 0.4 / 0.3 / 0.1 / 0.1 / 0.1:
        # PAT01: on time 100, satisfied 50, hand-over 100, complaints 无数据, follow-ups 100 → 75 / 0.9
        # PAT02: on time 25, satisfied 100, complaint late 0, hand-over lapsed 0, follow-ups 无数据 → 40 / 0.9
        # PAT03: on time 0, satisfied 0, the rest 无数据 → 0
        assert towns["PAT01"].components == {"on_time": 100.0, "satisfaction": 50.0, "complaints": None,
                                             "handover": 100.0, "followups": 100.0}
        assert towns["PAT01"].total == round((0.4 * 100 + 0.3 * 50 + 0.1 * 100 + 0.1 * 100) / 0.9, 2)
        assert towns["PAT02"].total == round((0.4 * 25 + 0.3 * 100 + 0.1 * 0 + 0.1 * 0) / 0.9, 2)
        assert towns["PAT03"].total == 0.0
        assert [towns[c].rank for c in ("PAT01", "PAT02", "PAT03")] == [1, 2, 3]
        assert (towns["PAT01"].mark, towns["PAT03"].mark) == ("前列", "末位")
        # the third quarter had PAT02 ahead; PAT03 had nothing then
        assert (towns["PAT01"].prev_rank, towns["PAT02"].prev_rank, towns["PAT03"].prev_rank) == (2, 1, None)
        assert (towns["PAT01"].change, towns["PAT02"].change, towns["PAT03"].change) == ("↑1", "↓1", "新")
        partners = _ranking(result, "合作代办点")
        assert partners["PAP01"].components["satisfaction"] is None  # nobody rated the bank: 无数据, not 0
        assert partners["PAP01"].total == 100.0  # its weight went to what it has (on time 100)
        assert partners["PAP02"].total is None and partners["PAP02"].rank is None
        with_villages = _ranking(result, "乡镇（含所辖村）")
        assert with_villages["PAT01"].components["on_time"] == 100.0  # PAT01 4/4 and PAT01V01 2/2
        # satisfaction weighs most now and hand-overs nothing: PAT02 passes PAT01, as worked out by hand
        heavy = Weights(on_time=0.1, satisfaction=0.7, complaints=0.1, handover=0.0, followups=0.1)
        towns = _ranking(scorecard(conn, county, Q4, weights=heavy), "乡镇便民服务中心（本级）")
        assert towns["PAT01"].total == round((0.1 * 100 + 0.7 * 50 + 0.0 * 100 + 0.1 * 100) / 0.9, 2)
        assert towns["PAT02"].total == round((0.1 * 25 + 0.7 * 100 + 0.1 * 0 + 0.0 * 0) / 0.9, 2)
        assert [towns[c].rank for c in ("PAT02", "PAT01", "PAT03")] == [1, 2, 3]


def _pdf_text(path: Path) -> str:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(path)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _xlsx_cells(path: Path) -> dict[str, list[list[Any]]]:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def test_the_files_read_back_without_any_citizen_in_them(county_db: str, county: County, tmp_path: Path,
                                                         pa_week: tuple[Path, list[Shipped]]) -> None:
    outs = [tmp_path / "county.xlsx", tmp_path / "county.pdf"]
    done = build_county_report(county_db, county, MONDAY, SUNDAY, outs)
    print(f"county report at the test size: {done['seconds']:.2f} s ({done['queries']})")
    assert done["seconds"] < 30 and done["sites"] >= 6
    sheets = _xlsx_cells(outs[0])
    assert list(sheets) == ["说明", "按层级", "按站点", "按事项类别", "按窗口", "按人员"]
    head, *rows = sheets["按站点"]
    assert head[:6] == ["站点代码", "站点", "层级", "上级", "受理", "办结"]
    pa_row = next(r for r in rows if r[0] == "PA")
    pa = done["figures"].sites["PA"]
    assert pa_row[4:7] == [pa.accepted, pa.concluded, pa.on_time] and isinstance(pa_row[4], int)
    assert pa_row[head.index("按时办结率")] == pytest.approx(pa.on_time_rate)
    assert pa_row[head.index("满意率")] == pytest.approx(pa.satisfaction_rate)
    pdf = _pdf_text(outs[1])
    assert "平安县政务服务中心" in pdf and "按层级" in pdf and f"{pa.on_time_rate * 100:.1f}%" in pdf

    card = [tmp_path / "通报.pdf", tmp_path / "通报.xlsx"]
    build_scorecard(county_db, county, "2026Q4", card)
    text = _pdf_text(card[0])
    assert "2026年第四季度" in text and "按时办结率 0.4" in text and NO_DATA in text
    assert "乡镇便民服务中心（本级）排名" in text and "前列" in text and "末位" in text and "↑1" in text
    assert text.index("城关镇便民服务中心") < text.index("石门乡便民服务中心")  # PAT01 ranked above PAT03
    towns = _xlsx_cells(card[1])["乡镇便民服务中心（本级）"]
    assert towns[0][:2] == ["排名", "乡镇"] and [r[0] for r in towns[1:]] == [1, 2, 3]

    everyone = citizens(pa_week[1]) | citizens([e for s in small_sites() for e in s.events])
    staff = {m.name for s in county.sites for m in s.staff}
    searched = everyone - staff  # a roster name printed for a member of staff is not a citizen's
    assert len(searched) > 20 and "柏青山" in searched and "379901199001011234" in searched
    for path in [*outs, *card]:
        if path.suffix == ".pdf":
            blob = _pdf_text(path)
        else:
            blob = "\n".join(str(v) for rows in _xlsx_cells(path).values() for r in rows for v in r if v is not None)
        leaked = sorted(v for v in searched if v in blob)
        assert leaked == [], f"{path.name} shows citizens' data: {leaked[:5]}"


# ---------------------------------------------------------------------- the county_reader's masked views


@pytest.mark.parametrize("value", ["张伟", "欧阳娜娜", " 李 ", "", "王", "司马光", "379901199001011234", "12345678",
                                   "13912345678", "0371-6655443", "123456", "平安县城关镇建设路12号", "东关村"])
def test_the_sql_masks_are_the_halls(pg_dsn: str, value: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn, [])
        got = conn.execute("SELECT county.mask_name(%s), county.mask_id_number(%s), county.mask_phone(%s), "
                           "county.mask_address(%s)", (value, value, value, value)).fetchone()
    assert got == (mask_name(value), mask_id_number(value), mask_phone(value), mask_address(value))


def test_a_reader_sees_citizens_masked_and_an_auditor_sees_them_whole(county_db: str, county: County) -> None:
    name = f"clerk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(county_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} NOLOGIN IN ROLE county_reader")
        try:
            conn.execute(f"SET ROLE {name}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT data FROM county.events LIMIT 1")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT payload FROM county.deliveries LIMIT 1")
            row = conn.execute("SELECT applicant, id_number, phone FROM county.cases_view "
                               "WHERE site = 'PAT01' LIMIT 1").fetchone()
            assert row == ("柏**", "3799**********1234", "139****5678")
            data = conn.execute("SELECT data FROM county.events_view WHERE site = 'PAT02' "
                                "AND type = 'complaint_registered'").fetchone()[0]
            assert data["complainant"] == "龚**" and data["phone"] == "136****5678" and "text" not in data
            whole = conn.execute("SELECT string_agg(data::text, '') FROM county.events_view").fetchone()[0]
            assert "柏青山" not in whole and "龚雪梅" not in whole and "13912345678" not in whole
            assert conn.execute("SELECT name, contact FROM county.consultations_view").fetchone() == (
                "龚**", "137****5678")
            # the report needs nothing more than a reader may read
            fig = county_figures(conn, county, Q4.start, Q4.end)
            assert fig.sites["PAT01"].accepted == 4
            conn.execute("RESET ROLE")
            conn.execute("SET ROLE county_auditor")
            raw = conn.execute("SELECT data->>'applicant', data->>'id_number' FROM county.events "
                               "WHERE site = 'PAT01' AND type = 'case_accepted' LIMIT 1").fetchone()
            assert raw == ("柏青山", "379901199001011234")
            conn.execute("RESET ROLE")
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


# ---------------------------------------------------------------------- the command line


def _hallctl(argv: list[str]) -> int:
    from hall_bus.cli.hallctl import main

    return main(argv)


def test_the_commands_write_both_files_and_say_each_mistake_in_one_line(county_db: str, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    county_file = str(ROOT / "config" / "county.example.toml")
    base = ["county", "report", "--dsn", county_db, "--county", county_file]
    outs = ["--out", str(tmp_path / "c.xlsx"), "--out", str(tmp_path / "c.pdf")]
    assert _hallctl([*base, "--from", "2026-11-23", "--to", "2026-11-29", *outs]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pdf", "c.xlsx"]  # no temporary file left
    capsys.readouterr()
    cases = [
        ([*base, "--from", "2026-11-31", "--to", "2026-11-29", *outs], "--from '2026-11-31': not a date"),
        ([*base, "--from", "2026-11-29", "--to", "2026-11-23", *outs], "the dates are backwards"),
        ([*base, "--from", "2026-11-23", "--to", "2026-11-29", "--out", str(tmp_path / "no" / "c.pdf")],
         "does not exist"),
        ([*base[:3], "host=127.0.0.1 port=1 dbname=county user=nobody connect_timeout=2", *base[4:], "--from",
          "2026-11-23", "--to", "2026-11-29", *outs], "cannot reach the county database"),
        (["county", "scorecard", "--dsn", county_db, "--county", county_file, "--quarter", "2026Q5", "--out",
          str(tmp_path / "s.pdf")], "--quarter '2026Q5': not a quarter"),
    ]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    for argv, words in cases:
        assert _hallctl(argv) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # nothing was touched
    assert _hallctl(["county", "scorecard", "--dsn", county_db, "--county", county_file, "--quarter", "2026Q4",
                     "--out", str(tmp_path / "s.pdf")]) == 0
    assert "合作代办点: 1 ranked of 2" in capsys.readouterr().err


def test_the_dashboard_reads_as_a_county_reader_what_it_reads_as_the_hub(county_db: str) -> None:
    """The dashboard's user needs only county_reader: the masked view and the deliveries without payloads."""
    import asyncio
    from dataclasses import asdict

    from hall_bus.county.board import read_board

    name = f"board_{uuid.uuid4().hex[:8]}"
    now = day(TUESDAY, 18)

    async def board(role: str | None) -> dict[str, Any]:
        async with await psycopg.AsyncConnection.connect(county_db, autocommit=True) as conn:
            if role:
                await conn.execute(f"SET ROLE {role}")
            b = await read_board(conn, now=now, tz=TZ, silent_hours=24, connected_seconds=0)
            return asdict(b)

    with psycopg.connect(county_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} NOLOGIN IN ROLE county_reader")
    try:
        as_hub, as_reader = asyncio.run(board(None)), asyncio.run(board(name))
        assert as_reader == as_hub
        assert as_hub["county"]["accepted"] > 10 and as_hub["county"]["rated"] > 10 and as_hub["can_read_events"]
        assert as_hub["handovers_open"] == 1  # HO-2, never accepted
        assert "柏青山" not in repr(as_reader)
    finally:
        with psycopg.connect(county_db, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")
