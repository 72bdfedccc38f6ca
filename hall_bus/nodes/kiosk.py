"""The kiosk's glue between the hall bus and its devices: card in, group suggested, ticket issued, paper out.

The order matters to the visitor. The printer is asked first; if it cannot print (paper out, cover open) the
ticket is still issued but shown on screen — never a number in the queue that nobody holds (a common complaint
about other systems), and never a visitor sent away because of a printer. Device calls block, so they run in a
thread while the bus keeps its heartbeats.

A device fault is never the visitor's problem: a printer that is absent, unreachable, unplugged, out of paper,
open, or that stops in the middle of a ticket gives an outcome with the ticket on screen and a note saying what
happened; the driver reconnects on the next ticket, so printing resumes by itself once the printer is back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.errors import DeviceError
from devices.idcard.card import CardData
from devices.idcard.reader import IdCardReader
from devices.printer.driver import PrinterNotReady, TicketPrinter
from devices.printer.ticket import QR, Line, Ticket, layout
from hall_bus.config import HallConfig
from hall_bus.domain import commands as c
from hall_bus.domain.commands import PrintResult
from hall_bus.nodes.device_status import StatusReporter
from hall_bus.web.links import ticket_link
from hall_bus.wire.client import BusError, BusTimeout, HallClient

log = logging.getLogger(__name__)


@dataclass
class KioskOutcome:
    answer: dict[str, Any]
    printed: bool = False
    on_screen: list[str] = field(default_factory=list)  # what the screen shows when paper did not come out
    ticket: Ticket | None = None  # for a screen that draws the QR code itself
    printer_note: str = ""
    card_note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.answer.get("ok"))


class KioskAgent:
    def __init__(self, client: HallClient, config: HallConfig, node: str, *, printer: TicketPrinter | None = None,
                 reader: IdCardReader | None = None) -> None:
        self.client = client
        self.cfg = config
        self.node = node
        self.printer = printer
        self.reader = reader
        # Tells the greeters when tickets stop coming out on paper (someone should bring a roll) and when they
        # come out again; the latest state always wins (hall_bus/nodes/device_status.py).
        self.printer_status = StatusReporter(client, "printer")
        self._printer_lock = asyncio.Lock()  # a ticket and a notice slip never share the paper at once
        self.slips: list[tuple[str, bool, str]] = []  # (notice id or job, printed, problem): console and tests
        self._slip_tasks: set[asyncio.Task[None]] = set()
        self._taken: dict[tuple[str, float], None] = {}  # print jobs this process took on (each printed once)
        self.on_slip_problem: Any = None  # (notice id, problem) -> None: the screen tells the visitor

    async def read_card(self) -> tuple[CardData | None, str]:
        if self.reader is None:
            return None, "no ID card reader on this kiosk"
        try:
            card = await asyncio.to_thread(self.reader.read)
        except DeviceError as exc:
            return None, f"card could not be read: {exc.message}"
        except Exception:  # a driver bug must not cost the visitor a ticket: log it, go on without the card
            log.exception("ID card reader failed unexpectedly")
            return None, "card could not be read: reader error (see the log)"
        if card is None:
            return None, "no card on the reader"
        return card, ""

    async def serve(self, service: str, group: str | None = None, *, use_card: bool = False,
                    card: CardData | None = None, **facts: Any) -> KioskOutcome:
        """`card`: one the screen already read (never read twice, never from two threads); `use_card`: read now."""
        card_note = ""
        if card is None and use_card:
            card, card_note = await self.read_card()
        printer_ready, printer_note = await self._printer_ready()
        born = card.birth.isoformat() if card is not None and card.birth is not None else None
        try:
            cmd = c.build(c.Issue, service=service, node=self.node, group=group or None, birth_date=born, **facts)
        except c.CommandInvalid as exc:
            return KioskOutcome({"ok": False, "op": "issue", "code": "invalid", "message": str(exc)},
                                card_note=card_note, printer_note=printer_note)
        answer = await self.client.send(cmd)
        outcome = KioskOutcome(answer, card_note=card_note, printer_note=printer_note)
        if not outcome.ok:
            return outcome
        ticket = self._ticket(answer["result"], card)
        outcome.ticket = ticket
        if printer_ready and self.printer is not None:
            # not printed whole (the paper ran out, the printer stopped mid-ticket): the screen shows it whole
            outcome.printed, problem = await self._print(self.printer.print_ticket, ticket)
            if not outcome.printed:
                outcome.printer_note = problem
        if not outcome.printed:
            outcome.on_screen = screen_lines(ticket)
        if self.printer is not None:  # sent in the background: the alert must not hold the visitor's ticket
            self.printer_status.set(outcome.printed, outcome.printer_note)
        return outcome

    # ------------------------------------------------------------------ one-time notice slips

    def on_event(self, ev: dict[str, Any]) -> None:
        """From the bus: any change may bring a print job for this kiosk (a greeter or a window told a visitor
        what is missing, 一次性告知, and named this kiosk to print the slip)."""
        self.take_jobs()

    def on_resync(self) -> None:
        """After a snapshot (a restart, a reconnect, a new key): the jobs still owed are in it."""
        self.take_jobs()

    def take_jobs(self) -> None:
        """Print every job the hall says this kiosk still owes, once each, and report how it went."""
        state = getattr(self.client, "state", None)
        if state is None:
            return
        for job in state.print_jobs.values():
            attempt = (job.id, job.queued_ts)  # a reprint is a new attempt of the same job
            if job.kiosk != self.node or job.status != "pending" or attempt in self._taken:
                continue
            self._taken[attempt] = None
            task = asyncio.get_running_loop().create_task(self._print_job(job.id, dict(job.slip), job.kind))
            self._slip_tasks.add(task)
            task.add_done_callback(self._slip_tasks.discard)

    async def _print_job(self, job_id: str, slip: dict[str, Any], kind: str = "notice") -> None:
        """Each kind of paper with its own layout: a notice lists materials, a receipt or result a case."""
        if kind == "notice":
            printed, problem = await self.print_notice(slip)
        else:
            printed, problem = await self.print_case_slip(job_id, slip)
        await self._report(job_id, printed, problem)

    async def print_case_slip(self, job_id: str, d: dict[str, Any]) -> tuple[bool, str]:
        """A 受理回执 or 领取通知: the hall's (masked) words, the QR code of the case number. Not printed, the
        greeters are told by the hall as for a notice, and this screen hears of it too."""
        from devices.printer.ticket import CaseSlip

        slip = CaseSlip(hall=self.cfg.hall.name, title=d["title"], lines=tuple(d["lines"]), qr=d["qr"],
                        caption=d.get("caption", ""))
        printed, problem = False, "no printer on this kiosk"
        if self.printer is not None:
            printed, problem = await self._print(self.printer.print_case_slip, slip)
            self.printer_status.set(printed, problem)
        self.slips.append((job_id, printed, problem))
        if not printed:
            log.warning("%s %s not printed: %s", d["title"], job_id, problem)
            if self.on_slip_problem is not None:
                self.on_slip_problem(job_id, problem)
        return printed, problem

    async def print_notice(self, d: dict[str, Any]) -> tuple[bool, str]:
        from devices.printer.ticket import NoticeSlip

        issued_at = datetime.fromisoformat(d["issued_at"]).astimezone(self.cfg.hall.tz)
        slip = NoticeSlip(hall=self.cfg.hall.name, notice_id=d["notice_id"], service=d["service"],
                          items=tuple(d["items"]), issued_at=issued_at, by=d.get("by", ""), number=d.get("number", ""))
        printed, problem = False, "no printer on this kiosk"
        if self.printer is not None:
            printed, problem = await self._print(self.printer.print_notice, slip)
            self.printer_status.set(printed, problem)
        self.slips.append((d["notice_id"], printed, problem))
        if not printed:  # the greeters are told by the hall; the visitor here reads it on the screen
            log.warning("notice slip %s not printed: %s", d["notice_id"], problem)
            if self.on_slip_problem is not None:
                self.on_slip_problem(d["notice_id"], problem)
        return printed, problem

    async def print_guide(self, item: Any) -> tuple[bool, str]:
        """The short guide (简版指南) of a catalogue item on this kiosk's printer, as wide as its paper: (came out
        whole, what went wrong). The same path as a notice slip: one job at a time on the paper, a printer that is
        out of paper or missing gives the reason instead (the screen then tells the visitor to photograph the
        page), and the greeters learn the printer's state."""
        from devices.printer.ticket import Cut, Line, Rule
        from hall_bus.catalogue.guide import short_guide

        if self.printer is None:
            return False, "no printer on this kiosk"
        rows = short_guide(item, max(16, self.printer.profile.columns))
        ops = [Line(self.cfg.hall.name, bold=True), Line("简版指南", size=2, bold=True), Rule(),
               Line(rows[0], bold=True, align="left"), *(Line(r, align="left") for r in rows[2:]),
               Rule(), Line(f"打印时间 {datetime.now(self.cfg.hall.tz):%Y-%m-%d %H:%M}"), Cut()]
        # The driver's own layout printer: the same status checks before and after as a ticket or a notice slip
        # (it has no public call for a layout of the caller's; devices/ is outside the kiosk node).
        printed, problem = await self._print(self.printer._print, ops)
        self.printer_status.set(printed, problem)
        if not printed:
            log.warning("short guide of %s not printed: %s", item.code, problem)
        return printed, problem

    async def _report(self, job_id: str, printed: bool, problem: str) -> None:
        """Until the hall has it: a report lost to a dropped link would leave the job owed, and the slip would
        come out twice after a restart."""
        delay = 0.5
        while True:
            try:
                answer = await self.client.send(PrintResult(job=job_id, ok=printed, problem=problem[:200]))
                if not answer.get("ok") and answer.get("code") not in ("bad_state",):
                    log.warning("print job %s: the hall refused the report: %s", job_id, answer.get("message"))
                return
            except (BusTimeout, BusError) as exc:
                log.warning("print job %s: could not report to the hall (%s); retrying", job_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _print(self, job: Any, paper: Any) -> tuple[bool, str]:
        """One ticket or slip on the printer, in a thread, one at a time: (came out whole, what went wrong)."""
        try:
            async with self._printer_lock:
                result = await asyncio.to_thread(job, paper)
        except DeviceError as exc:
            return False, f"printing failed: {exc}"
        except Exception:  # a driver bug must not cost the visitor their paper: logged, shown on screen
            log.exception("printer failed unexpectedly")
            return False, "printing failed: printer error (see the log)"
        return result.ok, result.problem()

    async def _printer_ready(self) -> tuple[bool, str]:
        if self.printer is None:
            return False, "no printer on this kiosk"
        try:
            status = await asyncio.to_thread(self.printer.status)
        except DeviceError as exc:
            return False, f"printer: {exc}"
        except Exception:
            log.exception("printer status failed unexpectedly")
            return False, "printer: error (see the log)"
        if status.known and not status.can_print:
            return False, str(PrinterNotReady(status))
        return True, "paper near end" if status.paper_near_end else ""

    def _ticket(self, result: dict[str, Any], card: CardData | None) -> Ticket:
        group = result["group"]
        zone = self.cfg.groups[group].zone
        hint = f"请到{self.cfg.zones_by_id[zone].name}等候" if zone else None
        return Ticket(hall=self.cfg.hall.name, number=result["number"], service=result["service"],
                      group_label=result["label"], ticket_id=result["ticket"],
                      issued_at=datetime.now(self.cfg.hall.tz), ahead=result["ahead"], wait_min=result["wait_min"],
                      name=card.name if card else None, window_hint=hint,
                      link=ticket_link(self.cfg, result["ticket"], result.get("token", "")))


def screen_lines(ticket: Ticket) -> list[str]:
    """The ticket as the screen shows it when paper did not come out: every printed line, and the QR code's
    text (the phone page's link for the ticket, or its id) so the visitor can still scan or note it."""
    lines = []
    for op in layout(ticket):
        if isinstance(op, Line):
            lines.append(op.text)
        elif isinstance(op, QR):
            lines.append(f"二维码 QR: {op.content}")
    return lines
