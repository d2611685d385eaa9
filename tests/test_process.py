"""``rkaudio process`` end to end: presets, loud and quiet inputs, the report, master and tags.

Every loudness and true-peak assertion uses the independent meter in media_helpers (pyloudnorm and
a scipy 4x oversampled peak), never rkaudio's own figures.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import media_helpers as mh
from conftest import media_files, run_clirunner, run_subprocess, stray_files

NO_STINGS = ("--intro", "none", "--outro", "none")


def process(*args: object) -> dict:
    out = run_subprocess("process", "--no-transcribe", *args, "--json", "--quiet")
    assert out.code == 0, out
    return out.json


# --- presets --------------------------------------------------------------------------------------

def test_default_is_podcast_preset_stereo_128k(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--slug", "ep1")
    out = show / "feed" / "media" / "ep1.mp3"
    assert report["output"] == "feed/media/ep1.mp3"
    m = mh.assert_delivered(out, -16.0)
    info = mh.describe(out)
    assert (info.codec, info.sample_rate, info.layout, info.bitrate_kbps) == ("mp3", 44100, "stereo", 128)
    assert m.channels == 2
    # The report agrees with what was delivered (to within the two meters' difference).
    assert report["target_lufs"] == -16.0
    assert abs(report["delivered"]["integrated_lufs"] - m.integrated_lufs) <= 0.3
    assert media_files(show) == ["ep1.mp3"]


def test_ebu_r128_preset(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--target", "ebu-r128", "--slug", "ebu", *NO_STINGS)
    assert report["target_lufs"] == -23.0
    mh.assert_delivered(show / "feed" / "media" / "ebu.mp3", -23.0)


def test_mono_channel_gives_minus_19_and_mono_96k(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--channels", "1", "--slug", "mono")
    out = show / "feed" / "media" / "mono.mp3"
    assert report["target_lufs"] == -19.0
    m = mh.assert_delivered(out, -19.0)
    info = mh.describe(out)
    assert info.layout == "mono" and m.channels == 1
    assert info.bitrate_kbps == 96
    assert info.sample_rate == 44100


def test_mono_with_explicit_target_keeps_it(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--channels", "1", "--target", "-16", "--slug", "m16", *NO_STINGS)
    assert report["target_lufs"] == -16.0
    mh.assert_delivered(show / "feed" / "media" / "m16.mp3", -16.0)


def test_numeric_target_true_peak_and_bitrate_flags(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--target", "-14", "--true-peak", "-3", "--bitrate", "192",
                     "--slug", "custom", *NO_STINGS)
    out = show / "feed" / "media" / "custom.mp3"
    m = mh.measure(out)
    assert abs(m.integrated_lufs - -14.0) <= mh.LU_TOLERANCE
    assert m.true_peak_dbtp <= -3.0 + mh.TP_METER_SLACK
    assert report["true_peak_ceiling_dbtp"] == -3.0
    assert mh.describe(out).bitrate_kbps == 192


# --- loud and quiet inputs ------------------------------------------------------------------------

def test_quiet_input_is_raised_to_target(show: Path, quiet_speech_wav: Path) -> None:
    before = mh.measure(quiet_speech_wav)
    assert before.integrated_lufs == pytest.approx(-35.0, abs=0.1)
    report = process(quiet_speech_wav, "--slug", "quiet", *NO_STINGS)
    mh.assert_delivered(show / "feed" / "media" / "quiet.mp3", -16.0)
    assert report["gain_db"] == pytest.approx(19.0, abs=1.0)


def test_input_that_needs_limiting_ends_under_ceiling(show: Path, spiky_speech_wav: Path) -> None:
    before = mh.measure(spiky_speech_wav)
    # Raising it by the gain the target needs would put its peaks far above the ceiling.
    assert before.true_peak_dbtp + (-16.0 - before.integrated_lufs) > 5.0
    report = process(spiky_speech_wav, "--slug", "spiky")
    assert report["limiter"]["engaged"] is True
    mh.assert_delivered(show / "feed" / "media" / "spiky.mp3", -16.0)


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_heavily_clipped_loud_speech(show: Path, clipped_speech_wav: Path, target: float) -> None:
    before = mh.measure(clipped_speech_wav)
    assert before.integrated_lufs > -9.0 and before.true_peak_dbtp > 0.0  # loud, and over full scale
    process(clipped_speech_wav, "--target", str(target), "--slug", "clipped")
    mh.assert_delivered(show / "feed" / "media" / "clipped.mp3", target)


def test_loud_square_tone(show: Path, square_wav: Path) -> None:
    before = mh.measure(square_wav)
    assert before.true_peak_dbtp > 0.0
    process(square_wav, "--slug", "square", *NO_STINGS)
    mh.assert_delivered(show / "feed" / "media" / "square.mp3", -16.0)


@pytest.mark.slow
@pytest.mark.parametrize("extra,target", [
    (("--channels", "1"), -19.0),
    (("--target", "ebu-r128"), -23.0),
    (("--target", "-12"), -12.0),
])
def test_limiting_under_other_targets(show: Path, spiky_speech_wav: Path, extra: tuple, target: float) -> None:
    process(spiky_speech_wav, *extra, "--slug", "spiky")
    mh.assert_delivered(show / "feed" / "media" / "spiky.mp3", target)


# --- the report, the master, tags -----------------------------------------------------------------

def test_json_report_shape(show: Path, speech_wav: Path) -> None:
    out = run_clirunner("process", str(speech_wav), "--json", "--slug", "rep", "--no-transcribe")
    assert out.code == 0, out
    report = out.json
    for key in ("slug", "output", "delivered", "gain_db", "limiter", "intro", "outro", "warnings",
                "target_lufs"):
        assert key in report, key
    assert report["slug"] == "rep"
    assert set(report["delivered"]) >= {"integrated_lufs", "true_peak_dbtp", "lra_lu"}
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in report["delivered"].values())
    assert isinstance(report["limiter"]["engaged"], bool)
    assert report["intro"]["path"] == "assets/intro.flac"
    assert report["outro"]["path"] == "assets/outro.flac"
    assert isinstance(report["warnings"], list)
    # -24 LUFS in, -16 out: about 8 dB of gain.
    assert report["gain_db"] == pytest.approx(8.0, abs=1.0)
    assert (show / report["output"]).is_file()


def test_human_summary(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "human")
    assert out.code == 0, out
    assert "feed/media/human.mp3" in out.out
    assert "LUFS" in out.out and "dBTP" in out.out
    assert "Traceback" not in out.err


def test_master_flac_is_written_next_to_the_mp3(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--master", "--slug", "mastered")
    master = show / "masters" / "mastered.flac"
    assert report["master"] == "masters/mastered.flac"
    assert sorted(p.name for p in master.parent.iterdir()) == ["mastered.flac"]
    info = mh.describe(master)
    assert (info.codec, info.sample_rate) == ("flac", 44100)
    m_master = mh.measure(master)
    m_mp3 = mh.measure(show / "feed" / "media" / "mastered.mp3")
    assert abs(m_master.integrated_lufs - -16.0) <= mh.LU_TOLERANCE
    assert m_master.true_peak_dbtp <= mh.TP_CEILING + mh.TP_METER_SLACK
    assert abs(m_master.duration - m_mp3.duration) < 0.1


def test_no_master_by_default(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--slug", "plain", *NO_STINGS)
    assert report["master"] is None
    assert not (show / "masters").exists()


def test_title_tag(show: Path, speech_wav: Path) -> None:
    from mutagen.id3 import ID3

    process(speech_wav, "--slug", "tagged", "--title", "Café talk: \"one\"", *NO_STINGS)
    tags = ID3(show / "feed" / "media" / "tagged.mp3")
    assert str(tags["TIT2"]) == "Café talk: \"one\""
    assert str(tags["TALB"]) == "Test Show"


def test_rerun_replaces_the_episode(show: Path, speech_wav: Path, quiet_speech_wav: Path) -> None:
    process(speech_wav, "--slug", "again", "--target", "-20", *NO_STINGS)
    process(quiet_speech_wav, "--slug", "again", *NO_STINGS)
    mh.assert_delivered(show / "feed" / "media" / "again.mp3", -16.0)
    assert media_files(show) == ["again.mp3"]
    assert stray_files(show) == []


def test_workspace_option_from_elsewhere(show: Path, speech_wav: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--workspace", show, "--slug", "ws", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert (show / "feed" / "media" / "ws.mp3").is_file()
    assert list(elsewhere.iterdir()) == []


def test_show_found_from_a_subfolder(show: Path, speech_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (show / "episodes" / "ep.wav").write_bytes(speech_wav.read_bytes())
    monkeypatch.chdir(show / "episodes")
    out = run_subprocess("process", "--no-transcribe", "ep.wav", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["slug"] == "ep"
    assert (show / "feed" / "media" / "ep.mp3").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("extra", [
    ("--channels", "1", "--target", "-10"),
    ("--channels", "1", "--target", "-12"),
    ("--target", "-10"),
], ids=["mono-10", "mono-12", "stereo-10"])
def test_hard_targets_are_met_or_refused(show: Path, clipped_speech_wav: Path, extra: tuple) -> None:
    """Dense, clipped speech pushed to a high target strains the limiter and the encoder. rkaudio may
    refuse (QualityError, nothing published), but whatever it publishes must meet the promise."""
    out = run_subprocess("process", "--no-transcribe", clipped_speech_wav, "--slug", "hard", "--json", *extra)
    target = float(extra[extra.index("--target") + 1])
    if out.code == 0:
        mh.assert_delivered(show / "feed" / "media" / "hard.mp3", target)
    else:
        assert out.code == 5, out
        assert media_files(show) == []
        assert stray_files(show) == []
