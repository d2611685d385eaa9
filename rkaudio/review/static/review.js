// The transcript review editor. Plain JavaScript, no build step.
//
// Safety rule: text from the transcript reaches the page only through textContent, value and
// attributes set by property, never through innerHTML, so a cue reading "<script>" is shown as text.
"use strict";

(() => {
  const TOKEN_KEY = "rkaudio-review-token";
  const REVIEWER_KEY = "rkaudio-review-reviewer";
  const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  const SKIP_S = 5;
  // Follow the audio, except within this long of the reviewer's last keystroke in a cue.
  const TYPING_PAUSE_MS = 4000;

  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const list = $("cues");

  let token = readToken();
  let state = null;            // the last answer of GET /api/transcript
  let cues = [];               // the working copy: {id, start, end, speaker, text, identifier, settings, words}
  let baseEtag = "";           // digest of the .vtt the working copy was made from
  let dirty = false;
  let saving = false;
  let nextId = 1;
  let findings = [];           // per cue index: [{severity, rule, message}]
  let currentIndex = -1;
  let lastTyped = 0;
  let focusCue = 0;            // the cue the reviewer last worked in
  let focusCaret = 0;
  let checkSeq = 0;
  let checkTimer = 0;
  let draftTimer = 0;
  let findPos = null;          // {index, start, end} of the last match shown

  function readToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      const value = decodeURIComponent(match[1]);
      sessionStorage.setItem(TOKEN_KEY, value);
      return value;
    }
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  // --- talking to the server -------------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, headers: { "X-Review-Token": token }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      const err = new Error("The review server cannot be reached. Is 'rkaudio review' still running? " +
                            "Your unsaved changes are kept in this browser.");
      err.status = 0;
      throw err;
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const err = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      err.status = response.status;
      throw err;
    }
    return data;
  }

  // --- times ---------------------------------------------------------------------------------------

  function clock(seconds, precise) {
    const total = Math.max(0, seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const sec = precise ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  const offset = () => (state && state.audio ? state.audio.offset : 0);
  const episodeTime = () => audio.currentTime + offset();

  function seek(seconds) {
    if (!state || !state.audio) { announce("There is no audio to play for this episode."); return; }
    audio.currentTime = Math.max(0, seconds - offset());
    showClock();
    highlightCurrent(true);
  }

  // --- words: which token of the text is which timed word -----------------------------------------

  function norm(token) {
    const bare = token.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
    return bare || token.toLowerCase();
  }

  function tokens(text) {
    const found = [];
    const re = /\S+/g;
    let m;
    while ((m = re.exec(text))) found.push({ text: m[0], start: m.index, end: m.index + m[0].length });
    return found;
  }

  // The server lines a cue's text up with the machine's words (one word per token, corrected
  // words timed within the cue) and sends the result with every check and load. Until the reply
  // to an edit arrives, a token is paired with the word in its place only if they still agree.
  function align(toks, words) {
    return toks.map((t, i) => (words[i] && norm(words[i].text) === norm(t.text) ? i : -1));
  }

  // When the text at character ``at`` of a cue is spoken: its word's start, or in proportion.
  function timeAt(cue, at) {
    const toks = tokens(cue.text);
    const placed = align(toks, cue.words);
    let index = toks.findIndex((t) => at < t.end);
    if (index < 0) index = toks.length - 1;
    if (index >= 0 && placed[index] >= 0) return cue.words[placed[index]].start;
    const share = cue.text.length ? Math.min(1, Math.max(0, at / cue.text.length)) : 0;
    return cue.start + share * (cue.end - cue.start);
  }

  function unsureTokens(cue) {
    const limit = state ? state.unsure_below : 0.5;
    const toks = tokens(cue.text);
    const placed = align(toks, cue.words);
    const found = [];
    toks.forEach((t, i) => {
      const word = placed[i] >= 0 ? cue.words[placed[i]] : null;
      if (word && word.probability !== null && word.probability !== undefined && word.probability < limit) {
        found.push({ ...t, probability: word.probability });
      }
    });
    return found;
  }

  // --- the working copy ------------------------------------------------------------------------

  function fromServer(cue) {
    return {
      id: nextId++, start: cue.start, end: cue.end, speaker: cue.speaker || "",
      text: cue.lines.join("\n"), identifier: cue.identifier || "", settings: cue.settings || "",
      words: cue.words || [],
    };
  }

  function payload() {
    return cues.map((c) => ({
      start: c.start, end: c.end, speaker: c.speaker.trim() || null,
      lines: c.text.split("\n"), identifier: c.identifier, settings: c.settings,
    }));
  }

  function load(serverState, keep) {
    state = serverState;
    baseEtag = state.etag;
    cues = state.cues.map(fromServer);
    findings = groupFindings(state.findings);
    document.title = `${state.title}: transcript review`;
    $("title").textContent = `Transcript review: ${state.title}`;
    setupAudio();
    renderCues(keep);
    renderReview();
    renderHistory();
  }

  function markDirty() {
    dirty = true;
    lastTyped = Date.now();
    showSaveState();
    clearTimeout(draftTimer);
    draftTimer = setTimeout(writeDraft, 250);
    scheduleCheck();
  }

  function showSaveState(text) {
    const el = $("save-state");
    el.classList.toggle("dirty", dirty);
    el.textContent = text || (dirty ? "Unsaved changes (kept in this browser until you save)" : "All changes saved");
  }

  // --- unsaved changes survive a reload --------------------------------------------------------

  function writeDraft() {
    clearTimeout(draftTimer);
    if (!state) return;
    try {
      if (dirty) {
        localStorage.setItem(state.draft_key, JSON.stringify({
          base: baseEtag, at: Date.now(),
          cues: cues.map(({ id, ...rest }) => rest),
        }));
      } else {
        localStorage.removeItem(state.draft_key);
      }
    } catch (error) {
      showAlert("This browser would not keep a copy of your unsaved changes (storage is full or off). Save often.");
    }
  }

  function readDraft() {
    try {
      const raw = localStorage.getItem(state.draft_key);
      const draft = raw ? JSON.parse(raw) : null;
      return draft && Array.isArray(draft.cues) && typeof draft.base === "string" ? draft : null;
    } catch (error) {
      return null;
    }
  }

  function applyDraft(draft) {
    cues = draft.cues.map((c) => ({ ...c, id: nextId++, words: c.words || [] }));
    dirty = true;
    renderCues();
    showSaveState();
    scheduleCheck(0);
    writeDraft();
  }

  function offerDraft(draft) {
    const same = JSON.stringify(draft.cues.map((c) => [c.start, c.end, c.speaker, c.text])) ===
                 JSON.stringify(cues.map((c) => [c.start, c.end, c.speaker, c.text]));
    if (same) {
      localStorage.removeItem(state.draft_key);
      return;
    }
    if (draft.base === baseEtag) {
      applyDraft(draft);
      showNotice("Your unsaved changes from before the page was reloaded are back. Save to keep them in the file.", []);
      return;
    }
    const when = new Date(draft.at).toLocaleString();
    showNotice(`This browser kept unsaved changes from ${when}, made to an earlier version of ${state.file}. ` +
               "The file has changed on disk since. Using your changes replaces the version on disk when you " +
               "save; that version stays in the earlier versions below.", [
      ["Use my unsaved changes", () => { hideNotice(); applyDraft(draft); }],
      ["Discard them", () => { hideNotice(); localStorage.removeItem(state.draft_key); announce("Discarded."); }],
    ]);
  }

  // --- rendering the cues ------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderCues(keep) {
    const fragment = document.createDocumentFragment();
    cues.forEach((cue, index) => fragment.appendChild(cueElement(cue, index)));
    list.replaceChildren(fragment);
    if (!GROWS) list.querySelectorAll("textarea").forEach(fitHeight);
    renderSpeakers();
    renderFindings();
    currentIndex = -1;
    highlightCurrent(false);
    if (keep && keep.index !== undefined) focusField(keep.index, keep.field || "text", keep.caret);
  }

  function cueElement(cue, index) {
    const li = el("li", "cue");
    li.dataset.index = String(index);
    const head = el("div", "cue-head");
    const number = el("span", "cue-number", `Cue ${index + 1}`);
    number.id = `cue-label-${cue.id}`;
    // The accessible name starts with what the button does and includes the visible times.
    const time = el("button", "cue-time");
    time.append(el("span", "visually-hidden", `Play cue ${index + 1}: `),
                `${clock(cue.start, true)} – ${clock(cue.end, true)}`);
    time.type = "button";
    time.addEventListener("click", () => { seek(cue.start); if (audio.paused) play(); });
    const now = el("span", "now", "");
    const speakerLabel = el("label", "", "Speaker");
    const speaker = el("input");
    speaker.type = "text";
    speaker.id = `speaker-${cue.id}`;
    speaker.className = "speaker";
    speaker.value = cue.speaker;
    speaker.autocomplete = "off";
    speaker.setAttribute("list", "speakers");
    speakerLabel.htmlFor = speaker.id;
    speaker.addEventListener("input", () => { cue.speaker = speaker.value; markDirty(); });
    speaker.addEventListener("change", () => renderSpeakers());
    speaker.addEventListener("focus", () => { focusCue = indexOf(li); });
    head.append(number, time, now, speakerLabel, speaker);

    const wrap = el("div", "text-wrap");
    const backdrop = el("div", "backdrop");
    backdrop.setAttribute("aria-hidden", "true");
    const label = el("label", "visually-hidden", `Cue ${index + 1} text`);
    const text = el("textarea", "text");
    text.id = `text-${cue.id}`;
    label.htmlFor = text.id;
    text.value = cue.text;
    text.rows = Math.max(1, cue.text.split("\n").length);
    text.spellcheck = true;
    const notes = el("div", "cue-notes");
    notes.id = `notes-${cue.id}`;
    text.setAttribute("aria-describedby", notes.id);
    text.addEventListener("input", () => {
      cue.text = text.value;
      paintBackdrop(cue, backdrop, text);
      renderUnsure(cue, notes);
      markDirty();
    });
    const remember = () => { focusCue = indexOf(li); focusCaret = text.selectionStart; };
    text.addEventListener("focus", remember);
    text.addEventListener("keyup", remember);
    text.addEventListener("click", remember);
    text.addEventListener("dblclick", () => {
      remember();
      seek(timeAt(cue, text.selectionStart));
      if (audio.paused) play();
    });
    wrap.append(backdrop, label, text);
    li.append(head, wrap, notes);
    // A click on the cue itself, away from its fields, plays it (the time button does the same
    // for the keyboard).
    li.addEventListener("click", (event) => {
      if (event.target === li || event.target === head || event.target === number || event.target === notes ||
          notes.contains(event.target)) {
        seek(cue.start);
      }
    });
    paintBackdrop(cue, backdrop, text);
    renderUnsure(cue, notes);
    return li;
  }

  function indexOf(li) { return Number(li.dataset.index); }

  function cueNode(index) { return list.children[index] || null; }

  function paintBackdrop(cue, backdrop, textarea) {
    const marks = unsureTokens(cue);
    const parts = [];
    let at = 0;
    for (const t of marks) {
      parts.push(document.createTextNode(cue.text.slice(at, t.start)));
      parts.push(el("mark", "", cue.text.slice(t.start, t.end)));
      at = t.end;
    }
    // A trailing newline needs a character after it, or the backdrop is a line shorter.
    parts.push(document.createTextNode(cue.text.slice(at) + "\u200b"));
    backdrop.replaceChildren(...parts);
    if (!GROWS && textarea.isConnected) fitHeight(textarea);
  }

  // Chromium sizes a textarea to its text by itself (field-sizing); elsewhere it is done here.
  const GROWS = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");

  function fitHeight(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = `${textarea.scrollHeight + 2}px`;
  }

  function renderUnsure(cue, notes) {
    let para = notes.querySelector(".unsure-list");
    const marks = unsureTokens(cue);
    if (!marks.length) { if (para) para.remove(); return; }
    if (!para) { para = el("p", "unsure-list"); notes.prepend(para); }
    para.textContent = "The speech engine was unsure of: " +
      marks.map((t) => `“${t.text}” (${Math.round(t.probability * 100)}%)`).join(", ");
  }

  // --- speakers: a colour each, and renaming one everywhere --------------------------------------

  // Colours with at least 3:1 contrast against the page, so a cue's marker can be seen; the name
  // is always shown beside it, so colour is never the only way to tell speakers apart.
  const SPEAKER_COLOURS = ["#0b62a4", "#b34700", "#00745a", "#a23b72", "#6a51a3", "#7a6400", "#9e1b32", "#2f4b7c"];

  function speakerNames() {
    const seen = [];
    for (const c of cues) {
      const name = c.speaker.trim();
      if (name && !seen.includes(name)) seen.push(name);
    }
    return seen;
  }

  function speakerColour(name) {
    const index = speakerNames().indexOf(name.trim());
    return index < 0 ? "transparent" : SPEAKER_COLOURS[index % SPEAKER_COLOURS.length];
  }

  function paintSpeaker(li, cue) {
    li.style.setProperty("--speaker-colour", speakerColour(cue.speaker));
    li.classList.toggle("has-speaker", Boolean(cue.speaker.trim()));
  }

  function renderSpeakers() {
    const names = speakerNames();
    const offered = [...new Set([...(state && state.people ? state.people : []), ...names])];
    $("speakers").replaceChildren(...offered.map((name) => { const o = el("option"); o.value = name; return o; }));
    const items = names.map((name, index) => {
      const li = el("li", "speaker-item");
      const swatch = el("span", "swatch");
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.background = SPEAKER_COLOURS[index % SPEAKER_COLOURS.length];
      const count = cues.filter((c) => c.speaker.trim() === name).length;
      const title = el("span", "speaker-name", name);
      const info = el("span", "note", ` (${count} cue${count === 1 ? "" : "s"})`);
      const form = el("form", "rename");
      form.noValidate = true;
      const label = el("label", "", `Rename ${name} to`);
      const input = el("input");
      input.type = "text";
      input.id = `rename-${index}`;
      input.autocomplete = "off";
      input.setAttribute("list", "speakers");
      label.htmlFor = input.id;
      const button = el("button", "", "Rename everywhere");
      button.type = "submit";
      form.append(label, input, button);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        renameSpeaker(name, input.value);
      });
      li.append(swatch, title, info, form);
      return li;
    });
    $("speaker-list").replaceChildren(...items);
    if (!names.length) $("speaker-list").append(el("li", "note", "No cue names a speaker yet."));
    list.querySelectorAll("#cues > li").forEach((li) => paintSpeaker(li, cues[indexOf(li)]));
  }

  function renameSpeaker(from, to) {
    const name = to.split(/\s+/).filter(Boolean).join(" ");
    if (!name) { $("speaker-status").textContent = `Type the new name for ${from} first.`; return; }
    let changed = 0;
    cues.forEach((cue) => { if (cue.speaker.trim() === from) { cue.speaker = name; changed++; } });
    renderCues();
    markDirty();
    $("speaker-status").textContent = `${from} renamed to ${name} in ${changed} cue${changed === 1 ? "" : "s"}.`;
  }

  function focusField(index, field, caret) {
    const li = cueNode(Math.max(0, Math.min(index, cues.length - 1)));
    if (!li) return;
    const target = li.querySelector(field === "speaker" ? "input.speaker" : "textarea");
    target.focus();
    if (field !== "speaker" && caret !== undefined) target.setSelectionRange(caret, caret);
  }

  // --- caption-rule findings -------------------------------------------------------------------

  function groupFindings(flat) {
    const grouped = cues.map(() => []);
    for (const f of flat) if (grouped[f.cue - 1]) grouped[f.cue - 1].push(f);
    return grouped;
  }

  function scheduleCheck(delay = 400) {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(async () => {
      const seq = ++checkSeq;
      try {
        const sent = payload();
        const result = await api("POST", "/api/check", { cues: sent });
        if (seq !== checkSeq) return;
        adoptWords(sent, result.words || []);
        findings = groupFindings(result.findings);
        renderFindings();
      } catch (error) {
        if (seq === checkSeq) $("problems").textContent = `The caption rules could not be checked: ${error.message}`;
      }
    }, delay);
  }

  // The words the server timed for the cues as they were sent, for each cue still as it was.
  function adoptWords(sent, words) {
    if (sent.length !== cues.length || words.length !== cues.length) return;
    cues.forEach((cue, i) => {
      if (cue.text === sent[i].lines.join("\n") && cue.start === sent[i].start && cue.end === sent[i].end) {
        cue.words = words[i];
        const li = cueNode(i);
        if (li) {
          const box = li.querySelector("textarea"), backdrop = li.querySelector(".backdrop");
          if (box && backdrop) paintBackdrop(cue, backdrop, box);
          const notes = li.querySelector(".cue-notes");
          if (notes) renderUnsure(cue, notes);
        }
      }
    });
  }

  function renderFindings() {
    let errors = 0, warnings = 0, cuesWith = 0;
    cues.forEach((cue, index) => {
      const li = cueNode(index);
      if (!li) return;
      const notes = li.querySelector(".cue-notes");
      const own = findings[index] || [];
      let ul = notes.querySelector("ul.findings");
      if (ul) ul.remove();
      li.classList.toggle("has-error", own.some((f) => f.severity === "error"));
      if (!own.length) return;
      cuesWith++;
      ul = el("ul", "findings");
      for (const f of own) {
        if (f.severity === "error") errors++; else warnings++;
        ul.appendChild(el("li", `finding-${f.severity}`,
          `${f.severity === "error" ? "Caption error" : "Caption warning"}: ${f.message}`));
      }
      notes.appendChild(ul);
    });
    $("problems").textContent = errors + warnings
      ? `Caption rules: ${errors} error${errors === 1 ? "" : "s"} and ${warnings} warning${warnings === 1 ? "" : "s"} in ${cuesWith} cue${cuesWith === 1 ? "" : "s"}.`
      : "Caption rules: no problems.";
    $("next-problem").disabled = !(errors + warnings);
  }

  function nextProblem() {
    for (let step = 1; step <= cues.length; step++) {
      const index = (focusCue + step) % cues.length;
      if ((findings[index] || []).length) {
        focusField(index, "text");
        cueNode(index).scrollIntoView({ block: "center" });
        return;
      }
    }
  }

  // --- audio -------------------------------------------------------------------------------------

  function setupAudio() {
    const note = $("audio-note");
    if (!state.audio) {
      audio.removeAttribute("src");
      note.textContent = "No audio was found for this episode: neither a published MP3 in feed/media/ nor a " +
        "recording in episodes/. You can still edit the transcript.";
      return;
    }
    const src = `/api/audio?token=${encodeURIComponent(token)}`;
    if (audio.getAttribute("src") !== src) audio.src = src;
    if (state.audio.kind === "published") {
      note.textContent = `Playing the published episode, ${state.audio.name}.`;
    } else {
      note.textContent = `Playing the recording ${state.audio.name}; the episode is not published yet.` +
        (state.audio.offset ? ` The transcript is timed to the published episode, whose intro makes it ` +
          `${state.audio.offset.toFixed(1)} s longer at the start; the editor allows for that.` : "");
    }
  }

  function play() {
    const started = audio.play();
    if (started && started.catch) started.catch((error) => announce(`The audio would not play: ${error.message}`));
  }

  function togglePlay() {
    if (!state || !state.audio) { announce("There is no audio to play for this episode."); return; }
    if (audio.paused) play(); else audio.pause();
  }

  function skip(seconds) { seek(episodeTime() + seconds); }

  function changeSpeed(step) {
    const at = SPEEDS.indexOf(audio.playbackRate);
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (at < 0 ? 2 : at) + step))];
    audio.playbackRate = next;
    $("speed").value = String(next);
    announce(`Speed ${next}×`);
  }

  function showClock() { $("clock").textContent = clock(episodeTime()); }

  function cueAt(t) {
    let lo = 0, hi = cues.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cues[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && t < cues[found].end ? found : -1;
  }

  function highlightCurrent(scroll) {
    const index = cueAt(episodeTime());
    if (index === currentIndex) return;
    const old = cueNode(currentIndex);
    if (old) {
      old.classList.remove("current");
      old.removeAttribute("aria-current");
      old.querySelector(".now").textContent = "";
    }
    currentIndex = index;
    const li = cueNode(index);
    if (!li) return;
    li.classList.add("current");
    li.setAttribute("aria-current", "time");
    li.querySelector(".now").textContent = "Now";
    const typing = Date.now() - lastTyped < TYPING_PAUSE_MS;
    if (scroll && $("follow").checked && !typing) li.scrollIntoView({ block: "nearest" });
  }

  // --- editing -------------------------------------------------------------------------------------

  function caretCue() {
    const active = document.activeElement;
    const li = active && active.closest ? active.closest("li.cue") : null;
    if (li) {
      const index = indexOf(li);
      const caret = active.tagName === "TEXTAREA" ? active.selectionStart : null;
      return { index, caret };
    }
    // Focus moved to a toolbar button: the cue last worked in still knows where its cursor was.
    const box = cueNode(focusCue) && cueNode(focusCue).querySelector("textarea");
    return { index: focusCue, caret: box ? box.selectionStart : focusCaret };
  }

  function split() {
    const { index, caret } = caretCue();
    const cue = cues[index];
    if (!cue) return;
    const at = caret === null ? -1 : caret;
    const before = cue.text.slice(0, Math.max(0, at)).replace(/\s+$/, "");
    const after = cue.text.slice(Math.max(0, at)).replace(/^\s+/, "");
    if (at < 0 || !before.trim() || !after.trim()) {
      announce("To split a cue, put the cursor in its text between two words.");
      return;
    }
    const afterStart = cue.text.length - after.length;
    let t = timeAt(cue, afterStart);
    t = Math.round(Math.min(cue.end - 0.001, Math.max(cue.start + 0.001, t)) * 1000) / 1000;
    const first = { ...cue, id: nextId++, end: t, text: before, words: cue.words.filter((w) => w.start < t) };
    const second = { ...cue, id: nextId++, start: t, text: after, identifier: "",
                     words: cue.words.filter((w) => w.start >= t) };
    cues.splice(index, 1, first, second);
    findings.splice(index, 1, [], []);
    renderCues({ index: index + 1, field: "text", caret: 0 });
    markDirty();
    announce(`Cue ${index + 1} split at ${clock(t, true)}: cue ${index + 2} now starts there.`);
  }

  function merge() {
    const { index } = caretCue();
    const cue = cues[index], next = cues[index + 1];
    if (!cue || !next) { announce("There is no next cue to merge with."); return; }
    const caret = cue.text.length;
    const joined = {
      ...cue, id: nextId++, end: Math.max(cue.end, next.end),
      speaker: cue.speaker || next.speaker,
      text: [cue.text, next.text].filter((t) => t.trim()).join("\n"),
      words: cue.words.concat(next.words),
    };
    cues.splice(index, 2, joined);
    findings.splice(index, 2, []);
    renderCues({ index, field: "text", caret });
    markDirty();
    const speakers = cue.speaker && next.speaker && cue.speaker !== next.speaker
      ? ` It keeps the speaker ${cue.speaker}.` : "";
    announce(`Cues ${index + 1} and ${index + 2} merged.${speakers}`);
  }

  // --- find and replace --------------------------------------------------------------------------

  function pattern(global) {
    const wanted = $("find").value;
    if (!wanted) return null;
    let source = wanted.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if ($("whole-words").checked) source = `(?<![\\p{L}\\p{N}])${source}(?![\\p{L}\\p{N}])`;
    return new RegExp(source, `u${$("match-case").checked ? "" : "i"}${global ? "g" : ""}`);
  }

  function allMatches() {
    const re = pattern(true);
    if (!re) return [];
    const found = [];
    cues.forEach((cue, index) => {
      for (const m of cue.text.matchAll(re)) found.push({ index, start: m.index, end: m.index + m[0].length });
    });
    return found;
  }

  function findNext() {
    const matches = allMatches();
    const status = $("find-status");
    if (!$("find").value) { status.textContent = "Type something to find."; return; }
    if (!matches.length) { status.textContent = "Not found."; findPos = null; return; }
    const from = findPos || { index: focusCue, end: focusCaret - 1 };
    let k = matches.findIndex((m) => m.index > from.index || (m.index === from.index && m.start >= from.end));
    if (k < 0) k = 0;
    showMatch(matches[k]);
    status.textContent = `Match ${k + 1} of ${matches.length}, in cue ${matches[k].index + 1}.`;
  }

  function showMatch(match) {
    findPos = match;
    const textarea = cueNode(match.index).querySelector("textarea");
    textarea.focus();
    textarea.setSelectionRange(match.start, match.end);
    focusCue = match.index;
    focusCaret = match.end;
    cueNode(match.index).scrollIntoView({ block: "center" });
  }

  function replaceOne() {
    const re = pattern(false);
    if (!re) { $("find-status").textContent = "Type something to find."; return; }
    if (findPos) {
      const cue = cues[findPos.index];
      const chosen = cue ? cue.text.slice(findPos.start, findPos.end) : "";
      const exact = chosen && new RegExp(`^(?:${re.source})$`, re.flags).test(chosen);
      if (exact) {
        const replacement = $("replace").value;
        cue.text = cue.text.slice(0, findPos.start) + replacement + cue.text.slice(findPos.end);
        refreshText(findPos.index);
        findPos = { index: findPos.index, start: findPos.start, end: findPos.start + replacement.length };
        markDirty();
      }
    }
    findNext();
  }

  function replaceAll() {
    const re = pattern(true);
    const status = $("find-status");
    if (!re) { status.textContent = "Type something to find."; return; }
    const replacement = $("replace").value;
    let count = 0, changed = 0;
    cues.forEach((cue, index) => {
      let here = 0;
      const text = cue.text.replace(re, () => { here++; return replacement; });
      if (here) { cue.text = text; count += here; changed++; refreshText(index); }
    });
    findPos = null;
    if (count) markDirty();
    status.textContent = count
      ? `Replaced ${count} match${count === 1 ? "" : "es"} in ${changed} cue${changed === 1 ? "" : "s"}.`
      : "Not found; nothing replaced.";
  }

  function refreshText(index) {
    const li = cueNode(index);
    const cue = cues[index];
    const textarea = li.querySelector("textarea");
    textarea.value = cue.text;
    paintBackdrop(cue, li.querySelector(".backdrop"), textarea);
    renderUnsure(cue, li.querySelector(".cue-notes"));
  }

  // --- saving, history, sign-off -----------------------------------------------------------------

  async function save() {
    if (saving || !state) return;
    saving = true;
    $("save").disabled = true;
    showSaveState("Saving…");
    const keep = caretCue();
    try {
      const result = await api("PUT", "/api/transcript", { etag: baseEtag, cues: payload() });
      dirty = false;
      localStorage.removeItem(state.draft_key);
      load(result, document.activeElement && document.activeElement.closest &&
                   document.activeElement.closest("li.cue") ? { index: keep.index, caret: keep.caret ?? undefined } : null);
      hideAlert();
      showSaveState(`Saved at ${new Date().toLocaleTimeString()}; the other formats were remade`);
    } catch (error) {
      writeDraft();
      showSaveState();
      if (error.status === 409) {
        showAlert(`Not saved: ${error.message}. Your changes are kept in this browser: after the reload ` +
                  "you can choose whether to apply them to the file as it is now.");
      } else {
        showAlert(`Not saved: ${error.message}`);
      }
    } finally {
      saving = false;
      $("save").disabled = false;
    }
  }

  function renderReview() {
    const review = state.review;
    let text = `${state.file}: ${review.summary}.`;
    if (!review.reviewed && state.require_review) text += " This show publishes only reviewed transcripts.";
    $("review-state").textContent = text;
  }

  async function signOff(event) {
    event.preventDefault();
    const name = $("reviewer").value.trim();
    if (!name) { showAlert("Type your name to mark the transcript as reviewed."); $("reviewer").focus(); return; }
    if (dirty) { showAlert("Save your changes first: the sign-off is for the transcript as it is saved."); return; }
    localStorage.setItem(REVIEWER_KEY, name);
    try {
      const result = await api("POST", "/api/signoff", { etag: baseEtag, reviewer: name });
      load(result);
      hideAlert();
      announce(result.published ? `Marked as reviewed. ${result.published}` : "Marked as reviewed.");
    } catch (error) {
      showAlert(`Not marked as reviewed: ${error.message}`);
    }
  }

  function renderHistory() {
    const items = state.history.map((version) => {
      const li = el("li");
      li.append(el("span", "", version.label));
      const show = el("button", "", "Preview");
      show.type = "button";
      show.setAttribute("aria-label", `Preview: ${version.label}`);
      show.addEventListener("click", () => preview(version));
      const restore = el("button", "", "Restore");
      restore.type = "button";
      restore.setAttribute("aria-label", `Restore: ${version.label}`);
      restore.addEventListener("click", () => restoreVersion(version));
      li.append(show, restore);
      return li;
    });
    if (!items.length) items.push(el("li", "", "None yet: the first save will keep the version it replaces."));
    $("history").replaceChildren(...items);
  }

  async function preview(version) {
    try {
      const result = await api("GET", `/api/history/${encodeURIComponent(version.name)}`);
      $("preview-heading").textContent = `Preview: ${version.label}`;
      $("preview-cues").replaceChildren(...result.cues.map((c) =>
        el("li", "", `${clock(c.start, true)}  ${c.speaker ? c.speaker + ": " : ""}${c.lines.join(" ")}`)));
      $("preview").hidden = false;
      $("preview").focus();
    } catch (error) {
      showAlert(`Cannot show that version: ${error.message}`);
    }
  }

  async function restoreVersion(version) {
    const lose = dirty ? " Your unsaved changes in this page will be discarded." : "";
    if (!window.confirm(`Restore “${version.label}”? The current file goes to the earlier versions first.${lose}`)) return;
    try {
      const result = await api("POST", "/api/restore", { etag: baseEtag, version: version.name });
      dirty = false;
      localStorage.removeItem(state.draft_key);
      load(result);
      hideAlert();
      showSaveState(`Restored: ${version.label}`);
    } catch (error) {
      showAlert(`Not restored: ${error.message}`);
    }
  }

  // --- messages ------------------------------------------------------------------------------------

  function showAlert(text) { const a = $("alert"); a.textContent = text; a.hidden = false; }
  function hideAlert() { $("alert").hidden = true; $("alert").textContent = ""; }
  function announce(text) {
    const region = $("announce");
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50);
  }

  function showNotice(text, actions) {
    $("notice-text").textContent = text;
    $("notice-actions").replaceChildren(...actions.map(([label, act]) => {
      const b = el("button", "", label);
      b.type = "button";
      b.addEventListener("click", act);
      return b;
    }));
    $("notice").hidden = false;
    // A reload can restore the page scrolled down: bring the choice into view, clear of the bar.
    $("notice").scrollIntoView({ block: "nearest" });
  }
  function hideNotice() { $("notice").hidden = true; }

  // --- keyboard ------------------------------------------------------------------------------------

  function onKey(event) {
    if (event.ctrlKey && !event.altKey && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      save();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    // event.code names the physical key, so Alt+K works on any keyboard layout (and on a Mac,
    // where Alt+K types a character).
    const actions = {
      KeyK: togglePlay, KeyJ: () => skip(-SKIP_S), KeyL: () => skip(SKIP_S),
      Minus: () => changeSpeed(-1), Equal: () => changeSpeed(1), NumpadSubtract: () => changeSpeed(-1),
      NumpadAdd: () => changeSpeed(1), KeyG: playFromCursor, Enter: split, NumpadEnter: split, KeyM: merge,
    };
    const action = actions[event.code];
    if (action) {
      event.preventDefault();
      event.stopPropagation();
      action();
    }
  }

  function playFromCursor() {
    const { index, caret } = caretCue();
    const cue = cues[index];
    if (!cue) return;
    seek(caret === null ? cue.start : timeAt(cue, caret));
    play();
  }

  // --- start ---------------------------------------------------------------------------------------

  function fitBar() {
    document.documentElement.style.setProperty("--bar-height", `${$("bar").offsetHeight}px`);
  }

  async function start() {
    document.addEventListener("keydown", onKey, true);
    $("play").addEventListener("click", togglePlay);
    $("back").addEventListener("click", () => skip(-SKIP_S));
    $("forward").addEventListener("click", () => skip(SKIP_S));
    $("speed").addEventListener("change", () => { audio.playbackRate = Number($("speed").value); });
    $("split").addEventListener("click", split);
    $("merge").addEventListener("click", merge);
    $("save").addEventListener("click", save);
    $("next-problem").addEventListener("click", nextProblem);
    $("find-form").addEventListener("submit", (e) => { e.preventDefault(); findNext(); });
    $("find").addEventListener("input", () => { findPos = null; });
    $("replace-one").addEventListener("click", replaceOne);
    $("replace-all").addEventListener("click", replaceAll);
    $("signoff-form").addEventListener("submit", signOff);
    $("reviewer").value = localStorage.getItem(REVIEWER_KEY) || "";
    audio.addEventListener("play", () => { $("play").textContent = "Pause"; });
    audio.addEventListener("pause", () => { $("play").textContent = "Play"; });
    audio.addEventListener("timeupdate", () => { showClock(); highlightCurrent(!audio.paused); });
    audio.addEventListener("seeked", () => { showClock(); highlightCurrent(true); });
    audio.addEventListener("ratechange", () => { $("speed").value = String(audio.playbackRate); });
    window.addEventListener("beforeunload", (event) => {
      if (!dirty) return;
      writeDraft();
      event.preventDefault();
      event.returnValue = "";
    });
    window.addEventListener("pagehide", writeDraft);
    window.addEventListener("resize", fitBar);
    fitBar();
    if (!token) {
      showAlert("This page needs the address that 'rkaudio review' printed (it ends with #token=...). " +
                "Open that address again.");
      showSaveState("Not connected");
      return;
    }
    try {
      load(await api("GET", "/api/transcript"));
    } catch (error) {
      showAlert(`The transcript could not be loaded: ${error.message}`);
      showSaveState("Not loaded");
      return;
    }
    showSaveState();
    const draft = readDraft();
    if (draft) offerDraft(draft);
    document.body.dataset.ready = "true";
  }

  start();
})();
