"""The hall display in a real Kivy window (SDL offscreen), fed by push from a real hall server on 127.0.0.1.

One driver process per TV size (1920×1080 and 3840×2160), both modes inside it, plus one for a server that dies
and comes back. Screenshots go to build/gui/.

How large is large enough on a TV. A waiting area is read from the seats, up to about 9 m from a 55" set
(screen height ≈ 0.69 m). Many waiting visitors are old; take a visual acuity of 0.5 (20/40), for which the
smallest legible letter subtends 10 arc minutes, and double it for reading at a glance: 20′ ≈ 5.8 mm of glyph
height per metre of distance. Hence, as fractions of the screen height (glyph height measured on the pixels):
- the newest call, number and window, ≥ 8 %: 55 mm, legible from ≈ 9.5 m, the back of the hall;
- the earlier calls ≥ 4 %: 28 mm, ≈ 4.7 m, the middle of the seats (someone who missed their call walks up);
- the notice ≥ 2.5 %: 17 mm, ≈ 3 m; it is read by those near the screen, and it is never the only place an
  instruction is given.
On a smaller 43" set (0.54 m) the same fractions hold for about 80 % of these distances. Every text must also
pass the audit: at least 30 dp (MIIT large text; the display is large text by nature), contrast ≥ 4.5:1 in normal
mode and ≥ 7:1 in high contrast, nothing off-screen or clipped.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kivy")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "build" / "gui"
SIZES = ("1920x1080", "3840x2160")
NEWEST, EARLIER, NOTICE = 0.08, 0.04, 0.025


@functools.cache
def run(*args: str) -> dict[str, Any]:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.gui.display_driver", str(ARTEFACTS), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    name = "display-restart.json" if args[0] == "restart" else f"display-{args[1]}.json"
    out = ARTEFACTS / name
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in r, r["error"]
    return r


def check_screen(s: dict[str, Any]) -> None:
    """No audit failure, nothing spilling over a neighbour, and the calls a real fraction of the screen."""
    assert not s["audit"]["failures"], (s["name"], s["audit"]["failures"])
    assert not s["overlaps"], (s["name"], s["overlaps"])
    minimum = 7.0 if s["mode"] == "high_contrast" else 4.5
    assert s["audit"]["lowest_text_contrast"] >= minimum, s["name"]
    assert s["audit"]["smallest_text_dp"] >= 30, s["name"]
    f = s["fractions"]
    assert f["newest_number"] >= NEWEST and f["newest_window"] >= NEWEST, (s["name"], f)
    assert f["earlier_calls"] is None or f["earlier_calls"] >= EARLIER, (s["name"], f)
    assert f["notice"] >= NOTICE, (s["name"], f)


def test_display_shows_the_newest_call_large_the_last_calls_and_who_waits() -> None:
    r = run("main", "1920x1080")
    assert r["latest"] == "A002" and r["counter"] == "5 号窗口" and r["highlight"]
    assert r["recent"] == [["", "A001", "5 号窗口"], ["◆", "B001", "5 号窗口"]]  # assisted: a symbol, not only colour
    assert r["waiting"] == [["医保", 1]]
    assert (ARTEFACTS / "display-1920x1080-first.png").stat().st_size > 10_000


@pytest.mark.parametrize("size", SIZES)
def test_a_busy_board_fits_and_reads_from_the_seats_in_both_modes(size: str) -> None:
    r = run("main", size)
    screens = r["screens"]
    assert {(s["mode"], s["highlight"]) for s in screens} == {(m, h) for m in ("normal", "high_contrast")
                                                              for h in (True, False)}
    for s in [*screens, r["crowded"]]:
        check_screen(s)
        assert (ARTEFACTS / f"{s['name']}.png").stat().st_size > 10_000
    # the newest call is told apart by words and a frame as well as colour, and the long service is named whole
    assert all(("新叫号" in s["caption"]) == s["highlight"] and "请" in s["caption"] for s in screens)
    assert r["busy"]["detail"].endswith("不动产登记（二手房转移登记及抵押登记）")
    assert screens[0]["waiting_rows"][0] == ["不动产登记（二手房转移登记及抵押登记）", "2 人"]
    assert all(s["earlier_rows"] == 7 for s in screens)
    # too many services for the column: whole rows, the rest summed in one line, no one dropped from the count
    crowded = r["crowded"]["waiting_rows"]
    assert crowded[-1][0].startswith("其余 ") and sum(int(c.split()[0]) for _, c in crowded) == \
        r["crowded"]["waiting_total"]
    # a long notice is shown a page at a time, each page whole, nothing of it left out
    assert len(r["notice"]["pages"]) > 1 and all(fits for _, fits in r["notice"]["pages"])
    assert "".join(p for p, _ in r["notice"]["pages"]) == r["notice"]["text"]


def test_4k_draws_the_same_board_as_1080p() -> None:
    """dp ≈ px on a 4K set: fixed dp sizes would come out half as tall. Sized by the window, they must not."""
    small, large = run("main", SIZES[0]), run("main", SIZES[1])
    for a, b in zip(small["screens"], large["screens"], strict=True):
        for key, value in a["fractions"].items():
            assert abs(b["fractions"][key] - value) < 0.003, (key, value, b["fractions"][key])


def test_display_says_when_it_has_lost_the_hall_and_recovers_after_a_restart() -> None:
    r = run("restart")
    assert r["before"]["banner"].startswith("平安县")  # no warning while the hall is there
    for s in r["lost_screens"]:
        assert s["lost"] and s["banner"] == "叫号系统连接中断，请留意窗口叫号或咨询导服人员"
        assert "可能已过时" in s["caption"] and "可能已过时" in s["recent_head"]
        assert not s["highlight"]
        check_screen(s)
    assert {s["mode"] for s in r["lost_screens"]} == {"normal", "high_contrast"}
    assert r["while_lost"]["latest"] == "A001"
    # back: the warning gone, the calls the hall's current ones after the resync
    assert r["back"]["banner"].startswith("平安县") and not r["lost"]
    assert r["latest"] == "A002" and r["recent"] == [["", "A001", "5 号窗口"]]
    assert dict(map(tuple, r["waiting"])) == r["mirror_waiting"] == {"企业开办": 1}
    assert r["back_screen"]["recent_head"] == "刚才叫过" and not r["back_screen"]["audit"]["failures"]
