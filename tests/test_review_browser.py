"""The review editor end to end in real headless Chromium (Debian's chromium and chromium-driver).

Without Chromium these tests are skipped with the reason, unless ``RKAUDIO_REQUIRE_BROWSER=1``
(set by ``.ci/run``), when they fail instead: CI can never pass by silently skipping them.
Files are read back with webvtt-py, independent of rkaudio's reader; accessibility is checked
with axe-core from npm (``node_modules/axe-core/axe.min.js``, installed by ``make test``).
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import webvtt

from rkaudio.review.server import ReviewServer

from browser_helpers import missing
from review_helpers import SLUG, UNSURE_WORD, make_episode, running_server
from show_helpers import write_metadata
from transcript_helpers import shown_lines

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WAIT_S = 10.0
_missing = missing


@pytest.fixture
def served(show: Path) -> Iterator[ReviewServer]:
    make_episode(show)
    with running_server(show) as server:
        yield server


@pytest.fixture
def served_speakers(show: Path) -> Iterator[ReviewServer]:
    """An episode whose sentences the diarizer gave to two voices, with its people named."""
    write_metadata(show, SLUG, title="Building bridges", date="2026-03-01T09:00:00Z",
                   chapters='[[people]]\nname = "Asha Patel"\nrole = "host"\n')
    make_episode(show, speakers=("Speaker 1", "Speaker 2"))
    with running_server(show) as server:
        yield server


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> object:
    """Poll ``condition`` until it is true. An element the page re-rendered between finding it and
    reading it (a stale reference) counts as "not yet", not as a failure."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def open_editor(driver, server: ReviewServer, *, fresh: bool = True) -> None:
    driver.get(server.url)
    if fresh:  # each server has its own address, but a reused port would share storage
        driver.execute_script("localStorage.clear(); sessionStorage.clear();")
        driver.get(server.url)
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "the editor to load")


def textarea(driver, index: int):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#cues > li textarea")[index]


def replace_text(driver, index: int, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = textarea(driver, index)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def save_and_wait(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "save").click()
    wait_for(lambda: driver.find_element(By.ID, "save-state").text.startswith("Saved"), "the save to finish")


def captions(root: Path) -> list[list[str]]:
    return [shown_lines(c) for c in webvtt.read(str(root / "transcripts" / f"{SLUG}.vtt")).captions]


def timings(root: Path) -> list[tuple[int, int]]:
    return [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds())
            for c in webvtt.read(str(root / "transcripts" / f"{SLUG}.vtt")).captions]


def current_time(driver) -> float:
    return driver.execute_script("return document.getElementById('audio').currentTime")


# --- the end-to-end run -----------------------------------------------------------------------------

@pytest.mark.slow
def test_listen_seek_edit_save_and_reload(browser, served: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_editor(driver, served)
    before = captions(show)
    times = timings(show)
    assert len(before) >= 3
    shown = [t.get_attribute("value").split("\n") for t in driver.find_elements(By.CSS_SELECTOR, "#cues textarea")]
    assert shown == before

    # 1. Play the audio: time moves on.
    driver.find_element(By.ID, "play").click()
    wait_for(lambda: current_time(driver) > 0.3, "the audio to play")
    assert driver.find_element(By.ID, "play").text == "Pause"

    # 2. Click the third cue's time: the audio jumps to it, and that cue is the current one.
    target = times[2][0] / 1000
    driver.find_elements(By.CSS_SELECTOR, "#cues .cue-time")[2].click()
    wait_for(lambda: target - 0.05 <= current_time(driver) <= target + 1.5, f"a seek to {target} s")
    wait_for(lambda: driver.execute_script(
        "return document.querySelector('#cues > li[aria-current=time]')?.dataset.index") == "2",
        "the third cue to be highlighted")
    driver.execute_script("document.getElementById('audio').pause()")

    # 3. Edit the second cue, and name its speaker.
    replace_text(driver, 1, "Corrected by\nthe reviewer.")
    driver.find_elements(By.CSS_SELECTOR, "#cues input.speaker")[1].send_keys("Ann Example")
    wait_for(lambda: "Unsaved" in driver.find_element(By.ID, "save-state").text, "the page to show unsaved work")

    # 4. Save, and read the file with webvtt-py: the edit is there and every timing is kept.
    save_and_wait(driver)
    after = captions(show)
    assert after[1] == ["Corrected by", "the reviewer."]
    assert after[:1] + after[2:] == before[:1] + before[2:]
    assert timings(show) == times
    assert "<v Ann Example>Corrected by" in (show / "transcripts" / f"{SLUG}.vtt").read_text(encoding="utf-8")
    assert list((show / "transcripts" / "history" / SLUG).glob("*.vtt"))
    assert "Corrected by" in (show / "feed" / "transcripts" / f"{SLUG}.srt").read_text(encoding="utf-8")

    # 5. Reload: the page shows the saved edit.
    driver.refresh()
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "the reload")
    assert textarea(driver, 1).get_attribute("value") == "Corrected by\nthe reviewer."
    assert "saved" in driver.find_element(By.ID, "save-state").text.lower()


# --- refusing a stale save -------------------------------------------------------------------------

def test_a_stale_save_is_refused_with_a_clear_message(browser, served: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_editor(driver, served)
    vtt = show / "transcripts" / f"{SLUG}.vtt"
    # Another editor changes the file after the page loaded it.
    vtt.write_text(vtt.read_text(encoding="utf-8").replace("Welcome", "Hello there"), encoding="utf-8")
    on_disk = vtt.read_bytes()
    replace_text(driver, 0, "My own version")
    driver.find_element(By.ID, "save").click()
    alert = driver.find_element(By.ID, "alert")
    wait_for(alert.is_displayed, "the refusal")
    assert "changed on disk" in alert.text and "not overwritten" in alert.text
    assert vtt.read_bytes() == on_disk
    assert not (show / "transcripts" / "history").exists()
    assert "Unsaved" in driver.find_element(By.ID, "save-state").text
    # Reloading shows the file as it is now and offers the reviewer's own changes back.
    driver.refresh()
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "the reload")
    assert textarea(driver, 0).get_attribute("value").startswith("Hello there")
    notice = driver.find_element(By.ID, "notice")
    assert notice.is_displayed() and "changed on disk" in notice.text
    driver.find_element(By.XPATH, "//button[text()='Use my unsaved changes']").click()
    assert textarea(driver, 0).get_attribute("value") == "My own version"


# --- escaping ----------------------------------------------------------------------------------------

PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def test_script_in_a_cue_shows_as_text_and_never_runs(browser, show: Path) -> None:
    from selenium.webdriver.common.by import By

    vtt = make_episode(show)
    text = vtt.read_text(encoding="utf-8")
    first = text.split("\n\n")[1].split("\n")
    first[1] = html.escape(PAYLOAD, quote=False)  # as a reviewer's editor would write it in WebVTT
    speaker = "<v " + html.escape('<b onmouseover="x()">Ann</b>', quote=False) + ">"
    first[1] = speaker + first[1]
    vtt.write_text(text.replace(text.split("\n\n")[1], "\n".join(first)), encoding="utf-8")
    with running_server(show) as server:
        driver = browser
        open_editor(driver, server)
        assert textarea(driver, 0).get_attribute("value").split("\n")[0] == PAYLOAD
        assert driver.find_elements(By.CSS_SELECTOR, "#cues input.speaker")[0].get_attribute("value") == \
            '<b onmouseover="x()">Ann</b>'
        # Nothing from the transcript became markup: no new elements, no script ran.
        assert driver.execute_script("return window.__pwned") is None
        assert driver.execute_script("return document.querySelectorAll('script').length") == 1
        assert driver.execute_script("return document.querySelectorAll('img, b, #cues script').length") == 0
        backdrop = driver.execute_script("return document.querySelector('#cues .backdrop').textContent")
        assert PAYLOAD in backdrop
        # Typed in, it is saved as text too.
        replace_text(driver, 1, "<script>window.__pwned = 3</script>")
        save_and_wait(driver)
        assert driver.execute_script("return window.__pwned") is None
        assert captions(show)[1] == ["<script>window.__pwned = 3</script>"]
        assert "<script>" not in vtt.read_text(encoding="utf-8")


# --- unsaved work, editing tools, keyboard -------------------------------------------------------------

def test_unsaved_changes_survive_a_reload_and_leaving_warns(browser, served: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_editor(driver, served)
    before = (show / "transcripts" / f"{SLUG}.vtt").read_bytes()
    leaving = "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented"
    assert driver.execute_script(leaving) is False  # nothing to lose yet: no warning
    replace_text(driver, 2, "Not saved yet")
    # With unsaved work, leaving is held up, which makes the browser ask "Leave site?".
    assert driver.execute_script(leaving) is True
    time.sleep(0.5)  # the draft is written a moment after typing stops
    driver.refresh()  # WebDriver answers the browser's question with "leave"
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "the reload")
    # ...and after the reload the unsaved text is back, still unsaved.
    assert textarea(driver, 2).get_attribute("value") == "Not saved yet"
    assert "Unsaved" in driver.find_element(By.ID, "save-state").text
    assert (show / "transcripts" / f"{SLUG}.vtt").read_bytes() == before
    save_and_wait(driver)
    assert captions(show)[2] == ["Not saved yet"]
    assert driver.execute_script("return Object.keys(localStorage).filter(k => k.startsWith('rkaudio-review:'))") == []


def test_split_merge_find_and_replace(browser, served: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    open_editor(driver, served)
    times = timings(show)
    count = len(times)
    # Split the first cue after its first two words, with Alt+Enter.
    box = textarea(driver, 0)
    box.click()
    driver.execute_script("arguments[0].setSelectionRange(19, 19)", box)  # "Welcome to Radical |Kindness,"
    box.send_keys(Keys.ALT, Keys.ENTER)
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#cues > li")) == count + 1, "the split")
    assert textarea(driver, 0).get_attribute("value") == "Welcome to Radical"
    assert textarea(driver, 1).get_attribute("value").startswith("Kindness,")
    # Merge the two halves back with the toolbar button.
    textarea(driver, 0).click()
    driver.find_element(By.ID, "merge").click()
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#cues > li")) == count, "the merge")
    # Replace a word everywhere.
    driver.find_element(By.ID, "find").send_keys("the")
    driver.find_element(By.ID, "whole-words").click()
    driver.find_element(By.ID, "replace").send_keys("THE")
    driver.find_element(By.ID, "replace-all").click()
    status = driver.find_element(By.ID, "find-status").text
    assert status.startswith("Replaced ") and "match" in status
    save_and_wait(driver)
    saved = captions(show)
    words = " ".join(" ".join(lines) for lines in saved).split()
    assert "THE" in words and "the" not in words and "them" not in words
    assert words[:4] == ["Welcome", "to", "Radical", "Kindness,"]
    new_times = timings(show)
    # The split-and-merged first cue keeps its start and end; the others keep theirs.
    assert new_times == times


def test_shortcuts_work_while_typing_and_unsure_words_are_marked(browser, served: ReviewServer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    open_editor(driver, served)
    marks = driver.execute_script("return [...document.querySelectorAll('#cues .backdrop mark')].map(m => m.textContent)")
    assert marks == [UNSURE_WORD]
    assert UNSURE_WORD in driver.find_element(By.CSS_SELECTOR, "#cues .unsure-list").text
    box = textarea(driver, 1)
    box.click()
    box.send_keys(Keys.ALT, "k")
    wait_for(lambda: driver.execute_script("return !document.getElementById('audio').paused"), "Alt+K to play")
    assert box.get_attribute("value") == textarea(driver, 1).get_attribute("value")  # nothing was typed
    box.send_keys(Keys.ALT, "k")
    wait_for(lambda: driver.execute_script("return document.getElementById('audio').paused"), "Alt+K to pause")
    start = current_time(driver)
    box.send_keys(Keys.ALT, "l")
    wait_for(lambda: current_time(driver) >= start + 4.9, "Alt+L to skip forward")
    box.send_keys(Keys.ALT, "j")
    wait_for(lambda: abs(current_time(driver) - start) < 0.2, "Alt+J to skip back")
    box.send_keys(Keys.ALT, "=")
    assert driver.execute_script("return document.getElementById('audio').playbackRate") == 1.25
    box.send_keys(Keys.ALT, "-")
    box.send_keys(Keys.ALT, "-")
    assert driver.execute_script("return document.getElementById('audio').playbackRate") == 0.75
    assert driver.switch_to.active_element == box
    # Alt+G plays from the word at the cursor: here the word the engine was unsure of.
    state = served.session.state()
    word = [w for c in state["cues"] for w in c["words"] if w["text"] == UNSURE_WORD][0]
    at = box.get_attribute("value").index(UNSURE_WORD) + 2
    driver.execute_script("arguments[0].setSelectionRange(arguments[1], arguments[1])", box, at)
    box.send_keys(Keys.ALT, "g")
    wait_for(lambda: word["start"] - 0.05 <= current_time(driver) <= word["start"] + 1.0, "Alt+G to play the word")
    driver.execute_script("document.getElementById('audio').pause()")
    # Correcting the unsure word removes its mark.
    value = box.get_attribute("value")
    assert UNSURE_WORD in value
    prefix = "So, as a matter of fact, and to be quite honest with you all,"
    edited = f"{prefix} {value.replace(UNSURE_WORD, 'Ayr-shire')}"
    replace_text(driver, 1, edited)
    wait_for(lambda: driver.execute_script("return document.querySelectorAll('#cues .backdrop mark').length") == 0,
             "the corrected word to lose its mark")
    # The words after the correction keep their times, though many words were added before them:
    # the server lines the new text up and the page plays from what it sends, where sharing the cue
    # out by characters would land seconds late.
    spoken = state["cues"][1]["words"]
    k = next(i for i in range(len(spoken) // 2, len(spoken)) if spoken[i]["text"] != UNSURE_WORD)
    target = spoken[k]
    tokens = edited.split()
    at = sum(len(t) + 1 for t in tokens[:len(prefix.split()) + k]) + 1
    assert tokens[len(prefix.split()) + k] == target["text"]
    played: list[float] = []

    def plays_the_word() -> bool:
        driver.execute_script("arguments[0].setSelectionRange(arguments[1], arguments[1])", box, at)
        box.send_keys(Keys.ALT, "g")
        played.append(driver.execute_script(
            "const a = document.getElementById('audio'); a.pause(); return a.currentTime"))
        return abs(played[-1] - target["start"]) < 0.3

    wait_for(plays_the_word, f"Alt+G to play {target['text']!r} from {target['start']} s after the edit")


def test_history_restore_and_sign_off_in_the_page(browser, served: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_editor(driver, served)
    original = captions(show)
    replace_text(driver, 0, "A first edit")
    save_and_wait(driver)
    reviewer = driver.find_element(By.ID, "reviewer")
    reviewer.clear()
    reviewer.send_keys("Ann Example")
    driver.find_element(By.ID, "signoff").click()
    wait_for(lambda: "reviewed by Ann Example" in driver.find_element(By.ID, "review-state").text, "the sign-off")
    record = json.loads((show / "transcripts" / f"{SLUG}.review.json").read_text(encoding="utf-8"))
    assert record["signoffs"][-1]["reviewer"] == "Ann Example"
    # Restore the version the edit replaced: the sign-off no longer holds.
    buttons = driver.find_elements(By.CSS_SELECTOR, "#history button")
    restore = [b for b in buttons if b.text == "Restore"][0]
    restore.click()
    driver.switch_to.alert.accept()
    wait_for(lambda: textarea(driver, 0).get_attribute("value").startswith("Welcome"), "the restore")
    assert captions(show) == original
    assert "changed since it was reviewed by Ann Example" in driver.find_element(By.ID, "review-state").text


# --- accessibility -----------------------------------------------------------------------------------

def test_axe_finds_no_serious_or_critical_violations(browser, served_speakers: ReviewServer, show: Path) -> None:
    from selenium.webdriver.common.by import By

    if not AXE.is_file():
        _missing(f"{AXE.relative_to(REPO)} not found (make test installs it with npm)")
    driver = browser
    open_editor(driver, served_speakers)
    # Show every state the page can be in: a caption error, an unsaved change, a notice, a preview.
    replace_text(driver, 0, "A line far too long for any caption, it runs on and on and on and on")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#cues .finding-error"), "the caption error")
    driver.execute_script("document.getElementById('alert').hidden = false;"
                          "document.getElementById('alert').textContent = 'An example message';")
    driver.find_elements(By.XPATH, "//button[text()='Preview']")[0].click()
    wait_for(lambda: driver.find_element(By.ID, "preview").is_displayed(), "the preview")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                           'wcag22aa', 'best-practice']}})
           .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                                nodes: v.nodes.map(n => n.target.join(' '))}))}))
           .catch(e => done({error: String(e)}));
    """)
    assert "error" not in result, result
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, indent=1)


def test_speakers_have_colours_and_a_rename_changes_every_cue_of_theirs(browser, served_speakers: ReviewServer,
                                                                        show: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    open_editor(driver, served_speakers)
    vtt = show / "transcripts" / f"{SLUG}.vtt"
    before = [c.voice for c in webvtt.read(str(vtt)).captions]
    assert set(before) == {"Speaker 1", "Speaker 2"}
    items = driver.find_elements(By.CSS_SELECTOR, "#speaker-list .speaker-name")
    assert [i.text for i in items] == ["Speaker 1", "Speaker 2"]
    swatches = [s.value_of_css_property("background-color")
                for s in driver.find_elements(By.CSS_SELECTOR, "#speaker-list .swatch")]
    assert len(set(swatches)) == 2
    # Each cue's speaker field carries its speaker's colour, and its name as text.
    marks = driver.execute_script(
        "return [...document.querySelectorAll('#cues input.speaker')].map("
        "i => [i.value, getComputedStyle(i).borderLeftColor])")
    colour_of = {}
    for name, colour in marks:
        assert colour_of.setdefault(name, colour) == colour
    assert len(set(colour_of.values())) == 2
    # The episode's people are offered as names.
    offered = driver.execute_script("return [...document.querySelectorAll('#speakers option')].map(o => o.value)")
    assert "Asha Patel" in offered

    box = driver.find_element(By.ID, "rename-0")
    box.send_keys("Asha Patel")
    box.find_element(By.XPATH, "following-sibling::button").click()
    wait_for(lambda: "renamed to Asha Patel" in driver.find_element(By.ID, "speaker-status").text, "the rename")
    # Give one cue to the other speaker by hand.
    last = driver.find_elements(By.CSS_SELECTOR, "#cues input.speaker")[-1]
    last.click()
    last.send_keys(Keys.CONTROL, "a")
    last.send_keys(Keys.DELETE)
    last.send_keys("Ben Okafor")
    save_and_wait(driver)
    after = [c.voice for c in webvtt.read(str(vtt)).captions]
    assert after[:-1] == ["Asha Patel" if v == "Speaker 1" else v for v in before[:-1]]
    assert after[-1] == "Ben Okafor"
    assert "Speaker 1" not in after
    names = [i.text for i in driver.find_elements(By.CSS_SELECTOR, "#speaker-list .speaker-name")]
    assert "Asha Patel" in names and "Speaker 1" not in names
