"""The review editor without a browser: the session's API, sign-off, and the HTTP server's guards.

Files are read back with webvtt-py and plain JSON, never with rkaudio's own reader.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import webvtt

from rkaudio.core.errors import ConfigError, StaleTranscriptError, TranscriptError
from rkaudio.review.server import DEFAULT_PORT, MAX_BODY_BYTES
from rkaudio.review.session import ReviewSession, cues_from_json, episode_source, find_episode_audio
from rkaudio.show.config import load_show
from rkaudio.transcripts.signoff import record_sign_off, review_status

import media_helpers as mh
from conftest import assert_one_line_error, run_subprocess
from review_helpers import SLUG, TEXT, UNSURE_WORD, make_episode, running_server
from transcript_helpers import shown_lines


def _clock():
    moments = iter(range(10_000))
    base = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)
    return lambda: base + timedelta(seconds=next(moments))


@pytest.fixture
def episode(show: Path) -> Path:
    """A show with one transcribed, published episode; returns the .vtt."""
    return make_episode(show)


@pytest.fixture
def session(show: Path, episode: Path) -> ReviewSession:
    return ReviewSession(load_show(show), SLUG, now=_clock())


def _edited(state: dict, index: int, lines: list[str]) -> list[dict]:
    cues = [dict(c) for c in state["cues"]]
    cues[index]["lines"] = lines
    return cues


def _captions(path: Path) -> list[webvtt.Caption]:
    return webvtt.read(str(path)).captions


# --- the session ---------------------------------------------------------------------------------

def test_state_has_the_cues_words_and_a_digest_of_the_file(session: ReviewSession, episode: Path) -> None:
    state = session.state()
    assert state["etag"] == hashlib.sha256(episode.read_bytes()).hexdigest()
    captions = _captions(episode)
    assert [c["lines"] for c in state["cues"]] == [shown_lines(c) for c in captions]
    words = [w for c in state["cues"] for w in c["words"]]
    assert " ".join(w["text"] for w in words) == TEXT
    unsure = [w for w in words if w["probability"] < state["unsure_below"]]
    assert [w["text"] for w in unsure] == [UNSURE_WORD]
    assert state["audio"]["kind"] == "published" and state["audio"]["offset"] == 0
    assert state["review"]["state"] == "unreviewed" and not state["review"]["reviewed"]
    assert state["history"][-1]["name"] == "machine"


def test_save_writes_the_vtt_keeps_timings_archives_and_remakes_formats(session: ReviewSession, show: Path,
                                                                        episode: Path) -> None:
    before = episode.read_bytes()
    state = session.state()
    timings = [(c["start"], c["end"]) for c in state["cues"]]
    result = session.save({"etag": state["etag"], "cues": _edited(state, 1, ["Corrected by", "the reviewer."])})
    captions = _captions(episode)
    assert shown_lines(captions[1]) == ["Corrected by", "the reviewer."]
    assert [(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000) for c in captions] == timings
    assert result["etag"] == hashlib.sha256(episode.read_bytes()).hexdigest() != state["etag"]
    history = list((show / "transcripts" / "history" / SLUG).glob("*.vtt"))
    assert len(history) == 1 and history[0].read_bytes() == before
    assert [v["name"] for v in result["history"]] == [history[0].name, "machine"]
    for path in (show / "transcripts" / f"{SLUG}.srt", show / "feed" / "transcripts" / f"{SLUG}.vtt",
                 show / "feed" / "transcripts" / f"{SLUG}.txt"):
        assert "Corrected by" in path.read_text(encoding="utf-8"), path
    assert not list(show.rglob("*.part"))


def test_a_word_corrected_mid_cue_keeps_the_other_words_timings_in_check_and_after_save(
        session: ReviewSession, show: Path) -> None:
    state = session.state()
    cue = state["cues"][0]
    words = cue["words"]
    assert len(words) >= 3
    middle = len(words) // 2
    corrected = [w["text"] for w in words]
    corrected[middle] = "Kindness"
    cues = _edited(state, 0, [" ".join(corrected)])
    cues[0]["words"] = []  # what the page sends does not matter: the server times the words

    checked = session.check({"cues": cues})["words"][0]
    assert [w["text"] for w in checked] == corrected
    for i, (was, now) in enumerate(zip(words, checked)):
        assert (now["start"], now["end"]) == (was["start"], was["end"]), i
        assert now["probability"] == (None if i == middle else was["probability"])

    session.save({"etag": state["etag"], "cues": cues})
    assert session.state()["cues"][0]["words"] == checked
    sidecar = json.loads((show / "transcripts" / f"{SLUG}.words.json").read_text(encoding="utf-8"))
    saved = sidecar["cues"][0]
    assert saved["reviewed"] and [w["text"] for w in saved["words"]] == corrected
    assert [(w["start"], w["end"]) for w in saved["words"]] == [(w["start"], w["end"]) for w in words]


def test_stale_save_is_refused_and_nothing_is_written(session: ReviewSession, show: Path, episode: Path) -> None:
    state = session.state()
    # Someone else changes the file after the page loaded it.
    episode.write_text(episode.read_text(encoding="utf-8").replace("Welcome", "Hello"), encoding="utf-8")
    on_disk = episode.read_bytes()
    with pytest.raises(StaleTranscriptError, match="changed on disk"):
        session.save({"etag": state["etag"], "cues": _edited(state, 0, ["Mine"])})
    assert episode.read_bytes() == on_disk
    assert not (show / "transcripts" / "history").exists()


def test_restore_an_earlier_version(session: ReviewSession, show: Path, episode: Path) -> None:
    original = episode.read_bytes()
    state = session.state()
    state = session.save({"etag": state["etag"], "cues": _edited(state, 0, ["First edit"])})
    edited = episode.read_bytes()
    earlier = state["history"][0]["name"]
    preview = session.version(earlier)
    assert preview["cues"][0]["lines"][0].startswith("Welcome")
    with pytest.raises(StaleTranscriptError):
        session.restore({"etag": "0" * 64, "version": earlier})
    state = session.restore({"etag": state["etag"], "version": earlier})
    assert episode.read_bytes() == original
    # The edited version went into the history too: nothing is ever lost.
    kept = [p.read_bytes() for p in (show / "transcripts" / "history" / SLUG).glob("*.vtt")]
    assert edited in kept and original in kept
    for bad in ("../ep1.vtt", "nothing.vtt", "20260101T000000.000000Z.srt", "/etc/passwd"):
        with pytest.raises(TranscriptError):
            session.restore({"etag": state["etag"], "version": bad})
    assert episode.read_bytes() == original


def test_sign_off_holds_until_the_transcript_changes(session: ReviewSession, show: Path, episode: Path) -> None:
    assert review_status(show, SLUG).state == "unreviewed"
    state = session.state()
    with pytest.raises(TranscriptError, match="name"):
        session.sign_off({"etag": state["etag"], "reviewer": "   "})
    with pytest.raises(StaleTranscriptError):
        session.sign_off({"etag": "f" * 64, "reviewer": "Ann Example"})
    state = session.sign_off({"etag": state["etag"], "reviewer": "  Ann   Example "})
    assert state["review"]["reviewed"] and state["review"]["reviewer"] == "Ann Example"
    record = json.loads((show / "transcripts" / f"{SLUG}.review.json").read_text(encoding="utf-8"))
    assert record["signoffs"][-1]["reviewer"] == "Ann Example"
    assert record["signoffs"][-1]["vtt_sha256"] == hashlib.sha256(episode.read_bytes()).hexdigest()
    assert record["signoffs"][-1]["reviewed_at"].endswith("Z")
    assert review_status(show, SLUG).reviewed
    # A later edit (here by hand) withdraws the sign-off, and the status says so.
    episode.write_text(episode.read_text(encoding="utf-8").replace("Welcome", "Hello"), encoding="utf-8")
    status = review_status(show, SLUG)
    assert status.state == "changed" and not status.reviewed
    assert "Ann Example" in status.describe() and "changed" in status.describe()
    assert review_status(show, "no-such-episode").state == "missing"


def test_sign_off_library_function_and_a_broken_record(show: Path, episode: Path) -> None:
    status = record_sign_off(show, SLUG, "Bo", now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert status.reviewed and status.describe() == "reviewed by Bo on 2026-01-02 03:04 UTC"
    (show / "transcripts" / f"{SLUG}.review.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"ep1\.review\.json"):
        review_status(show, SLUG)


def test_edits_are_checked_and_cleaned_before_writing(session: ReviewSession, episode: Path) -> None:
    state = session.state()
    cues = _edited(state, 0, ["<script>window.pwned = 1</script> & more", "", "  spaced   out  "])
    session.save({"etag": state["etag"], "cues": cues})
    raw = episode.read_text(encoding="utf-8")
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert shown_lines(_captions(episode)[0]) == ["<script>window.pwned = 1</script> & more", "spaced out"]
    for bad, why in (([{"start": 2, "end": 1, "lines": []}], "end after"),
                     ([{"start": 1, "end": 2, "lines": []}, {"start": 0.5, "end": 2, "lines": []}], "time order"),
                     ([{"start": 0, "end": 1, "lines": ["x"], "settings": "evil\n-->"}], "settings"),
                     ([{"start": 0, "end": 1, "lines": ["x"], "identifier": "a --> b"}], "identifier"),
                     ([{"start": "0", "end": 1, "lines": ["x"]}], "start"),
                     ({"cues": 1}, "list")):
        with pytest.raises(TranscriptError, match=why):
            cues_from_json(bad)


def test_session_refuses_a_missing_transcript_or_a_bad_slug(show: Path) -> None:
    with pytest.raises(TranscriptError, match="no transcript"):
        ReviewSession(load_show(show), "missing")
    with pytest.raises(TranscriptError, match="cannot name"):
        ReviewSession(load_show(show), "../etc")


def test_audio_falls_back_to_the_source_recording(show: Path, speech_wav: Path) -> None:
    make_episode(show, "interview", mp3=False)
    assert find_episode_audio(load_show(show), "interview") is None
    # A recording whose name gives the slug.
    recording = show / "episodes" / "Interview.wav"
    recording.write_bytes(speech_wav.read_bytes())
    audio = find_episode_audio(load_show(show), "interview")
    assert audio is not None and audio.path == recording and audio.kind == "source"
    # The transcript is timed after the intro (init's 3 s sting, overlapping the programme by 1 s).
    assert audio.offset_s == pytest.approx(2.0, abs=0.05)
    assert audio.media_type == "audio/wav"
    # The episode's front matter names its source.
    other = show / "recordings" / "take 2.flac"
    other.parent.mkdir()
    mh.convert(speech_wav, other)
    (show / "episodes" / "interview.md").write_text(
        '+++\ntitle = "x"\ndate = 2026-01-01\nguid = "g-1"\nsource = "recordings/take 2.flac"\n+++\n', encoding="utf-8")
    assert episode_source(show, "interview") == other
    assert find_episode_audio(load_show(show), "interview").media_type == "audio/flac"


def test_require_review_setting(show: Path) -> None:
    assert load_show(show).transcript.require_review is False
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("require_review = false", "require_review = true"),
                    encoding="utf-8")
    assert load_show(show).transcript.require_review is True
    toml.write_text(toml.read_text(encoding="utf-8").replace("require_review = true", 'require_review = "yes"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="transcript.require_review must be true or false"):
        load_show(show)


# --- the HTTP server -----------------------------------------------------------------------------

def _request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             token: bool = True) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    all_headers = {"X-Review-Token": server.token} if token else {}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def _json_body(data: dict) -> tuple[bytes, dict[str, str]]:
    return json.dumps(data).encode(), {"Content-Type": "application/json"}


def test_server_listens_on_loopback_only(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url.startswith(f"http://127.0.0.1:{server.port}/#token=")
        assert len(server.token) >= 32


def test_api_needs_the_token(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        for method, path in (("GET", "/api/transcript"), ("GET", "/api/audio"), ("GET", "/api/history"),
                             ("PUT", "/api/transcript"), ("POST", "/api/signoff"), ("POST", "/api/restore"),
                             ("GET", "/api/nothing")):
            status, _, body = _request(server, method, path, token=False)
            assert status == 403, (method, path)
            assert "token" in json.loads(body)["error"]
            status, _, _ = _request(server, method, path, token=False, headers={"X-Review-Token": "wrong"})
            assert status == 403, (method, path)
        # The token in the query is for the audio element only.
        assert _request(server, "GET", f"/api/transcript?token={server.token}", token=False)[0] == 403
        assert _request(server, "GET", f"/api/audio?token={server.token}", token=False)[0] == 200
        status, headers, body = _request(server, "GET", "/api/transcript")
        assert status == 200 and json.loads(body)["slug"] == SLUG
        assert headers["cache-control"] == "no-store"
        # A page elsewhere that reaches this server under another name (DNS rebinding) is refused.
        assert _request(server, "GET", "/api/transcript", headers={"Host": "evil.example:80"})[0] == 403


def test_static_files_only_from_the_editor_folder(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        status, headers, body = _request(server, "GET", "/", token=False)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert b"review.js" in body
        assert _request(server, "GET", "/static/review.js", token=False)[0] == 200
        for path in ("/static/../review_server.py", "/static/%2e%2e/review_server.py", "/../../../etc/passwd",
                     "/static/..%2f..%2fpyproject.toml", "/static/", "/static/review.js/", "/review.js",
                     "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/index.html/../errors.py",
                     "/static/.\\..\\cli.py"):
            status, _, body = _request(server, "GET", path, token=False)
            assert status == 404, path
            assert json.loads(body) == {"error": "not found"}, path


def test_request_bodies_are_limited_and_must_be_json(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("PUT", "/api/transcript")
        conn.putheader("X-Review-Token", server.token)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        conn.endheaders()  # the body is never sent: the server answers from the headers
        response = conn.getresponse()
        assert response.status == 413
        assert "larger than" in json.loads(response.read())["error"]
        conn.close()
        body, _ = _json_body({"etag": "x", "cues": []})
        assert _request(server, "PUT", "/api/transcript", body, {"Content-Type": "text/plain"})[0] == 415
        assert _request(server, "PUT", "/api/transcript", b"{nope", {"Content-Type": "application/json"})[0] == 400
        assert _request(server, "PUT", "/api/transcript", b"[]", {"Content-Type": "application/json"})[0] == 400


def test_save_stale_save_and_check_over_http(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        state = json.loads(_request(server, "GET", "/api/transcript")[2])
        cues = _edited(state, 0, ["A line far too long for any caption, it runs on and on and on"])
        status, _, body = _request(server, "POST", "/api/check", *_json_body({"cues": cues}))
        assert status == 200
        assert {f["rule"] for f in json.loads(body)["findings"] if f["cue"] == 1} >= {"line-length"}
        status, _, body = _request(server, "PUT", "/api/transcript", *_json_body({"etag": state["etag"], "cues": cues}))
        assert status == 200, body
        saved = episode.read_bytes()
        # The same request again is stale now: the file is not the one it was made from.
        status, _, body = _request(server, "PUT", "/api/transcript", *_json_body({"etag": state["etag"], "cues": cues}))
        assert status == 409 and "changed on disk" in json.loads(body)["error"]
        assert episode.read_bytes() == saved
        bad = _edited(state, 0, ["x"])
        bad[0]["end"] = bad[0]["start"]
        new = json.loads(_request(server, "GET", "/api/transcript")[2])["etag"]
        status, _, body = _request(server, "PUT", "/api/transcript", *_json_body({"etag": new, "cues": bad}))
        assert status == 422 and "cue 1" in json.loads(body)["error"]
        assert episode.read_bytes() == saved


def test_audio_supports_byte_ranges(show: Path, episode: Path) -> None:
    data = (show / "feed" / "media" / f"{SLUG}.mp3").read_bytes()
    with running_server(show) as server:
        status, headers, body = _request(server, "GET", "/api/audio")
        assert status == 200 and body == data and headers["accept-ranges"] == "bytes"
        assert headers["content-type"] == "audio/mpeg"
        status, headers, body = _request(server, "GET", "/api/audio", headers={"Range": "bytes=100-199"})
        assert status == 206 and body == data[100:200]
        assert headers["content-range"] == f"bytes 100-199/{len(data)}"
        status, _, body = _request(server, "GET", "/api/audio", headers={"Range": "bytes=-50"})
        assert status == 206 and body == data[-50:]
        status, _, body = _request(server, "GET", "/api/audio", headers={"Range": "bytes=1000-"})
        assert status == 206 and body == data[1000:]
        status, headers, _ = _request(server, "GET", "/api/audio", headers={"Range": f"bytes={len(data)}-"})
        assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"


# --- the command -----------------------------------------------------------------------------------

def test_review_command_errors_are_one_line(rk, show: Path, episode: Path) -> None:
    out = rk("review", "missing", "--no-browser")
    assert_one_line_error(out, "transcripts/missing.vtt", "no transcript")
    out = rk("review", "../x", "--no-browser")
    assert out.code != 0 and "Traceback" not in out.err and "cannot name" in out.err
    episode.write_text("not a vtt\n", encoding="utf-8")
    out = rk("review", SLUG, "--no-browser")
    assert_one_line_error(out, "transcripts/ep1.vtt", "line 1")


def test_review_help_lists_the_options(rk) -> None:
    out = rk("review", "--help")
    assert out.code == 0
    for text in ("--port", "--no-browser", str(DEFAULT_PORT), "127.0.0.1"):
        assert text in out.out, text


def test_unread_bodies_do_not_poison_the_connection(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = b'GET /api/transcript HTTP/1.1\r\nHost: x\r\n\r\n'  # smuggled as a body
        conn.request("PUT", "/api/transcript", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 403 and response.getheader("Connection") == "close"
        response.read()
        conn.close()


def test_a_client_hanging_up_mid_response_prints_no_traceback(show: Path, episode: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Browsers drop connections all the time (a seek cancels an audio request): no traceback."""
    import socket
    import struct

    with running_server(show) as server:
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(f"GET /api/audio?token={server.token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n"
                         .encode())
            # Once the server waits for the next request on this keep-alive connection, hang up with a
            # reset (linger 0), leaving the response unread.
            time.sleep(0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        time.sleep(0.5)
        assert _request(server, "GET", "/api/transcript")[0] == 200  # still serving
    assert "Traceback" not in capsys.readouterr().err


def test_review_command_serves_until_ctrl_c(show: Path, episode: Path) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "rkaudio.cli", "review", SLUG, "--port", "0", "--no-browser"],
                            cwd=show, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("Reviewing transcripts/ep1.vtt at http://127.0.0.1:"), first + proc.stderr.read()
        url = first.split(" at ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("#token=", 1)[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/transcript", headers={"X-Review-Token": token})
        assert conn.getresponse().status == 200
        conn.close()
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped the review server" in out
    assert "Traceback" not in err


def test_review_port_in_use_is_a_clear_error(show: Path, episode: Path) -> None:
    with running_server(show) as server:
        out = run_subprocess("review", SLUG, "--port", server.port, "--no-browser", cwd=show)
    assert_one_line_error(out, f"127.0.0.1:{server.port}", "--port")
