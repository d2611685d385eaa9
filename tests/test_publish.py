"""``rkaudio publish`` against real servers the tests start on 127.0.0.1, and ``check --online``.

The servers come from the same rclone binary rkaudio runs: ``rclone serve s3`` (a real SigV4 S3
server) and ``rclone serve webdav`` (with a password), each on a free port with its own folder.
What arrived is read back with clients that are not rclone: boto3 for S3, plain HTTP for WebDAV,
and the server's own folder on disk. The remotes are configured the way a producer would without
a config file: ``RCLONE_CONFIG_<NAME>_*`` variables only.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from conftest import Outcome, assert_one_line_error, building_show, copy_show, run_clirunner, run_subprocess
from show_helpers import configure, process, write_metadata

ACCESS_KEY, SECRET_KEY = "AKIARKAUDIOTEST1", "rkaudio-test-secret-0123456789"
DAV_USER, DAV_PASSWORD = "producer", "dav-password-0123456789"
BUCKET = "podcast"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``rclone serve KIND`` on 127.0.0.1 serving ``folder``, on a port it picks itself (so parallel
    workers never race for one); stopped, and started again (on a new port) over the same folder."""

    def __init__(self, kind: str, folder: Path, *args: str) -> None:
        self.kind, self.folder, self.args = kind, folder, args
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        from rkaudio.publishing.rclone_tool import executable

        self.proc = subprocess.Popen([executable(), "serve", self.kind, *self.args, "--addr", "127.0.0.1:0",
                                      str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # rclone says where it listens, then little more
            found = re.search(r"(?i)(?:server on|server started on) \[?https?://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found[1])
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()
                return self
        raise RuntimeError(f"rclone serve {self.kind} exited with {self.proc.wait()} before listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "s3-server"
    (folder / BUCKET).mkdir(parents=True)
    server = Server("s3", folder, "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}").start()
    yield server
    server.stop()


@pytest.fixture
def dav(tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "dav-server"
    folder.mkdir()
    server = Server("webdav", folder, "--user", DAV_USER, "--pass", DAV_PASSWORD).start()
    yield server
    server.stop()


def s3_env(server: Server, secret: str = SECRET_KEY) -> dict[str, str]:
    return {"RCLONE_CONFIG_PUB_TYPE": "s3", "RCLONE_CONFIG_PUB_PROVIDER": "Other",
            "RCLONE_CONFIG_PUB_ENDPOINT": f"http://127.0.0.1:{server.port}",
            "RCLONE_CONFIG_PUB_ACCESS_KEY_ID": ACCESS_KEY, "RCLONE_CONFIG_PUB_SECRET_ACCESS_KEY": secret}


def dav_env(server: Server) -> dict[str, str]:
    from rkaudio.publishing.rclone_tool import executable

    obscured = subprocess.run([executable(), "obscure", DAV_PASSWORD], capture_output=True, text=True,
                              check=True).stdout.strip()
    return {"RCLONE_CONFIG_DAV_TYPE": "webdav", "RCLONE_CONFIG_DAV_URL": f"http://127.0.0.1:{server.port}",
            "RCLONE_CONFIG_DAV_VENDOR": "rclone", "RCLONE_CONFIG_DAV_USER": DAV_USER,
            "RCLONE_CONFIG_DAV_PASS": obscured}


def s3_client(server: Server):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{server.port}", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def s3_objects(server: Server, prefix: str = "show/") -> dict[str, dict]:
    """Every object under ``prefix`` as boto3 lists it: key (without the prefix) -> its listing."""
    listed = s3_client(server).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix):]: o for o in listed.get("Contents", [])}


def s3_bytes(server: Server, key: str) -> bytes:
    return s3_client(server).get_object(Bucket=BUCKET, Key=f"show/{key}")["Body"].read()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def local_files(show: Path) -> dict[str, str]:
    """What should arrive: every file under feed/ but hidden and temporary ones, with its SHA-256."""
    feed = show / "feed"
    return {p.relative_to(feed).as_posix(): sha(p.read_bytes()) for p in feed.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(feed).parts)}


def enclosures(feed_xml: bytes) -> dict[str, int]:
    """Each enclosure of a feed as its path under feed/ and its length, read with podcastparser."""
    import io

    import podcastparser

    parsed = podcastparser.parse("https://example.org/show/feed.xml", io.BytesIO(feed_xml))
    found = {}
    for episode in parsed["episodes"]:
        for enclosure in episode["enclosures"]:
            found[enclosure["url"].removeprefix("https://example.org/show/")] = enclosure["file_size"]
    return found


@pytest.fixture(scope="module")
def _published(tmp_path_factory: pytest.TempPathFactory, template_show: Path, speech_wav: Path) -> Path:
    """A show with one processed episode (built once), its site and feed, and [publish] to set."""
    with building_show(tmp_path_factory, template_show, "publish") as show:
        configure(show)
        write_metadata(show, "first", title="First", date="2026-01-05T10:00:00Z", number=1, notes="Notes.")
        process(speech_wav, "first")
        toml = show / "show.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('to = ""', f'to = "pub:{BUCKET}/show"'),
                        encoding="utf-8")
    return show


@pytest.fixture
def published(_published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_show(_published, tmp_path, monkeypatch)


def add_episode(show: Path, slug: str) -> None:
    """A second episode without processing again: a new MP3 (the first one's frames, repeated to make
    it longer), its metadata, and the feed rebuilt by the library."""
    from rkaudio.publishing.feed import build_feed
    from rkaudio.show.config import load_show

    first = (show / "feed" / "media" / "first.mp3").read_bytes()
    (show / "feed" / "media" / f"{slug}.mp3").write_bytes(first + first)
    write_metadata(show, slug, title=slug.title(), date="2026-02-05T10:00:00Z", number=2)
    build_feed(load_show(show))


def publish(*args: str, env: dict[str, str]) -> Outcome:
    """``rkaudio publish --json`` in-process (the real program is run where it matters: errors, the
    interrupted publish)."""
    return run_clirunner("publish", "--json", "--quiet", *args, env=env)


def disk_state(folder: Path) -> dict[str, int]:
    """Each file the server keeps and when it was last written (ctime: any rewrite moves it)."""
    return {p.relative_to(folder).as_posix(): p.stat().st_ctime_ns for p in folder.rglob("*") if p.is_file()}


# --- S3 ---------------------------------------------------------------------------------------------

def test_everything_arrives_over_s3_and_nothing_else(published: Path, s3: Server) -> None:
    media = published / "feed" / "media"
    (media / ".rkaudio-elsewhere-1-abcdef.mp3.part").write_bytes(b"half an episode")
    (media / ".DS_Store").write_bytes(b"finder")
    out = publish(env=s3_env(s3))
    assert out.code == 0, out
    wanted = local_files(published)
    arrived = s3_objects(s3)
    assert set(arrived) == set(wanted)
    for key, digest in wanted.items():
        assert sha(s3_bytes(s3, key)) == digest, key
    report = out.json
    assert sorted(report["uploaded"]) == sorted(wanted) and report["uploaded"][-1] == "feed.xml"
    assert report["feed_uploaded"] and report["compared_by"] == "checksum"
    assert report["bytes_uploaded"] == sum((published / "feed" / k).stat().st_size for k in wanted)
    feed = s3_bytes(s3, "feed.xml")
    assert report["enclosures_verified"] == len(enclosures(feed)) == 1
    for key, length in enclosures(feed).items():
        assert arrived[key]["Size"] == length


def test_a_second_publish_with_nothing_changed_uploads_nothing(published: Path, s3: Server) -> None:
    assert publish(env=s3_env(s3)).code == 0
    etags = {k: o["ETag"] for k, o in s3_objects(s3).items()}
    written = disk_state(s3.folder)
    again = publish(env=s3_env(s3))
    assert again.code == 0, again
    assert again.json["uploaded"] == [] and again.json["bytes_uploaded"] == 0
    assert again.json["unchanged"] == len(local_files(published)) - 1  # all but the feed, compared apart
    assert {k: o["ETag"] for k, o in s3_objects(s3).items()} == etags
    assert disk_state(s3.folder) == written  # not one file written again
    # A changed page moves, alone.
    page = published / "feed" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<!-- changed --></body>"))
    third = publish(env=s3_env(s3))
    assert third.json["uploaded"] == ["index.html"], third
    assert sha(s3_bytes(s3, "index.html")) == sha(page.read_bytes())


@pytest.mark.slow
@pytest.mark.slow_upload
def test_the_server_dying_mid_publish_leaves_the_old_feed_and_the_next_publish_completes(
        published: Path, s3: Server) -> None:
    assert publish(env=s3_env(s3)).code == 0
    old_feed = s3_bytes(s3, "feed.xml")
    add_episode(published, "second")
    new_feed = (published / "feed" / "feed.xml").read_bytes()
    assert set(enclosures(new_feed)) == {"media/first.mp3", "media/second.mp3"}
    served = s3.folder / BUCKET / "show"
    # Slow the upload to a crawl so the server can be stopped while the new MP3 is on its way: once
    # the new episode's page (a small file sent alongside it) has landed. rclone's own variables
    # make it give up at the first refused request rather than retry each file.
    env = {**s3_env(s3), "RCLONE_BWLIMIT": "24k", "RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "1"}
    proc = subprocess.Popen([*_rkaudio(), "publish", "--quiet"], env={**os.environ, **env}, cwd=published,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if (served / "episodes" / "second" / "index.html").exists() or proc.poll() is not None:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the publish ended before the server could be stopped"
    s3.stop()
    out, err = proc.communicate(timeout=120)
    assert_one_line_error(Outcome(proc.returncode, out, err, "subprocess"), f"pub:{BUCKET}/show",
                          "cannot reach|refused|feed online was left")
    assert proc.returncode == 8
    assert (served / "feed.xml").read_bytes() == old_feed  # never ahead of its media

    s3.start()
    seen_ahead: list[str] = []
    watching = threading.Event()

    def watch() -> None:
        """While the next publish runs: whenever the served feed is the new one, all its media are there."""
        while not watching.is_set():
            try:
                feed = (served / "feed.xml").read_bytes()
            except OSError:
                continue
            if feed == new_feed:
                for key, length in enclosures(feed).items():
                    path = served / key
                    if not path.exists() or path.stat().st_size != length:
                        seen_ahead.append(key)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        again = publish(env=s3_env(s3))
    finally:
        watching.set()
        watcher.join()
    assert again.code == 0, again
    assert not seen_ahead
    assert again.json["feed_uploaded"] and again.json["enclosures_verified"] == 2
    assert s3_bytes(s3, "feed.xml") == new_feed
    objects = s3_objects(s3)
    for key, length in enclosures(new_feed).items():
        assert objects[key]["Size"] == length
        assert sha(s3_bytes(s3, key)) == sha((published / "feed" / key).read_bytes())


def _rkaudio() -> list[str]:
    import sys

    return [sys.executable, "-m", "rkaudio.cli"]


def test_wrong_credentials_are_one_line_naming_the_remote_and_never_the_secret(published: Path, s3: Server) -> None:
    wrong = "not-the-secret-but-still-secret-42"
    out = run_subprocess("publish", env=s3_env(s3, secret=wrong))
    assert_one_line_error(out, f"pub:{BUCKET}/show", "credentials")
    assert out.code == 8
    assert wrong not in out.out + out.err and SECRET_KEY not in out.out + out.err
    assert s3_objects(s3) == {}  # nothing moved


def test_an_unreachable_host_is_one_line(published: Path, tmp_path: Path) -> None:
    env = {"RCLONE_CONFIG_PUB_TYPE": "s3", "RCLONE_CONFIG_PUB_PROVIDER": "Other",
           "RCLONE_CONFIG_PUB_ENDPOINT": f"http://127.0.0.1:{_free_port()}",
           "RCLONE_CONFIG_PUB_ACCESS_KEY_ID": ACCESS_KEY, "RCLONE_CONFIG_PUB_SECRET_ACCESS_KEY": SECRET_KEY}
    out = run_subprocess("publish", env=env)
    assert_one_line_error(out, f"pub:{BUCKET}/show", "cannot reach")
    assert SECRET_KEY not in out.err


def test_remote_files_are_deleted_only_with_prune(published: Path, s3: Server) -> None:
    assert publish(env=s3_env(s3)).code == 0
    s3_client(s3).put_object(Bucket=BUCKET, Key="show/media/withdrawn.mp3", Body=b"an old episode")
    kept = publish(env=s3_env(s3))
    assert kept.json["extra"] == ["media/withdrawn.mp3"] and kept.json["deleted"] == []
    assert "media/withdrawn.mp3" in s3_objects(s3)
    dry = publish("--prune", "--dry-run", env=s3_env(s3))
    assert dry.json["deleted"] == ["media/withdrawn.mp3"] and "media/withdrawn.mp3" in s3_objects(s3)
    pruned = publish("--prune", env=s3_env(s3))
    assert pruned.json["deleted"] == ["media/withdrawn.mp3"]
    assert set(s3_objects(s3)) == set(local_files(published))  # the feed among them


def test_a_dry_run_changes_nothing(published: Path, s3: Server) -> None:
    out = publish("--dry-run", env=s3_env(s3))
    assert out.code == 0, out
    assert sorted(out.json["uploaded"]) == sorted(local_files(published))
    assert s3_objects(s3) == {}


# --- WebDAV -----------------------------------------------------------------------------------------

def dav_get(server: Server, key: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/show/{key}")
    token = __import__("base64").b64encode(f"{DAV_USER}:{DAV_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_webdav_arrives_and_an_unchanged_publish_moves_nothing(published: Path, dav: Server) -> None:
    out = publish("--to", "dav:show", env=dav_env(dav))
    assert out.code == 0, out
    assert out.json["compared_by"] == "size and modification time"  # rclone's WebDAV keeps no checksum
    wanted = local_files(published)
    on_disk = {p.relative_to(dav.folder / "show").as_posix() for p in (dav.folder / "show").rglob("*") if p.is_file()}
    assert on_disk == set(wanted)
    for key, digest in wanted.items():
        assert sha(dav_get(dav, key)) == digest, key
    written = disk_state(dav.folder)
    again = publish("--to", "dav:show", env=dav_env(dav))
    assert again.code == 0 and again.json["uploaded"] == [], again
    assert disk_state(dav.folder) == written


# --- settings ---------------------------------------------------------------------------------------

def _set_publish(show: Path, lines: str) -> None:
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text[:text.index("[publish]")] + "[publish]\n" + lines + "\n", encoding="utf-8")


def test_credentials_in_show_toml_are_refused_without_repeating_them(published: Path) -> None:
    _set_publish(published, 'to = "pub:podcast/show"\nsecret_access_key = "hunter2-secret-value"')
    out = run_subprocess("publish")
    assert_one_line_error(out, ["show.toml", "publish.secret_access_key"], "credential")
    assert out.code == 3 and "hunter2-secret-value" not in out.err + out.out
    _set_publish(published, 'to = ":s3,access_key_id=AKIA1,secret_access_key=hunter2-secret-value:podcast"')
    out = run_clirunner("publish")
    assert_one_line_error(out, ["show.toml", "publish.to"], "rclone remote")
    assert "hunter2-secret-value" not in out.err + out.out


def test_no_destination_is_one_line_and_the_environment_can_name_one(published: Path, s3: Server) -> None:
    _set_publish(published, 'to = ""')
    assert_one_line_error(run_clirunner("publish"), "show.toml", "nowhere to publish")
    out = publish(env={**s3_env(s3), "RKAUDIO_PUBLISH_TO": f"pub:{BUCKET}/elsewhere"})
    assert out.code == 0, out
    assert out.json["target"] == f"pub:{BUCKET}/elsewhere" and s3_objects(s3, "elsewhere/")


# --- check --online ---------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """A static server that, when told, refuses HEAD and answers ranged GETs as a CDN does."""

    refuse_head = False

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        if self.refuse_head:
            self.send_error(405)
            return
        super().do_HEAD()

    def do_GET(self) -> None:
        wanted = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if wanted == "bytes=0-0" and path.is_file():
            data = path.read_bytes()
            self.send_response(206)
            self.send_header("Content-Range", f"bytes 0-0/{len(data)}")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(data[:1])
            return
        super().do_GET()


@pytest.mark.parametrize("refuse_head", [False, True], ids=["head", "ranged-get"])
def test_check_online_reads_every_enclosure_s_headers(published: Path, tmp_path: Path, refuse_head: bool) -> None:
    served = tmp_path / "web"
    handler = type("Handler", (_Handler,), {"refuse_head": refuse_head})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(served)))
    base = f"http://127.0.0.1:{server.server_address[1]}/show"
    toml = published / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("https://example.org/show", base), encoding="utf-8")
    add_episode(published, "second")
    shutil.copytree(published / "feed", served / "show")  # what a publish would have put there
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = run_clirunner("check", "--online", "--json", "--quiet")
        rows = [r for r in out.json["results"] if r["check"] in ("enclosure online", "feed URL")]
        assert len(rows) == 3 and all(r["ok"] for r in rows), rows
        assert all(("ranged GET" in r["detail"]) == refuse_head for r in rows)
        # An enclosure cut short online fails, naming its URL and both lengths.
        mp3 = served / "show" / "media" / "second.mp3"
        size = mp3.stat().st_size
        mp3.write_bytes(mp3.read_bytes()[:-100])
        out = run_clirunner("check", "--online", "--json", "--quiet")
        assert out.code == 1
        bad = [r for r in out.json["results"] if r["check"] == "enclosure online" and not r["ok"]]
        assert len(bad) == 1 and f"{base}/media/second.mp3" in bad[0]["detail"]
        assert f"{size - 100} bytes" in bad[0]["detail"] and f"feed says {size}" in bad[0]["detail"]
        (served / "show" / "media" / "first.mp3").unlink()
        out = run_clirunner("check", "--online", "--json", "--quiet")
        assert any("404" in r["detail"] for r in out.json["results"] if r["check"] == "enclosure online")
    finally:
        server.shutdown()
        server.server_close()


# --- what rclone says, cleaned ------------------------------------------------------------------------

def test_messages_are_scrubbed_of_every_credential_rclone_might_echo() -> None:
    from rkaudio.publishing.rclone_tool import explain, scrub

    env = {"RCLONE_CONFIG_PUB_TYPE": "s3", "RCLONE_CONFIG_PUB_ENDPOINT": "https://s3.example.org",
           "RCLONE_CONFIG_PUB_ACCESS_KEY_ID": "AKIAVISIBLEKEY", "RCLONE_CONFIG_PUB_SECRET_ACCESS_KEY": "s3cr3t-value",
           "RCLONE_CONFIG_DAV_PASS": "obscured-pass"}
    said = ("Failed to create file system for \":s3,access_key_id=AKIAOTHER,secret_access_key='quoted secret':b\": "
            "AKIAVISIBLEKEY s3cr3t-value obscured-pass pass = plain-pass; GET https://s3.example.org/b?max-keys=1000")
    clean = scrub(said, env)
    for secret in ("AKIAVISIBLEKEY", "s3cr3t-value", "obscured-pass", "AKIAOTHER", "quoted secret", "plain-pass"):
        assert secret not in clean
    assert "https://s3.example.org/b?max-keys=1000" in clean  # addresses stay: they say where it went wrong
    line = explain("api error SignatureDoesNotMatch: The request signature we calculated does not match\n" * 9)
    assert "\n" not in line and len(line) < 400 and line.startswith("the server refused the credentials")
