"""Hostile or clumsy input, as a person gives it to `hallctl`: each gets one line saying what and where, exit 2
(or the command's documented code), no traceback, and nothing already stored is lost."""

from __future__ import annotations

import json
from pathlib import Path

from .bus_helpers import hallctl
from .conftest import EXAMPLE

DAY = "2026-11-23T09:00:00+08:00"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


# ---------------------------------------------------------------- 1. scenario lines


def test_scenario_lines_nested_100000_deep_or_with_a_5000_digit_number(tmp_path: Path) -> None:
    script = tmp_path / "day.jsonl"
    good = json.dumps({"at": DAY, "op": "issue", "service": "医保"}, ensure_ascii=False)
    script.write_text("\n".join([good, "[" * 100_000, '{"op": "call_next", "counter": ' + "9" * 5000 + "}",
                                 '{"op": "issue", "service": "' + "x" * 100_000 + '"}',
                                 '{"op": "call_next", "counter": 10}']) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(data))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.splitlines()
    assert lines[0] == f"{script}:2: arrays or objects nested too deeply; a command needs at most two levels"
    assert lines[1].startswith(f"{script}:3: a number with more than 4300 digits")
    assert lines[2].startswith(f"{script}:4: issue refused (unknown_service)") and len(lines[2]) < 600
    assert len(lines) == 4  # and the summary line
    events = [json.loads(x) for x in res.stdout.splitlines()]
    assert [e["type"] for e in events if e["type"] in ("ticket_issued", "ticket_called")] == \
        ["ticket_issued", "ticket_called"]  # the good lines around the bad ones ran and are in the ledger


# ---------------------------------------------------------------- 2, 7. the hall configuration


def hall_file(tmp_path: Path, text: str, name: str = "hall.toml", *, prefix: bytes = b"") -> Path:
    path = tmp_path / name
    path.write_bytes(prefix + text.replace('catalogue = "catalogue.example.toml"', "").encode("utf-8"))
    return path


def config_check(path: Path) -> tuple[int, list[str]]:
    res = hallctl("config", "check", str(path))
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, res.stderr.strip().splitlines()


def test_a_config_nested_100000_deep_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    arrays = hall_file(tmp_path, example + "\n[extra]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n", "a.toml")
    line = example.count("\n") + 3
    assert config_check(arrays) == (2, [f"{arrays}:{line}: arrays or inline tables nested more than 32 deep; "
                                        "a hall file needs three levels at most"])
    tables = hall_file(tmp_path, "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n" + example, "t.toml")
    code, lines = config_check(tables)
    assert code == 2 and lines[0].startswith(f"{tables}:1: arrays or inline tables nested") and len(lines) == 1
    dotted = example.replace("recall_limit = 3", "recall_limit = 3\n" + ".".join(["a"] * 50_000) + " = 1", 1)
    keys = hall_file(tmp_path, dotted, "k.toml")  # tomllib takes a minute over 50,000 parts: refused before
    line = example[: example.index("recall_limit = 3")].count("\n") + 2
    assert config_check(keys) == (2, [f"{keys}:{line}: a dotted key with more than 32 parts; a hall file needs "
                                      "four at most"])
    # brackets inside strings and comments are not nesting
    quoted = hall_file(tmp_path, example.replace('name = "平安县政务服务中心"',
                                                 'name = "平安县[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[中心" # {{{{{{{{{'
                                                 '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{'), "q.toml")
    assert "平安县[[[[" in quoted.read_text(encoding="utf-8")
    assert config_check(quoted)[0] == 0


def test_a_5000_digit_number_or_an_infinite_share_in_the_config(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    line = example[: example.index("recall_limit = 3")].count("\n") + 1
    big = hall_file(tmp_path, example.replace("recall_limit = 3", "recall_limit = " + "9" * 5000), "big.toml")
    assert config_check(big) == (2, [f"{big}:{line}: a number with more than 4300 digits; no setting takes a "
                                     "number that long"])
    share = example[: example.index("share = 8")].count("\n") + 1
    for value in ("inf", "nan"):
        odd = hall_file(tmp_path, example.replace("share = 8", f"share = {value}", 1), f"{value}.toml")
        assert config_check(odd) == (2, [f"{odd}:{share}: services[0].share: Input should be a finite number"])


def test_share_0_everywhere_is_refused_at_the_first_share(tmp_path: Path) -> None:
    import re

    text = re.sub(r"(?m)^share = .*$", "share = 0", EXAMPLE.read_text(encoding="utf-8"))
    path = hall_file(tmp_path, text)
    code, lines = config_check(path)
    first_service = text[: text.index("\nshare = 0") + 1].count("\n") + 1
    first_group = text[: text.index("\nshare = 0", text.index("[groups.normal]")) + 1].count("\n") + 1
    assert code == 2 and lines == [
        f"{path}:{first_service}: services[0].share: every service has share = 0; give each service its part of "
        "the visitors (e.g. share = 10), or leave share out (1 each)",
        f"{path}:{first_group}: groups.normal.share: every group has share = 0; give groups.normal most of the "
        "visitors (e.g. share = 76), or leave share out of every group"]
    # one service or group with a share is enough
    some = hall_file(tmp_path, text.replace("\nshare = 0", "\nshare = 3", 1).replace(
        "[groups.normal]\nlabel = \"普通\"\nshare = 0", "[groups.normal]\nlabel = \"普通\"\nshare = 1"), "some.toml")
    assert config_check(some)[0] == 0


def test_a_utf8_bom_from_notepad_is_accepted(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    path = hall_file(tmp_path, example, prefix=b"\xef\xbb\xbf")
    res = hallctl("config", "check", str(path))
    assert res.returncode == 0 and res.stdout.startswith("ok: "), res.stderr
    # and the lines of later errors are still the editor's lines
    bad = hall_file(tmp_path, example.replace("recall_limit = 3", "recall_limit = 99"), "bad.toml",
                    prefix=b"\xef\xbb\xbf")
    line = example[: example.index("recall_limit = 3")].count("\n") + 1
    code, lines = config_check(bad)
    assert code == 2 and lines[0].startswith(f"{bad}:{line}: hall.recall_limit:")
    utf16 = tmp_path / "utf16.toml"
    utf16.write_bytes(example.encode("utf-16"))  # Notepad's "Unicode": refused with the fix
    assert config_check(utf16) == (2, [f"{utf16}:1: not UTF-8 text (save the file as UTF-8)"])


def test_curve_off_is_refused_on_the_lan_and_allowed_on_loopback(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    assert 'bind = "127.0.0.1"' in example
    lan = example.replace('bind = "127.0.0.1"', 'bind = "0.0.0.0"\ncurve = false')
    path = hall_file(tmp_path, lan)
    line = lan[: lan.index("\ncurve = false")].count("\n") + 2
    assert config_check(path) == (2, [
        f"{path}:{line}: bus.curve: curve = false with bind = '0.0.0.0' would put the hall bus on the network "
        'unencrypted and without key checks; keep curve = true (the default), or bind = "127.0.0.1" for a bench '
        "on one machine"])
    office = hall_file(tmp_path, example.replace('bind = "127.0.0.1"', 'bind = "192.168.1.10"\ncurve = false'),
                       "office.toml")
    assert config_check(office)[0] == 2
    for bind in ("127.0.0.1", "::1"):
        bench = hall_file(tmp_path, example.replace('bind = "127.0.0.1"', f'bind = "{bind}"\ncurve = false'),
                          "bench.toml")
        assert config_check(bench)[0] == 0, bind
    on = hall_file(tmp_path, example.replace('bind = "127.0.0.1"', 'bind = "0.0.0.0"'), "on.toml")
    assert config_check(on)[0] == 0


# ---------------------------------------------------------------- 3, 10. the ID card reader


def test_a_card_whose_number_holds_superscript_two_is_refused_not_a_crash() -> None:
    from devices.idcard.card import build_text, id_number_problem, parse_text
    from devices.idcard.simulator import IdCardSimulator

    assert "²".isdigit()  # why isdigit() is not enough
    assert id_number_problem("41012719520314002²") == "ID number must be 17 digits and a digit or X"
    assert id_number_problem("4101271952031400²5") == "ID number must be 17 digits and a digit or X"
    card = {"card_type": " ", "name": "张秀英", "sex": "2", "nation": "01", "birth": "19520314",
            "address": "河南省平安县城关镇人民路12号", "id_number": "41012719520314002²", "authority": "平安县公安局",
            "valid_from": "20120501", "valid_to": "长期"}
    assert parse_text(build_text(card)).id_problem
    with IdCardSimulator([card, {**card, "birth": "1952031⁴", "id_number": "410127195203140025"}]) as sim:
        sim.insert(0)
        res = hallctl("device", "idcard", "read", "--port", sim.path)
        assert res.returncode == 5, res.stderr  # docs/devices.md: a card we cannot trust
        assert one_line(res.stderr) == "warning: ID number must be 17 digits and a digit or X"
        assert "41012719520314002²" not in res.stdout and "4101**********002²" in res.stdout
        sim.insert(1)
        res = hallctl("device", "idcard", "read", "--port", sim.path)
        assert res.returncode == 5 and one_line(res.stderr) == ("bad data: read_text_photo: birth date '1952031⁴' is "
                                                                "not YYYYMMDD — try: ask the visitor to place the "
                                                                "card again")


def test_idcard_read_shows_the_birth_year_only_unless_show_id() -> None:
    from devices.idcard.simulator import IdCardSimulator, load_cards

    from .conftest import ROOT

    with IdCardSimulator(load_cards(ROOT / "assets" / "idcard" / "cards.example.json")) as sim:
        sim.insert(0)
        res = hallctl("device", "idcard", "read", "--port", sim.path)
        assert res.returncode == 0, res.stderr
        fields = dict(line.split(None, 1) for line in res.stdout.splitlines())
        assert fields["birth"] == "1952" and fields["id_number"] == "4101**********0025"
        assert fields["name"] == "张**" and "人民路" not in fields["address"]
        assert "0314" not in res.stdout.replace(fields["id_number"], "")  # not the month and day anywhere
        as_json = json.loads(hallctl("device", "idcard", "read", "--port", sim.path, "--json").stdout)
        assert as_json["birth"] == "1952" and as_json["age"] >= 74
        shown = hallctl("device", "idcard", "read", "--port", sim.path, "--show-id")
        assert "1952-03-14" in shown.stdout and "410127195203140025" in shown.stdout


# ---------------------------------------------------------------- 4. characters XML 1.0 forbids, into the XLSX


def simulate(tmp_path: Path, lines: list[dict[str, object]]) -> Path:
    script = tmp_path / "day.jsonl"
    script.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(tmp_path / "data"))
    assert res.returncode == 0, res.stderr
    return tmp_path / "data"


def report(data: Path, *outs: Path, extra: tuple[str, ...] = ()) -> object:
    return hallctl("report", "--config", str(EXAMPLE), "--data", str(data), "--from", "2026-11-23", "--to",
                   "2026-11-23", *(x for o in outs for x in ("--out", str(o))), *extra, timeout=120)


def cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    import openpyxl

    book = openpyxl.load_workbook(path)  # an XML parser that refuses what Excel refuses
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book}


def test_a_comment_with_u_fffe_and_controls_still_gives_a_workbook_that_opens(tmp_path: Path) -> None:
    data = simulate(tmp_path, [
        {"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保"},
        {"at": "2026-11-23T09:01:00+08:00", "op": "open_consultation", "helper": "王芳", "name": "张秀英",
         "question": "问\ufffe题\uffff\x01\x0b？"},
        {"at": "2026-11-23T09:02:00+08:00", "op": "call_next", "counter": 10},
        {"at": "2026-11-23T09:10:00+08:00", "op": "finish", "counter": 10, "ticket": "E001", "outcome": "refused",
         "reason": "材料\ufffe过期\x02"},
        {"at": "2026-11-23T09:11:00+08:00", "op": "rate", "ticket": "E001", "level": "不满意",
         "comment": "太慢\ufffe\uffff\x03了"},
    ])
    xlsx, pdf = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    res = report(data, xlsx, pdf)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr  # type: ignore[attr-defined]
    assert pdf.read_bytes().startswith(b"%PDF")
    sheets = cells(xlsx)
    assert sheets["回访"][1][6] == "太慢了"
    assert sheets["咨询"][1][5] == "问题？"
    assert sheets["台账"][1][-1] == "材料过期"


# ---------------------------------------------------------------- 5. the report as another user


AS_NOBODY = """
import importlib, os, pkgutil, sys
import encodings
for m in pkgutil.iter_modules(encodings.__path__):  # the interpreter's own files are behind /root: load first
    try:
        importlib.import_module("encodings." + m.name)
    except Exception:
        pass
import sqlite3, zipfile, xlsxwriter
import hall_bus.cli.hallctl as h
import hall_bus.cli.report, hall_bus.reports.build, hall_bus.reports.xlsx, hall_bus.reports.pdf
import hall_bus.sim.scenario, hall_bus.store.core, hall_bus.domain.engine
h.build_parser()
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
sys.exit(h.main(sys.argv[1:]))
"""


def as_other_user(*args: str) -> object:
    """`hallctl` as uid 65534 (nobody). Root ignores file modes, so a read-only copy would prove nothing when
    the tests run as root; the process drops to another uid after loading Python (whose files may sit in a
    directory only root can enter) and then runs the real command."""
    import subprocess
    import sys

    from .conftest import ROOT

    return subprocess.run([sys.executable, "-c", AS_NOBODY, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def shared_dir() -> Path:
    """A directory another user can enter (pytest's tmp_path is private to root); the caller removes it."""
    import os
    import tempfile

    import pytest

    if os.geteuid() != 0:
        pytest.skip("needs root to run a process as another user")
    base = Path(tempfile.mkdtemp(prefix="hall-other-user-"))
    base.chmod(0o755)
    return base


def test_report_as_another_user_after_the_server_stopped() -> None:
    import shutil
    import sqlite3

    base = shared_dir()
    try:
        out = base / "out"
        out.mkdir()
        out.chmod(0o777)
        data = simulate(base, [{"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保"}])
        assert not (data / "ledger.sqlite3-wal").exists()  # a clean stop: only the ledger and its lock

        def run(directory: Path) -> object:
            return as_other_user("report", "--config", str(EXAMPLE), "--data", str(directory), "--from",
                                 "2026-11-23", "--to", "2026-11-23", "--out", str(out / "r.xlsx"))

        res = run(data)
        assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
        assert "1 cases" in res.stdout and (out / "r.xlsx").stat().st_uid == 65534  # type: ignore[attr-defined]
        # nothing written: the ledger, its lock and the booking key the simulating core made
        assert sorted(p.name for p in data.iterdir()) == ["booking.key", "ledger.lock", "ledger.sqlite3"]

        # a server killed with events still in the -wal: read through its (read-only) -shm
        killed = base / "killed"
        shutil.copytree(data, killed)
        db = sqlite3.connect(killed / "ledger.sqlite3", isolation_level=None)
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("INSERT INTO events SELECT seq + 1, v, type, at, request_id, data FROM events WHERE seq = "
                   "(SELECT MAX(seq) FROM events)")
        wal_copy = (killed / "ledger.sqlite3-wal").read_bytes(), (killed / "ledger.sqlite3-shm").read_bytes()
        db.close()  # as root: the last close folds the -wal in; put the files back as a killed server leaves them
        (killed / "ledger.sqlite3-wal").write_bytes(wal_copy[0])
        (killed / "ledger.sqlite3-shm").write_bytes(wal_copy[1])
        assert run(killed).returncode == 0  # type: ignore[attr-defined]

        (killed / "ledger.sqlite3-shm").chmod(0o600)
        res = run(killed)
        assert res.returncode == 2 and one_line(res.stderr) == (  # type: ignore[attr-defined]
            f"{killed / 'ledger.sqlite3-shm'}: user nobody may not read it (owner root); run the report as root, or "
            "give nobody read access (e.g. the same group and chmod g+rX)")
        (killed / "ledger.sqlite3-shm").unlink()
        res = run(killed)
        assert res.returncode == 2 and one_line(res.stderr) == (  # type: ignore[attr-defined]
            f"{killed}: the ledger has a -wal file but no ledger.sqlite3-shm, and user nobody may not create it "
            "there; run the report as root, or start and stop the server once (a clean stop folds the -wal into "
            "the ledger)")

        private = base / "private"
        shutil.copytree(data, private)
        (private / "ledger.sqlite3").chmod(0o600)
        res = run(private)
        assert res.returncode == 2 and one_line(res.stderr) == (  # type: ignore[attr-defined]
            f"{private / 'ledger.sqlite3'}: user nobody may not read it (owner root); run the report as root, or "
            "give nobody read access (e.g. the same group and chmod g+rX)")
        private.chmod(0o700)
        res = run(private)
        assert res.returncode == 2 and one_line(res.stderr).startswith(  # type: ignore[attr-defined]
            f"{private}: user nobody may not enter it (owner root)")
        assert not list(out.glob(".*.tmp"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- 6. a lock file this user cannot open


def test_an_unwritable_ledger_lock_is_one_line_naming_it_and_the_fix(tmp_path: Path) -> None:
    import hashlib
    import shutil

    script = tmp_path / "more.jsonl"
    script.write_text(json.dumps({"at": "2026-11-23T10:00:00+08:00", "op": "issue", "service": "医保"},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    data = simulate(tmp_path, [{"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保"}])
    before = hashlib.sha256((data / "ledger.sqlite3").read_bytes()).hexdigest()
    lock = data / "ledger.lock"
    lock.unlink()
    lock.mkdir()  # not a file: even root cannot open it for writing
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(data))
    assert res.returncode == 2 and one_line(res.stderr) == (
        f"{lock}: cannot open the ledger's lock file (Is a directory); run as the user who owns {data}, or give "
        "this user write access to ledger.lock there")
    assert hashlib.sha256((data / "ledger.sqlite3").read_bytes()).hexdigest() == before

    base = shared_dir()  # the usual case: the server ran as root once, a technician now runs as himself
    try:
        shared = base / "data"
        shutil.copytree(data, shared)
        (shared / "ledger.lock").rmdir()
        (shared / "ledger.lock").write_text("pid 1, hallctl server", encoding="utf-8")
        shared.chmod(0o777)
        shutil.copy(script, base / "more.jsonl")
        res = as_other_user("simulate", "--config", str(EXAMPLE), "--script", str(base / "more.jsonl"), "--data",
                            str(shared))
        # the ledger itself is root's too, and the start-up write test names it first: one line with the fix
        assert res.returncode == 2 and one_line(res.stderr) == (  # type: ignore[attr-defined]
            f"{shared / 'ledger.sqlite3'}: the ledger file cannot be written (Permission denied); make it writable "
            "(chmod u+w, chattr -i, or remount the disk read-write) or give another --data directory")
        assert hashlib.sha256((shared / "ledger.sqlite3").read_bytes()).hexdigest() == before
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- 8. the console kiosk and SIGTERM


def test_the_console_kiosk_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from .bus_helpers import config_on_ports, free_port, make_keys, start_server_process
    from .conftest import ROOT
    from .test_bus_process import wait_ready

    keys = make_keys(tmp_path / "keys", ["kiosk-1"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    kiosk = None
    try:
        wait_ready(server)
        kiosk = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "run", "kiosk", "--console", "--node",
                                  "kiosk-1", "--config", str(config), "--keys", str(keys.dir), "--no-devices"],
                                 cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        assert kiosk.stdin is not None and kiosk.stdout is not None
        assert kiosk.stdout.readline().startswith("自助取号 kiosk kiosk-1")  # connected, waiting for a visitor
        kiosk.stdin.write("医保\n")
        kiosk.stdin.flush()
        assert kiosk.stdout.readline().startswith("✓ E001 医保")  # a ticket: the ledger has it
        kiosk.send_signal(signal.SIGTERM)  # the stdin pipe stays open, as a terminal's would
        code = kiosk.wait(timeout=30)
        out, err = kiosk.stdout.read(), kiosk.stderr.read() if kiosk.stderr else ""
        assert code in (0, 143) and "Traceback" not in err, (code, err)
        assert "kiosk kiosk-1: stopped" in out + err, (out, err)
    finally:
        for proc in (kiosk, server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM) if proc is server else proc.kill()
            if proc is not None:
                proc.wait(timeout=10)
    assert server.returncode == 0
    import sqlite3

    db = sqlite3.connect(tmp_path / "data" / "ledger.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM events WHERE type = 'ticket_issued'").fetchone()[0] == 1  # kept
    db.close()


# ---------------------------------------------------------------- 9. the scenario format's rate row


def test_the_rate_row_says_5_is_best_and_only_that() -> None:
    from hall_bus.domain.commands import parse_command

    from .conftest import ROOT

    row = next(line for line in (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `rate` |"))
    assert "1 = 非常满意" not in row and "5 = 非常满意" in row and "1 = 非常不满意" in row
    assert parse_command({"op": "rate", "ticket": "E001", "level": 5}).level_name == "非常满意"  # type: ignore[attr-defined]
    assert parse_command({"op": "rate", "ticket": "E001", "level": 1}).level_name == "非常不满意"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- 11. names and addresses in the report's free text


def test_mask_addresses_keeps_the_county_and_hides_the_rest() -> None:
    from devices.privacy import mask_addresses, mask_free_text, mask_names, mask_text

    cases = {
        "我住在河南省平安县城关镇人民路12号，想问医保": "我住在河南省平安县****，想问医保",
        "平安县城关镇人民路12号3单元501室": "平安县****",
        "北京市朝阳区建国路88号": "北京市朝阳区****",
        "广西壮族自治区南宁市青秀区民族大道100号": "广西壮族自治区南宁市青秀区****",
        "家在城关镇东街村": "家在****",
        "李家村3组": "****",
        "阳光小区3号楼2单元": "****",
        # not addresses: left as written
        "河南省平安县": "河南省平安县",
        "请到2楼3号窗口": "请到2楼3号窗口",
        "在城区办理还是去乡镇": "在城区办理还是去乡镇",
        "有什么区别吗": "有什么区别吗",
        "市场监管局在人民路": "市场监管局在人民路",
        "我不知道怎么走路": "我不知道怎么走路",
    }
    assert {text: mask_addresses(text) for text in cases} == cases
    assert mask_names("欧阳小明托张秀英来办，欧阳小明的卡", ["欧阳小明", "张秀英", "张", ""]) == \
        "欧阳**托张**来办，欧阳**的卡"
    assert mask_free_text("张秀英，平安县城关镇人民路12号，13812345678，410127195203140025", ["张秀英"]) == \
        "张**，平安县****，138****5678，4101**********0025"
    assert mask_text("平安县城关镇人民路12号 13812345678") == "平安县城关镇人民路12号 138****5678"  # unchanged
    for hostile in ("路" * 100_000, "平安县" * 30_000, "1号" * 50_000):  # linear, not a hang
        mask_addresses(hostile)


PRINCIPAL, VISITOR = "欧阳小明", "张秀英"
ADDRESS = "平安县城关镇人民路12号"


def test_the_masked_report_hides_the_cases_names_and_addresses_in_its_free_text(tmp_path: Path) -> None:
    from .bus_helpers import make_keys

    data = simulate(tmp_path, [
        {"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保", "group": "delegate"},
        {"at": "2026-11-23T09:00:30+08:00", "op": "record_delegation", "helper": "王芳", "principal": PRINCIPAL,
         "services": ["医保"], "pages": [{"sha256": "a" * 64, "file": "p1.jpg"}], "ticket": "E001"},
        {"at": "2026-11-23T09:01:00+08:00", "op": "open_consultation", "helper": "王芳", "name": VISITOR,
         "ticket": "E001", "question": f"{VISITOR}替{PRINCIPAL}问：住{ADDRESS}，电话13812345678，能否邮寄？"},
        {"at": "2026-11-23T09:02:00+08:00", "op": "call_next", "counter": 10},
        {"at": "2026-11-23T09:10:00+08:00", "op": "finish", "counter": 10, "ticket": "E001", "outcome": "refused",
         "reason": f"{PRINCIPAL}户籍不在{ADDRESS}"},
        {"at": "2026-11-23T09:11:00+08:00", "op": "rate", "ticket": "E001", "level": 1,
         "comment": f"{PRINCIPAL}说太慢，家在城关镇东街村"},
        {"at": "2026-11-23T09:20:00+08:00", "op": "close_followup", "followup_id": "FU-000001",
         "note": f"已电话回访{PRINCIPAL}，上门到{ADDRESS}"},
    ])
    masked = tmp_path / "m.xlsx"
    res = report(data, masked, tmp_path / "m.pdf")
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    sheets = cells(masked)
    texts = " ".join(str(v) for rows in sheets.values() for row in rows for v in row if v is not None)
    for secret in (PRINCIPAL, VISITOR, "人民路", "12号", "东街村", "13812345678"):
        assert secret not in texts, secret
    assert sheets["咨询"][1][3] == "张**"
    assert sheets["咨询"][1][5] == "张**替欧阳**问：住平安县****，电话138****5678，能否邮寄？"
    assert sheets["回访"][1][6] == "欧阳**说太慢，家在****"
    assert sheets["回访"][1][12] == "已电话回访欧阳**，上门到平安县****"
    assert "欧阳**户籍不在平安县****" in sheets["台账"][1][-1] and "委托人 欧阳**" in sheets["台账"][1][-1]
    pdfium = __import__("pytest").importorskip("pypdfium2")
    pdf = pdfium.PdfDocument(str(tmp_path / "m.pdf"))
    words = "".join(page.get_textpage().get_text_range() for page in pdf)
    assert "欧阳**" in words or "张**" in words
    for secret in (PRINCIPAL, VISITOR, "人民路", "东街村"):
        assert secret not in words, secret

    keys = make_keys(tmp_path / "keys", ["admin"])  # the admin's unmasked report keeps every word
    res = report(data, tmp_path / "u.xlsx", extra=("--unmasked", "--keys", str(keys.dir)))
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    assert cells(tmp_path / "u.xlsx")["回访"][1][6] == f"{PRINCIPAL}说太慢，家在城关镇东街村"


def test_a_damaged_event_is_one_line_without_the_personal_data_in_it(tmp_path: Path) -> None:
    import hashlib
    import shutil
    import sqlite3

    data = simulate(tmp_path, [
        {"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保"},
        {"at": "2026-11-23T09:01:00+08:00", "op": "open_consultation", "helper": "王芳", "name": VISITOR,
         "ticket": "E001", "question": f"住{ADDRESS}"},
        {"at": "2026-11-23T09:02:00+08:00", "op": "call_next", "counter": 10},
        {"at": "2026-11-23T09:10:00+08:00", "op": "finish", "counter": 10, "ticket": "E001", "outcome": "done"},
    ])

    def seq_of(db: sqlite3.Connection, kind: str) -> int:
        return db.execute("SELECT seq FROM events WHERE type = ?", (kind,)).fetchone()[0]

    damage = {
        "not_json": ("consultation_opened", lambda d: f'{{"name": "{VISITOR}", "question": "住{ADDRESS}"',
                     "its data is not valid JSON"),
        "missing": ("consultation_opened", lambda d: json.dumps({k: v for k, v in d.items() if k != "helper"},
                                                                ensure_ascii=False), "its data has no 'helper'"),
        "wrong_type": ("ticket_issued", lambda d: json.dumps({**d, "appointment_at": f"{VISITOR}{ADDRESS}"},
                                                             ensure_ascii=False),  # ValueError quotes it
                       "a value in it has the wrong type or form"),
        "bad_time": ("consultation_opened", None, ""),  # found by the bisection or by the pass: either line
        "case_value": ("ticket_finished", lambda d: json.dumps({**d, "wait_s": f"{VISITOR}{ADDRESS}"},
                                                               ensure_ascii=False),
                       "a value in it has the wrong type or form"),
    }
    for name, (kind, change, what) in damage.items():
        copy = tmp_path / name
        shutil.copytree(data, copy)
        db = sqlite3.connect(copy / "ledger.sqlite3", isolation_level=None)
        seq = seq_of(db, kind)
        if change is None:
            db.execute("UPDATE events SET at = ? WHERE seq = ?", (f"{VISITOR} {ADDRESS}", seq))
        else:
            old = json.loads(db.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()[0])
            db.execute("UPDATE events SET data = ? WHERE seq = ?", (change(old), seq))
        db.close()
        before = hashlib.sha256((copy / "ledger.sqlite3").read_bytes()).hexdigest()
        res = report(copy, tmp_path / f"{name}.xlsx", tmp_path / f"{name}.pdf")
        line = one_line(res.stderr)  # type: ignore[attr-defined]
        assert res.returncode == 2, (name, line)  # type: ignore[attr-defined]
        where = f"the case issued by event {seq_of(sqlite3.connect(copy / 'ledger.sqlite3'), 'ticket_issued')}" \
            if name == "case_value" else f"event {seq}" + ("" if name == "bad_time" else f" ({kind})")
        # named as `hallctl ledger verify` names it when verify sees the damage, else by what the report met
        assert line.startswith(f"{copy / 'ledger.sqlite3'}: "), (name, line)
        assert f"damaged at seq {seq}:" in line or (line.startswith(f"{copy / 'ledger.sqlite3'}: {where}")
                                                    and f"is damaged: {what}" in line), (name, line)
        assert "stops here (the ledger is not changed)" in line or "the ledger is unchanged" in line, (name, line)
        for secret in (VISITOR, "张", "人民路", "城关镇"):
            assert secret not in line, (name, line)
        assert hashlib.sha256((copy / "ledger.sqlite3").read_bytes()).hexdigest() == before
        assert not list(tmp_path.glob(f"{name}.*")) and not list(tmp_path.glob(".*.tmp"))


def test_a_cards_file_nested_100000_deep_or_with_a_5000_digit_number(tmp_path: Path) -> None:
    for name, text, what in (("deep", "[" * 100_000, "arrays or objects nested too deeply; a cards file is a list of "
                              "objects"),
                             ("long", '[{"sex": ' + "9" * 5000 + "}]", "a number with more than 4300 digits; card "
                              "fields are strings")):
        cards = tmp_path / f"{name}.json"
        cards.write_text(text, encoding="utf-8")
        res = hallctl("device", "sim", "idcard", "--cards", str(cards), timeout=30)
        assert res.returncode == 2 and one_line(res.stderr) == f"{cards}: {what}"
