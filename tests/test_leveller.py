"""The speech leveller, end to end: voices at different levels come out equally loud, room tone in
the pauses is not lifted, each voice keeps its phrasing, music and even recordings are left alone,
and the episode still meets its target and ceiling.

Recordings are built from the committed speech clips (`leveller_helpers`) and every figure asserted
is measured on the input WAV and the finished MP3 with pyloudnorm, never with rkaudio's own meter.
Every run passes --no-transcribe: these tests are about audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rkaudio.audio.leveller import FRAME_S, LevelAnalysis

import leveller_helpers as lh
import media_helpers as mh
from conftest import run_subprocess, set_audio

NO_STINGS = ("--intro", "none", "--outro", "none")
#: What the issue promises, as measured on the MP3.
MAX_TURN_SPREAD_LU = 2.0
MAX_PAUSE_LIFT_DB = 4.0
MIN_DYNAMICS_KEPT = 0.80


def process(*args: object) -> dict:
    out = run_subprocess("process", "--no-transcribe", *args, "--json", "--quiet")
    assert out.code == 0, out
    return out.json


def finished(show: Path, slug: str) -> tuple[np.ndarray, int]:
    y, rate = mh.decode(show / "feed" / "media" / f"{slug}.mp3", channels=1)
    return y[:, 0], rate


def turn_levels(x: np.ndarray, rate: int, layout: lh.Layout) -> list[float]:
    return [lh.loudness(x, rate, a, b) for a, b, _ in layout.turns]


def pause_lifts(x: np.ndarray, y: np.ndarray, rate: int, layout: lh.Layout) -> list[float]:
    """For each pause between turns: how much more the room tone in it rose than the speech on
    either side of it did (the smaller of the two rises), in dB."""
    before = turn_levels(x, lh.RATE, layout)
    after = turn_levels(y, rate, layout)
    lifts = []
    for start, end in layout.pauses:
        inner = (start + 0.25, end - 0.25)  # clear of the words' edges
        pause = lh.loudness(y, rate, *inner) - lh.loudness(x, lh.RATE, *inner)
        around = [after[k] - before[k] for k, (a, b, _) in enumerate(layout.turns)
                  if abs(b - start) < 0.01 or abs(a - end) < 0.01]
        lifts.append(pause - min(around))
    return lifts


def gain_over_time(x: np.ndarray, rate_x: int, y: np.ndarray, rate: int, start: float, end: float,
                   step: float = 0.5, window: float = 0.5) -> np.ndarray:
    """The gain ``y`` has over ``x``, per ``window`` seconds every ``step``, between two times (dB)."""
    return np.array([lh.loudness(y, rate, t, t + window) - lh.loudness(x, rate_x, t, t + window)
                     for t in np.arange(start, end - window, step)])


# --- recordings -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray, lh.Layout]]:
    folder = tmp_path_factory.mktemp("leveller")
    made = {
        # Two voices 15 dB apart, taking turns.
        "two": lh.conversation([0.0, -15.0], 6),
        # Three voices at 0, -15 and -7 dB, and a music bed between two turns.
        "three-music": lh.conversation([0.0, -15.0, -7.0], 9, music=(4, 8.0, -26.0)),
        # Three voices already at one level.
        "even": lh.conversation([0.0, 0.0, 0.0], 6),
        # A quiet recording with one very quiet guest: 15 dB under the host, the guest at -40 LUFS.
        "very-quiet": lh.conversation([-10.0, -20.0], 4),
    }
    return {name: (lh.write(folder / f"{name}.wav", x), x, layout) for name, (x, layout) in made.items()}


# --- voices at different levels -------------------------------------------------------------------

@pytest.mark.parametrize("name,extra,target", [
    ("two", (), -16.0),
    # The mono and very-quiet cases run in the whole suite only (marked slow), to keep the quick lane quick.
    pytest.param("two", ("--channels", "1"), -19.0, marks=pytest.mark.slow),
    ("three-music", (), -16.0),
    pytest.param("very-quiet", (), -16.0, marks=pytest.mark.slow),
])
def test_voices_come_out_equally_loud(show: Path, recordings, name: str, extra: tuple, target: float) -> None:
    wav, x, layout = recordings[name]
    report = process(wav, "--slug", name, *NO_STINGS, *extra)
    y, rate = finished(show, name)

    before, after = turn_levels(x, lh.RATE, layout), turn_levels(y, rate, layout)
    assert max(before) - min(before) >= 9.0, before  # the fixture really is uneven
    assert max(after) - min(after) <= MAX_TURN_SPREAD_LU, (before, after)

    lifts = pause_lifts(x, y, rate, layout)
    assert max(lifts) <= MAX_PAUSE_LIFT_DB, lifts

    for a, b, _ in layout.turns:
        kept = lh.momentary_range(y, rate, a, b) / lh.momentary_range(x, lh.RATE, a, b)
        assert kept >= MIN_DYNAMICS_KEPT, (a, b, kept)

    mh.assert_delivered(show / "feed" / "media" / f"{name}.mp3", target)
    lev = report["leveller"]
    assert lev["applied"] is True
    assert lev["passages"] >= len(set(v for _, _, v in layout.turns))
    assert lev["spread_before_lu"] > lev["spread_after_lu"]


def test_music_bed_is_not_pumped(show: Path, recordings) -> None:
    wav, x, layout = recordings["three-music"]
    process(wav, "--slug", "music", *NO_STINGS)
    y, rate = finished(show, "music")
    (start, end), = layout.music
    gain = gain_over_time(x, lh.RATE, y, rate, start + 0.5, end - 0.5, step=0.2)
    # One steady gain through the bed: no pumping.
    assert gain.max() - gain.min() <= 1.0, gain
    # And the bed keeps its level against the speech's middle: the leveller left it at 0 dB,
    # so it moved by the episode's constant gain, within the spread of the voices around it.
    turns = [lh.loudness(y, rate, a, b) - lh.loudness(x, lh.RATE, a, b) for a, b, _ in layout.turns]
    assert min(turns) - 1.0 <= float(np.median(gain)) <= max(turns) + 1.0


def test_report_line(show: Path, recordings) -> None:
    wav, _, _ = recordings["two"]
    out = run_subprocess("process", "--no-transcribe", wav, "--slug", "line", *NO_STINGS)
    assert out.code == 0, out
    line = next(ln for ln in out.out.splitlines() if ln.strip().startswith("leveller"))
    assert "passages, quiet ones raised by up to +" in line, line
    assert "loud ones lowered by up to \u2212" in line, line
    assert " LU" in line and "\u2192" in line, line


# --- what it leaves alone -------------------------------------------------------------------------

def test_even_recording_is_left_as_it_was(show: Path, recordings) -> None:
    wav, x, layout = recordings["even"]
    report = process(wav, "--slug", "even", *NO_STINGS)
    process(wav, "--slug", "plain", "--no-leveller", *NO_STINGS)
    y, rate = finished(show, "even")
    plain, _ = finished(show, "plain")
    # Against the same recording finished without the leveller, second by second over the whole
    # of it (speech and pauses): nothing moves by half a decibel.
    gain = gain_over_time(plain, rate, y, rate, 0.5, layout.duration - 0.5, step=0.5, window=1.0)
    assert np.max(np.abs(gain)) < 0.5, gain
    mh.assert_delivered(show / "feed" / "media" / "even.mp3", -16.0)
    assert report["leveller"]["applied"] is False


def test_intro_and_outro_are_not_levelled(show: Path, recordings) -> None:
    wav, _, _ = recordings["two"]
    levelled = process(wav, "--slug", "on")
    plain = process(wav, "--slug", "off", "--no-leveller")
    assert plain["leveller"] is None and levelled["leveller"]["applied"] is True
    a, rate = finished(show, "on")
    b, _ = finished(show, "off")
    # The stings sit at the same place in both episodes; they are matched to the target alike.
    intro_s = 1.5
    outro_s = 1.5
    for start, end in ((0.0, intro_s), (len(a) / rate - outro_s, len(a) / rate)):
        assert abs(lh.loudness(a, rate, start, end) - lh.loudness(b, rate, start, end)) <= 0.5
    assert abs(len(a) - len(b)) < rate * 0.05


@pytest.mark.parametrize("kind", ["music", pytest.param("room-tone", marks=pytest.mark.slow)])
def test_stands_aside_without_speech(show: Path, tmp_path: Path, kind: str) -> None:
    if kind == "music":
        x = lh.music_bed(20.0, -24.0)
    else:
        x = lh.pink_noise(20.0, -45.0)
    wav = lh.write(tmp_path / f"{kind}.wav", x)
    report = process(wav, "--slug", kind, *NO_STINGS)
    lev = report["leveller"]
    assert lev["applied"] is False and "no speech" in lev["note"]
    y, rate = finished(show, kind)
    gain = gain_over_time(x, lh.RATE, y, rate, 0.5, 19.0)
    assert gain.max() - gain.min() <= 1.0, gain
    mh.assert_delivered(show / "feed" / "media" / f"{kind}.mp3", -16.0)
    out = run_subprocess("process", "--no-transcribe", wav, "--slug", f"{kind}-2", *NO_STINGS)
    assert "leveller   stood aside: no speech found" in out.out, out


# --- turning it off -------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["flag", pytest.param("show.toml", marks=pytest.mark.slow),
                                 pytest.param("environment", marks=pytest.mark.slow)])
def test_turning_it_off_keeps_one_constant_gain(show: Path, recordings, how: str) -> None:
    wav, x, layout = recordings["two"]
    args: list[object] = [wav, "--slug", "off", *NO_STINGS]
    env = None
    if how == "flag":
        args.append("--no-leveller")
    elif how == "show.toml":
        set_audio(show, leveller=False)
    else:
        env = {"RKAUDIO_LEVELLER": "0"}
    out = run_subprocess("process", "--no-transcribe", *args, "--json", "--quiet", env=env)
    assert out.code == 0, out
    assert out.json["leveller"] is None
    y, rate = finished(show, "off")
    before, after = turn_levels(x, lh.RATE, layout), turn_levels(y, rate, layout)
    moved = np.array(after) - np.array(before)
    assert moved.max() - moved.min() <= 1.0, moved


def test_leveller_setting_must_be_true_or_false(show: Path, recordings) -> None:
    set_audio(show, leveller="sometimes")
    wav, _, _ = recordings["even"]
    out = run_subprocess("process", "--no-transcribe", wav)
    assert out.code == 3, out
    assert "show.toml" in out.err and "audio.leveller must be true or false" in out.err, out


# --- the plan, from frames ------------------------------------------------------------------------

def _frames(levels_db: list[tuple[float, float, bool]]) -> LevelAnalysis:
    """A made-up measuring pass: (seconds, LUFS, speech?) stretches, with syllable-like ripple."""
    energy, speech = [], []
    for seconds, lufs, is_speech in levels_db:
        n = round(seconds / FRAME_S)
        ripple = 3.0 * np.sin(np.arange(n) * 1.3) if is_speech else np.zeros(n)
        energy.append(10 ** ((lufs + 0.691 + ripple) / 10))
        speech.append(np.full(n, 0.9 if is_speech else 0.05))
    e = np.concatenate(energy)
    return LevelAnalysis(energy=e, peak=np.sqrt(e), speech=np.concatenate(speech))


def test_gain_is_clamped_to_15_db() -> None:
    from rkaudio.audio.leveller import MAX_GAIN_DB, plan_levels

    plan = plan_levels(_frames([(1, -60, False), (8, -20, True), (1.5, -60, False), (6, -45, True),
                                (1.5, -60, False), (8, -20, True)]))
    assert [round(p.gain_db, 1) for p in plan.passages] == [0.0, MAX_GAIN_DB, 0.0]
    assert plan.max_raise_db == MAX_GAIN_DB


def test_pause_holds_the_lower_gain_and_rises_before_the_next_word() -> None:
    from rkaudio.audio.leveller import FRAME_S, plan_levels

    plan = plan_levels(_frames([(1, -60, False), (8, -20, True), (2, -60, False), (8, -32, True),
                                (2, -60, False), (8, -20, True)]))
    quiet_first = round(11.0 / FRAME_S)            # the first frame of the quiet passage
    pause = plan.gain_db[round(9.0 / FRAME_S) + 1:quiet_first - 4]
    assert np.all(pause <= plan.passages[0].gain_db + 1e-9), pause
    assert plan.gain_db[quiet_first - 1] == pytest.approx(plan.passages[1].gain_db)  # at level before it
    assert plan.passages[1].gain_db > 10 and plan.passages[0].gain_db == 0


def test_no_speech_means_no_plan() -> None:
    from rkaudio.audio.leveller import plan_levels

    plan = plan_levels(_frames([(20, -25, False)]))
    assert not plan.active and "no speech" in plan.note


# --- looking at levels ----------------------------------------------------------------------------

def test_levels_command_plots_before_and_after(show: Path, recordings, tmp_path: Path) -> None:
    wav, _, _ = recordings["two"]
    png = tmp_path / "levels.png"
    out = run_subprocess("levels", wav, "--png", png, "--width", "40")
    assert out.code == 0, out
    lines = out.out.splitlines()
    assert "passages, quiet ones raised by up to +" in lines[0], out
    without = next(ln for ln in lines if "without leveller" in ln).split()[-1]
    with_ = next(ln for ln in lines if "with leveller" in ln and "without" not in ln).split()[-1]
    assert len(without) == len(with_) == 40
    # Levelled, the loud columns come down and the quiet ones up: fewer distinct heights.
    assert len(set(with_)) < len(set(without)), (without, with_)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_levels_command_refuses_a_missing_file(show: Path) -> None:
    from conftest import assert_one_line_error

    out = run_subprocess("levels", "nothing.wav")
    assert_one_line_error(out, "nothing.wav", "not found")


# --- the measuring pass ---------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 2])
def test_measuring_pass_hears_the_delivered_layout(tmp_path: Path, channels: int) -> None:
    """The leveller's frames, summed as BS.1770 sums them, give the loudness an independent meter
    finds in the programme as it will be delivered: stereo as it is, or folded to mono the way
    ffmpeg folds it for the MP3 (each channel at -3 dB, so a centred voice keeps its level)."""
    from rkaudio.audio.leveller import analyse, integrated_lufs

    x, _ = lh.conversation([0.0, -6.0], 2)
    # A 16-bit stereo recording whose channels differ: the right one 4 dB down, half a
    # millisecond later.
    right = np.concatenate([np.zeros(24), x[:-24]]) * 10 ** (-4 / 20)
    stereo = np.stack([x, right], axis=1)
    wav = mh.write_wav(tmp_path / "stereo.wav", stereo, lh.RATE)
    pcm, _ = mh.decode(wav)
    delivered = pcm if channels == 2 else (pcm.sum(axis=1) / np.sqrt(2))[:, None]
    expected = lh.loudness(delivered, lh.RATE, 0, len(delivered) / lh.RATE)

    programme, analysis = analyse(wav, channels)
    assert abs(integrated_lufs(analysis.energy) - expected) <= 0.5, (integrated_lufs(analysis.energy), expected)
    assert abs(programme.integrated_lufs - expected) <= 0.3, (programme, expected)
    assert analysis.frames == pytest.approx(len(pcm) / lh.RATE / FRAME_S, abs=1)
