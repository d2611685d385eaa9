"""``rkaudio loudness`` and the library's ``measure``, checked against pyloudnorm and scipy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import run_subprocess

KEYS = {"integrated_lufs", "true_peak_dbtp", "lra_lu"}


def _strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="session")
def meter_signals(media_dir: Path) -> dict[str, Path]:
    folder = media_dir / "meter"
    folder.mkdir()
    rng = np.random.default_rng(7)
    made = {
        "tone": mh.write_wav(folder / "tone.wav", mh.tone(997.0, 6.0, 48000, 0.25), 48000),
        "stereo noise": mh.write_wav(folder / "noise.wav", 0.08 * rng.standard_normal((6 * 44100, 2)), 44100),
        "speech": mh.write_wav(folder / "speech.wav", mh.speech(6.0, rate=32000) * 0.8, 32000),
    }
    pink = folder / "pink.flac"
    mh.ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=6:c=pink:r=44100:a=0.2:seed=5", "-ac", "2", pink)
    made["pink noise flac"] = pink
    # 10 s of tone, then 10 s of the same tone 10 dB quieter: a loudness range of about 10 LU.
    rate = 8000
    step = np.concatenate([mh.tone(500.0, 10.0, rate, 0.5), mh.tone(500.0, 10.0, rate, 0.5 * 10 ** (-0.5))])
    made["two levels"] = mh.write_wav(folder / "step.wav", step, rate)
    made["silence"] = mh.write_wav(folder / "silence.wav", np.zeros(3 * 44100), 44100)
    return made


@pytest.mark.parametrize("name", ["tone", "stereo noise", "speech", "pink noise flac"])
def test_loudness_json_matches_an_independent_meter(meter_signals: dict[str, Path], rk, name: str) -> None:
    path = meter_signals[name]
    out = rk("loudness", str(path), "--json")
    assert out.code == 0, out
    result = _strict_json(out.out)
    assert set(result) == KEYS
    ref = mh.measure(path)
    assert result["integrated_lufs"] == pytest.approx(ref.integrated_lufs, abs=0.3)
    assert result["true_peak_dbtp"] == pytest.approx(ref.true_peak_dbtp, abs=0.3)
    assert result["lra_lu"] >= 0.0


def test_loudness_range(meter_signals: dict[str, Path]) -> None:
    steady = _strict_json(run_subprocess("loudness", meter_signals["tone"], "--json").out)
    stepped = _strict_json(run_subprocess("loudness", meter_signals["two levels"], "--json").out)
    assert steady["lra_lu"] < 1.0
    assert stepped["lra_lu"] == pytest.approx(10.0, abs=1.5)


def test_loudness_text_output(meter_signals: dict[str, Path]) -> None:
    path = meter_signals["tone"]
    as_json = _strict_json(run_subprocess("loudness", path, "--json").out)
    out = run_subprocess("loudness", path)
    assert out.code == 0, out
    text = out.out
    assert "LUFS" in text and "dBTP" in text and "LU" in text
    assert f"{as_json['integrated_lufs']:.1f}" in text
    assert f"{as_json['true_peak_dbtp']:.1f}" in text


def test_loudness_of_silence_is_valid_json(meter_signals: dict[str, Path]) -> None:
    """Digital silence has no peak: the JSON must still parse strictly (no -Infinity)."""
    out = run_subprocess("loudness", meter_signals["silence"], "--json")
    assert out.code == 0, out
    result = _strict_json(out.out)
    assert set(result) == KEYS
    assert result["true_peak_dbtp"] is None or result["true_peak_dbtp"] < -100
    assert result["integrated_lufs"] is None or result["integrated_lufs"] <= -70.0


def test_library_measure(meter_signals: dict[str, Path]) -> None:
    from rkaudio.audio.loudness import measure

    for name in ("speech", "stereo noise"):
        path = meter_signals[name]
        loud = measure(path)
        ref = mh.measure(path)
        assert loud.integrated_lufs == pytest.approx(ref.integrated_lufs, abs=0.3)
        assert loud.true_peak_dbtp == pytest.approx(ref.true_peak_dbtp, abs=0.3)
        assert loud.duration == pytest.approx(6.0, abs=0.1)
        assert math.isfinite(loud.lra_lu)


def test_independent_meter_sanity() -> None:
    """The reference meter itself: a full-scale 997 Hz sine is -3.01 LUFS per BS.1770 (mono, with
    the K-filter's +0.69 dB at 1 kHz cancelling the -0.691 offset), and the true peak of a sine
    sampled off its crest is its amplitude, not its highest sample."""
    rate = 48000
    sine = mh.tone(997.0, 5.0, rate, 1.0)[:, None]
    assert mh.lufs(sine, rate) == pytest.approx(-3.01, abs=0.05)
    # A sine at a quarter of the sample rate, phase 45 degrees: samples peak at 0.707, the wave at 1.
    t = np.arange(rate) / rate
    quarter = np.sin(2 * np.pi * (rate / 4) * t + np.pi / 4) * 0.5
    fade = np.hanning(2000)
    quarter[:1000] *= fade[:1000]  # no step at either end, whose ringing would be a real overshoot
    quarter[-1000:] *= fade[1000:]
    quarter = quarter[:, None]
    assert 20 * np.log10(np.max(np.abs(quarter))) == pytest.approx(-9.03, abs=0.05)
    assert mh.true_peak_dbtp(quarter) == pytest.approx(-6.02, abs=0.1)
