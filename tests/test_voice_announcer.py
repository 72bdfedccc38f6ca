"""The voice announcer end to end: segments generated with espeak-ng and checked with sox, recordings overriding
them, sample-accurate joins, and a worker that keeps order, never overlaps and survives a failing sink."""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from devices.errors import DeviceError
from devices.registry import open_device, probe
from devices.voice.announcer import Announcement, Announcer, FileSink, NotHeard, SoundSink, WavDirSink
from devices.voice.join import RATE, join, read_wav, resample, write_wav
from devices.voice.segments import INVENTORY, SegmentBank, check_segment, chime_samples, sox_stat

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every segment generated once for the module, as the first call of a day would."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("generated")
    SegmentBank(recorded=out / "none", generated=out).generate()
    return out


def bank_in(generated: Path, recorded: Path | None = None) -> SegmentBank:
    return SegmentBank(recorded=recorded if recorded is not None else generated / "none", generated=generated)


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.round(np.sin(2 * np.pi * freq * t) * 12000).astype(np.int16)


@needs_espeak
@needs_sox
def test_generated_segments_are_speech_checked_with_sox(tmp_path: Path) -> None:
    bank = SegmentBank(recorded=tmp_path / "rec", generated=tmp_path / "gen")
    made = bank.generate(["请", "号", "号窗口", "A", "五", "chime"])
    assert [name for name, _, _ in made] == ["请", "号", "号窗口", "A", "五", "chime"]
    for name, path, _ in made:
        assert path.name == f"{INVENTORY[name].stem}.wav"
        stat = sox_stat(path)
        assert stat["RMS amplitude"] > 0.02, name  # not silent
        assert 0.1 < stat["Length (seconds)"] < 2.0, name
        assert check_segment(path).ok and check_segment(path).via == "sox"
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
    # trimmed: the first and last few ms are close to the edge of the sound, not 100 ms of silence
    data = read_wav(tmp_path / "gen" / "qing.wav")
    edge = RATE // 50  # 20 ms
    assert np.abs(data[:edge]).max() > 300 and np.abs(data[-edge:]).max() > 100
    assert bank.generate(["请"]) == []  # generated once; kept until forced
    assert [n for n, _, _ in bank.generate(["请"], force=True)] == ["请"]


def test_check_refuses_silence_and_the_chime_is_two_decaying_tones(tmp_path: Path) -> None:
    quiet = write_wav(tmp_path / "quiet.wav", np.zeros(RATE // 2, np.int16))
    assert not check_segment(quiet).ok and "silent" in check_segment(quiet).detail
    chime = chime_samples()
    assert 0.8 < len(chime) / RATE < 1.5 and chime[0] == 0 and chime[-1] == 0
    spectrum = np.abs(np.fft.rfft(chime.astype(float)))
    freqs = np.fft.rfftfreq(len(chime), 1 / RATE)
    top = {round(f) for f in freqs[np.argsort(spectrum)[-40:]]}
    assert any(abs(f - 659) < 5 for f in top) and any(abs(f - 523) < 5 for f in top)


def test_recording_overrides_generated_by_file_name(generated: Path, tmp_path: Path) -> None:
    rec = tmp_path / "recorded"
    rec.mkdir()
    bank = bank_in(generated, rec)
    assert bank.source("请")[0] == "generated"
    before = bank.samples("请")
    # a phone recording: 44.1 kHz stereo, read back as 22.05 kHz mono
    stereo = np.repeat(tone(0.5, 44100), 2)
    with wave.open(str(rec / "qing.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(stereo.astype("<i2").tobytes())
    assert bank.source("请") == ("recorded", rec / "qing.wav")
    after = bank.samples("请")
    assert len(after) == round(0.5 * 44100 * RATE / 44100) and not np.array_equal(after[:100], before[:100])
    write_wav(rec / "五.wav", tone(0.3, RATE, 330))  # the Chinese name works as well as the stem
    assert bank.source("五") == ("recorded", rec / "五.wav") and len(bank.samples("五")) == int(0.3 * RATE)
    assert {r.name: r.source for r in bank.describe(["请", "五", "号"])} == {"请": "recorded", "五": "recorded",
                                                                           "号": "generated"}


def test_resample_keeps_duration() -> None:
    assert len(resample(tone(1.0, 48000), 48000, RATE)) == RATE
    assert len(resample(tone(0.25, 16000), 16000, RATE)) == RATE // 4


def test_join_is_sample_accurate(generated: Path) -> None:
    bank = bank_in(generated)
    names = ["请", "A", "零", "二", "三", "号", "到", "五", "号窗口", "办理"]
    parts = [bank.samples(n) for n in names]
    for gap in (0, 1, 441):
        out = join(parts, gap)
        assert len(out) == sum(map(len, parts)) + gap * (len(parts) - 1)
        offset = 0
        for part in parts:
            assert np.array_equal(out[offset: offset + len(part)], part)
            offset += len(part)
            assert not out[offset: offset + gap].any()
            offset += gap
    ann = Announcer(FileSink(Path("/dev/null")), bank, chime=True, repeat=2, gap=100, chime_pause=500,
                    repeat_pause=2000)
    call = sum(map(len, parts)) + 100 * (len(parts) - 1)
    assert len(ann.render("A023", 5)) == len(bank.samples("chime")) + 500 + 2 * call + 2000


def test_say_to_a_file_from_the_device_table(generated: Path, tmp_path: Path) -> None:
    ann = open_device({"name": "voice", "type": "voice-segments", "out_dir": str(tmp_path / "calls")})
    assert isinstance(ann, Announcer)
    ann.bank = bank_in(generated)
    path = ann.save("A023", 5, tmp_path / "say.wav")
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnframes() == len(ann.render("A023", 5))
    rows = {c.name: c for c in probe({"name": "voice", "type": "voice-segments", "out_dir": str(tmp_path)})}
    assert rows["out_dir"].ok and "espeak-ng" in rows


def check_order_and_no_overlap(items: list[Announcement]) -> None:
    assert all(i.done.is_set() for i in items)
    for a, b in itertools.pairwise(items):
        assert a.seq < b.seq
        assert a.end is not None and b.start is not None and a.end <= b.start  # never two at once
        assert a.queued <= b.queued


def test_burst_of_twenty_is_spoken_in_order_without_overlap(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls"
    ann = Announcer(WavDirSink(out), bank_in(generated), repeat=2)
    calls = [(f"{'AB'[i % 2]}{i:03d}", i % 7 + 1) for i in range(20)]
    items = [ann.announce(number, window) for number, window in calls]
    assert ann.wait(60)
    ann.close()
    assert [(i.number, i.window) for i in items] == [(n, str(w)) for n, w in calls]
    assert all(i.ok for i in items), [i.error for i in items]
    check_order_and_no_overlap(items)
    files = sorted(out.glob("*.wav"))
    assert len(files) == 20 and files == [i.file for i in items]  # none lost; names sort in spoken order
    for item in items:
        assert item.file is not None
        with wave.open(str(item.file)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
            assert w.getnframes() == item.samples > RATE
        assert item.latency is not None and item.latency >= 0
    print("latency ms:", [round((i.latency or 0) * 1000, 1) for i in items])


def test_calls_from_many_threads_never_overlap(generated: Path, tmp_path: Path) -> None:
    ann = Announcer(WavDirSink(tmp_path), bank_in(generated), chime=False)
    items: list[Announcement] = []
    lock = threading.Lock()

    def counter(window: int) -> None:
        for k in range(5):
            item = ann.announce(f"C{window}{k}", window)
            with lock:
                items.append(item)

    threads = [threading.Thread(target=counter, args=(w,)) for w in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ann.wait(60)
    items.sort(key=lambda i: i.start or 0)
    check_order_and_no_overlap(items)  # FIFO: the order of start is the order of announce()
    assert len({i.file for i in items}) == 20


class FlakySink:
    def __init__(self, out: Path, fail: set[int]) -> None:
        self.inner = WavDirSink(out)
        self.fail = fail
        self.calls = 0

    def play(self, samples: np.ndarray, rate: int, item: Announcement) -> Path:
        self.calls += 1
        if self.calls in self.fail:
            raise OSError(28, "No space left on device")
        return self.inner.play(samples, rate, item)

    def describe(self) -> str:
        return "flaky"


def test_failing_sink_is_logged_and_the_next_call_still_plays(generated: Path, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    ann = Announcer(FlakySink(tmp_path, {1, 3}), bank_in(generated))
    with caplog.at_level(logging.ERROR, logger="devices.voice.announcer"):
        items = [ann.announce(f"A00{i}", 3) for i in range(4)]
        assert ann.wait(60)
    assert [i.ok for i in items] == [False, True, False, True]
    assert "No space left" in (items[0].error or "") and items[1].file is not None and items[1].file.exists()
    assert sum("not announced" in r.message for r in caplog.records) == 2
    check_order_and_no_overlap(items)
    # a segment that cannot be read fails that call only, too
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "qing.wav").write_bytes(b"not a wav")
    ann.bank = bank_in(generated, tmp_path / "rec")
    bad = ann.announce("A009", 3)
    good = ann.announce("A010", 3, recall=True)
    assert good.wait(60) and not bad.ok and bad.start is None and not good.ok  # 请 is in the recall template too
    (tmp_path / "rec" / "qing.wav").unlink()
    assert ann.announce("A011", 3).wait(60) and ann.history[-1].ok
    ann.close()
    with pytest.raises(DeviceError, match="closed"):
        ann.announce("A012", 3)


def test_no_sound_device_is_logged_once_and_falls_back(generated: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("devices.voice.announcer.sound_device", lambda: (False, "no sound card (test)"))
    with caplog.at_level(logging.INFO, logger="devices.voice.announcer"):
        ann = Announcer(SoundSink("default"), bank_in(generated))
        items = [ann.announce("A001", 1), ann.announce("A002", 2)]
        assert ann.wait(60)
    assert all(i.error and "not heard" in i.error for i in items)
    assert sum("cannot play announcements: no sound card (test)" in r.message for r in caplog.records) == 1
    fallback = Announcer(SoundSink("default", fallback=WavDirSink(tmp_path)), bank_in(generated))
    item = fallback.announce("A003", 3)
    assert item.wait(60) and item.ok and item.file is not None and item.file.parent == tmp_path
    with pytest.raises(NotHeard):
        SoundSink().play(np.zeros(10, np.int16), RATE, item)


def test_sound_sink_feeds_the_player_one_wav(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) \
        -> None:
    heard = tmp_path / "heard.wav"
    monkeypatch.setattr("devices.voice.announcer.sound_device", lambda: (True, "fake card"))
    monkeypatch.setattr("devices.voice.announcer.player_command",
                        lambda card: (["sh", "-c", f"cat > '{heard}'"], {}))
    ann = Announcer(SoundSink("plughw:1,0"), bank_in(generated))
    item = ann.announce("A023", 5)
    assert item.wait(60) and item.ok, item.error
    with wave.open(str(heard)) as w:
        assert w.getnframes() == item.samples
    monkeypatch.setattr("devices.voice.announcer.player_command",
                        lambda card: (["sh", "-c", "cat >/dev/null; echo 'cannot find card' >&2; exit 1"], {}))
    failed = ann.announce("A024", 5)
    assert failed.wait(60) and failed.error and "cannot find card" in failed.error
    later = ann.announce("A025", 5)
    assert later.wait(60) and later.error and "cannot find card" in later.error  # the worker is still alive
    ann.close()


def test_board_events_are_announced(generated: Path, tmp_path: Path) -> None:
    ann = Announcer(WavDirSink(tmp_path), bank_in(generated))
    called = ann.announce_event({"type": "ticket_called", "data": {"number": "A023", "counter": 5}})
    recalled = ann.announce_event({"type": "ticket_recalled", "data": {"number": "A023", "counter": 5, "count": 2}})
    assert ann.announce_event({"type": "ticket_issued", "data": {}}) is None
    assert called is not None and recalled is not None and ann.wait(60)
    assert called.segments[:3] == ("chime", "请", "A") and recalled.segments[1:3] == ("再次", "呼叫")
    assert called.text == "请A023号到5号窗口办理"
    ann.close()
