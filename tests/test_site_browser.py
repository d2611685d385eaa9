"""The listeners' site in real headless Chromium, opened straight from the folder (file://), as a
listener who downloaded feed/ would: play and the highlight follows, a click on a line or a
chapter seeks the player, search, keyboard-only use with a visible focus ring, and axe-core on
every page type. Skipped without Chromium unless ``RKAUDIO_REQUIRE_BROWSER=1``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from site_helpers import build_show
from browser_helpers import chromium
from test_review_browser import AXE, REPO, _missing, wait_for

pytestmark = pytest.mark.browser

#: axe-core's rule sets for WCAG 2.0-2.2 A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture
def site(show: Path) -> Path:
    build_show(show)
    return show / "feed"


def open_page(driver, site: Path, page: str) -> None:
    driver.get((site / page).as_uri())
    wait_for(lambda: driver.execute_script("return document.readyState === 'complete'"), f"{page} to load")


def player_time(driver) -> float:
    return driver.execute_script("return document.getElementById('player').currentTime")


def current_cue(driver) -> float | None:
    return driver.execute_script(
        "const c = document.querySelector('#transcript [aria-current]'); return c ? parseFloat(c.dataset.s) : null")


def test_play_and_the_highlight_moves(browser, site: Path) -> None:
    driver = browser
    open_page(driver, site, "episodes/newer/index.html")
    assert current_cue(driver) is None
    driver.execute_script("document.getElementById('player').play()")
    wait_for(lambda: current_cue(driver) == 0.0, "the first line to be highlighted")
    wait_for(lambda: (current_cue(driver) or 0) >= 2.0, "the highlight to move on", timeout=15)
    assert driver.execute_script("return document.querySelectorAll('#transcript [aria-current]').length") == 1
    driver.execute_script("document.getElementById('player').pause()")


def test_click_a_line_and_the_player_jumps_there(browser, site: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_page(driver, site, "episodes/newer/index.html")
    line = driver.find_element(By.CSS_SELECTOR, '#transcript [data-s="10.0"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
    line.click()
    wait_for(lambda: 10.0 <= player_time(driver) < 11.5, "a seek to 0:10")
    wait_for(lambda: current_cue(driver) == 10.0, "the clicked line to be highlighted")
    # A chapter seeks too, rather than opening the MP3.
    chapter = driver.find_element(By.XPATH, "//a[contains(., 'Ben speaks')]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", chapter)
    chapter.click()
    wait_for(lambda: 9.0 <= player_time(driver) < 10.5, "a seek to the chapter at 0:09")
    assert driver.current_url.endswith("episodes/newer/index.html")
    driver.execute_script("document.getElementById('player').pause()")


def test_keyboard_only(browser, site: Path) -> None:
    """Tab to a chapter, Enter plays from it; k pauses and plays; j and l step; / finds the search;
    every focused control shows a focus ring."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = browser
    open_page(driver, site, "episodes/newer/index.html")
    driver.execute_script("document.activeElement.blur()")
    keys = ActionChains(driver)
    for _ in range(80):
        keys.send_keys(Keys.TAB).perform()
        focused = driver.execute_script(
            "const a = document.activeElement; const s = getComputedStyle(a);"
            "return [a.textContent, s.outlineStyle, s.outlineWidth, a.tagName]")
        if focused[3] != "AUDIO":  # the player's own controls draw their own ring
            assert focused[1] != "none" and focused[2] != "0px", focused
        if "Ben speaks" in focused[0]:
            break
    else:
        pytest.fail("Tab never reached the chapter 'Ben speaks'")
    keys.send_keys(Keys.ENTER).perform()
    wait_for(lambda: 9.0 <= player_time(driver) < 10.5, "Enter on a chapter to seek to 0:09")
    wait_for(lambda: not driver.execute_script("return document.getElementById('player').paused"), "playing")
    keys.send_keys("k").perform()
    wait_for(lambda: driver.execute_script("return document.getElementById('player').paused"), "k to pause")
    before = player_time(driver)
    keys.send_keys("j").perform()
    wait_for(lambda: player_time(driver) <= max(0.0, before - 9.5), "j to go back 10 s")
    keys.send_keys("l").perform()
    wait_for(lambda: player_time(driver) >= before - 0.5, "l to go forward 10 s")
    keys.send_keys("/").perform()
    assert driver.execute_script("return document.activeElement.id") == "transcript-search"
    keys.send_keys("number 12").perform()
    wait_for(lambda: driver.execute_script("return document.getElementById('search-status').textContent")
             == "1 line matches", "the search to find one line")
    keys.send_keys(Keys.ENTER).perform()
    assert driver.execute_script("return document.querySelector('#transcript .found').dataset.s") == "12.0"
    # Shortcuts can be turned off (WCAG 2.1.4): then k does nothing.
    driver.execute_script("document.getElementById('shortcuts-on').checked = false; document.activeElement.blur()")
    keys.send_keys("k").perform()
    assert driver.execute_script("return document.getElementById('player').paused")


def test_the_feed_address_can_be_copied(browser, site: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    open_page(driver, site, "index.html")
    button = driver.find_element(By.ID, "copy-feed")
    assert button.is_displayed()
    button.click()
    wait_for(lambda: driver.find_element(By.ID, "copy-status").text, "the copy to be confirmed")


@pytest.mark.parametrize("page", ["index.html", "episodes/older/index.html", "episodes/newer/index.html",
                                  "research/index.html", "transcripts/older.html"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violations(browser, site: Path, page: str, scheme: str) -> None:
    if not AXE.is_file():
        _missing(f"{AXE.relative_to(REPO)} not found (make test installs it with npm)")
    driver = browser
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": scheme}]})
    try:
        open_page(driver, site, page)
        if page.startswith("episodes/"):  # the state while playing: a highlighted line, a search
            driver.execute_script("document.querySelector('#transcript [data-s]').setAttribute('aria-current', 'time');"
                                  "const s = document.getElementById('transcript-search'); s.value = 'the';"
                                  "s.dispatchEvent(new Event('input'));")
        driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
               .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                                    nodes: v.nodes.map(n => n.target.join(' '))}))}))
               .catch(e => done({error: String(e)}));
        """, AXE_TAGS)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert "error" not in result, result
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, indent=1)


def test_reduced_motion_is_honoured(browser, site: Path) -> None:
    driver = browser
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-reduced-motion", "value": "reduce"}]})
    try:
        open_page(driver, site, "episodes/newer/index.html")
        assert driver.execute_script("return getComputedStyle(document.documentElement).scrollBehavior") == "auto"
        assert driver.execute_script("return matchMedia('(prefers-reduced-motion: reduce)').matches")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_without_javascript_the_transcript_notes_and_player_work(site: Path) -> None:
    """The same pages in a Chromium with JavaScript off: everything is there, the player has its
    controls, and each time links to the MP3 at that moment."""
    from selenium.webdriver.common.by import By

    with chromium(javascript=False) as driver:
        _read_without_javascript(driver, site, By)


def _read_without_javascript(driver, site: Path, By) -> None:  # noqa: N803 - selenium's name
    driver.get((site / "episodes" / "older" / "index.html").as_uri())
    assert driver.find_element(By.ID, "player").get_attribute("controls") is not None
    assert "Welcome to Radical Kindness" in driver.find_element(By.ID, "transcript").text
    assert "Abrams et al., 2021" in driver.find_element(By.CSS_SELECTOR, ".notes").text
    assert not driver.find_element(By.CSS_SELECTOR, ".transcript-tools").is_displayed()  # search needs JS
    chapter = driver.find_element(By.XPATH, "//a[contains(., 'More')]")
    assert chapter.get_attribute("href").endswith("media/older.mp3#t=5")
    driver.get((site / "index.html").as_uri())
    assert not driver.find_element(By.ID, "copy-feed").is_displayed()  # the script never ran
    assert driver.find_element(By.ID, "feed-url").get_attribute("value").endswith("/feed.xml")
