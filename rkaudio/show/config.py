"""Reading a show's settings: packaged defaults, then ``show.toml``, then ``RKAUDIO_*``, then flags.

Each layer is validated into the typed objects of `settings`, and each bad field is reported with
its name and the file (or "environment", or "command-line options") it came from.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.colour import AA_TEXT, contrast, parse_hex
from ..core.errors import ConfigError, WorkspaceError
from .categories import parse_category
from .paths import SHOW_FILE
from .settings import (PRESETS, SHOW_TYPES, AudioSettings, Funding, Person, PublishSettings, Show, SiteSettings,
                       TranscriptSettings)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_PERSON_FIELDS = ("name", "role", "group", "href", "img")


def parse_people(value: Any, where: str, default_role: str, fail: Callable[[str], Exception]) -> tuple[Person, ...]:
    """``[[people]]`` tables (show.toml or an episode's front matter) as `Person`s.

    ``fail`` turns a message naming the table and field into the caller's error (which adds the file).
    """
    if not isinstance(value, list):
        raise fail(f"{where} must be a list of tables ([[{where}]] with name = ...)")
    people = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise fail(f"{where} #{n} needs a name")
        unknown = sorted(set(item) - set(_PERSON_FIELDS))
        if unknown:
            raise fail(f"{where} #{n}: unknown field {unknown[0]!r} (known: {', '.join(_PERSON_FIELDS)})")
        for key in _PERSON_FIELDS[1:]:
            if key in item and not isinstance(item[key], str):
                raise fail(f"{where} #{n}: {key} must be text")
        for key in ("href", "img"):
            if item.get(key, "").strip() and not item[key].strip().startswith(("https://", "http://")):
                raise fail(f"{where} #{n}: {key} must be an http(s) address, not {item[key]!r}")
        people.append(Person(name=item["name"].strip(),
                             role=item.get("role", default_role).strip().lower() or default_role,
                             group=item.get("group", "cast").strip().lower() or "cast",
                             href=item.get("href", "").strip(), img=item.get("img", "").strip()))
    return tuple(people)


# --- parsing ------------------------------------------------------------------------------------

def parse_target(value: Any, source: str, name: str = "audio.target") -> float:
    """A loudness target: a number of LUFS or a preset name."""
    if isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be a number of LUFS or a preset, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in PRESETS:
            return PRESETS[key]
        try:
            return float(key.removesuffix("lufs").strip())
        except ValueError:
            pass
    names = ", ".join(PRESETS)
    raise ConfigError(f"{source}: {name} must be a number of LUFS or one of {names}, not {value!r}")


def _typed(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], source: str, prefix: str) -> Any:
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        kind_name = "a number" if float in kinds else {str: "text", bool: "true or false",
                                                        int: "a whole number"}.get(kinds[0], kinds[0].__name__)
        raise ConfigError(f"{source}: {prefix}{key} must be {kind_name}, not {value!r}")
    return value


def _sting_path(value: Any, root: Path, source: str, name: str) -> Path | None:
    if value in ("", None, False):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{source}: audio.{name} must be a file path or \"\", not {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


_AUDIO_KEYS = {"target", "true_peak", "intro", "outro", "crossfade", "transition", "channels",
               "bitrate", "keep_master", "leveller", "video_output"}
_SHOW_KEYS = {"title", "author", "description", "language", "owner_name", "owner_email", "base_url", "link",
              "artwork", "categories", "explicit", "copyright", "type", "locked", "funding", "people",
              "research", "id3_version"}
_TEXT_KEYS = {"title", "author", "description", "language", "owner_name", "owner_email", "base_url", "link",
              "artwork", "copyright", "type", "research"}


def _url(value: str, source: str, name: str) -> str:
    value = value.strip()
    if value and not value.startswith(("https://", "http://")):
        raise ConfigError(f"{source}: {name} must be an http(s) address, not {value!r}")
    return value


def _show_path(value: str, root: Path) -> Path | None:
    if not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else root / path


def show_publishing(table: Mapping[str, Any], root: Path, source: str) -> dict[str, Any]:
    """The feed fields of the ``[show]`` table, checked: each bad one is named with its file."""
    fields: dict[str, Any] = {}
    for key in ("owner_name", "owner_email", "copyright"):
        fields[key] = table.get(key, "").strip()
    if fields["owner_email"] and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", fields["owner_email"]):
        raise ConfigError(f"{source}: show.owner_email is not an e-mail address: {fields['owner_email']!r}")
    fields["base_url"] = _url(table.get("base_url", ""), source, "show.base_url").rstrip("/")
    fields["link"] = _url(table.get("link", ""), source, "show.link")
    fields["artwork"] = _show_path(table.get("artwork", "assets/cover.png"), root)
    fields["research"] = _show_path(table.get("research", ""), root)
    kind = table.get("type", "episodic").strip().lower()
    if kind not in SHOW_TYPES:
        raise ConfigError(f"{source}: show.type must be one of {', '.join(SHOW_TYPES)}, not {kind!r}")
    fields["type"] = kind
    for key in ("explicit", "locked"):
        if key in table:
            fields[key] = _typed(table, key, bool, source, "show.")
    categories = table.get("categories", [])
    if isinstance(categories, str):
        categories = [categories]
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ConfigError(f"{source}: show.categories must be a list such as [\"Society & Culture > Documentary\"]")
    if len(categories) > 3:
        raise ConfigError(f"{source}: show.categories: Apple allows at most 3, not {len(categories)}")
    parsed = []
    for name in categories:
        found = parse_category(name)
        if found is None:
            raise ConfigError(f"{source}: show.categories: {name!r} is not an Apple Podcasts category "
                              "(see rkaudio/show/categories.py for the list)")
        parsed.append(found)
    fields["categories"] = tuple(parsed)
    if "id3_version" in table:
        version = table["id3_version"]
        if isinstance(version, bool) or version not in (3, 4):
            raise ConfigError(f"{source}: show.id3_version must be 3 (ID3v2.3) or 4 (ID3v2.4), not {version!r}")
        fields["id3_version"] = version
    fields["funding"] = tuple(_funding(table.get("funding", []), source))
    fields["people"] = parse_people(table.get("people", []), "show.people", "host",
                                    lambda message: ConfigError(f"{source}: {message}"))
    return fields


def _funding(value: Any, source: str) -> list[Funding]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: show.funding must be a list of tables ([[show.funding]] with url and text)")
    found = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ConfigError(f"{source}: show.funding #{n} needs a url")
        text = item.get("text", "Support the show")
        if not isinstance(text, str):
            raise ConfigError(f"{source}: show.funding #{n}: text must be text")
        found.append(Funding(url=_url(item["url"], source, f"show.funding #{n} url"), text=text.strip()))
    return found


def audio_from_table(table: Mapping[str, Any], root: Path, source: str,
                     base: AudioSettings | None = None) -> AudioSettings:
    """Apply an ``[audio]`` table (from show.toml or the environment) over ``base``."""
    unknown = sorted(set(table) - _AUDIO_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting audio.{unknown[0]} "
                          f"(known: {', '.join(sorted(_AUDIO_KEYS))})")
    s = base or AudioSettings()
    changes: dict[str, Any] = {}
    p = "audio."
    if "target" in table:
        changes["target_lufs"] = parse_target(table["target"], source)
    if "true_peak" in table:
        changes["true_peak_dbtp"] = float(_typed(table, "true_peak", (int, float), source, p))
    for name in ("intro", "outro"):
        if name in table:
            changes[name] = _sting_path(table[name], root, source, name)
    if "crossfade" in table:
        changes["crossfade_s"] = float(_typed(table, "crossfade", (int, float), source, p))
    if "transition" in table:
        changes["transition"] = _typed(table, "transition", str, source, p)
    if "video_output" in table:
        changes["video_output"] = _typed(table, "video_output", str, source, p).strip().lower()
    if "channels" in table:
        ch = table["channels"]
        if isinstance(ch, str) and ch.lower() in ("mono", "stereo"):
            ch = 1 if ch.lower() == "mono" else 2
        changes["channels"] = ch
    if "bitrate" in table:
        br = table["bitrate"]
        if isinstance(br, str) and br.lower().rstrip("k").isdigit():
            br = int(br.lower().rstrip("k"))
        changes["bitrate_kbps"] = br
    for key in ("keep_master", "leveller"):
        if key in table:
            changes[key] = _typed(table, key, bool, source, p)
    # A mono show with no explicit target gets the mono preset (-19 LUFS).
    if changes.get("channels") == 1 and "target" not in table and s.target_lufs == PRESETS["podcast"]:
        changes["target_lufs"] = PRESETS["mono"]
    return dataclasses.replace(s, **changes).validated(source)


_TRANSCRIPT_KEYS = {"enabled", "engine", "model", "device", "language", "batch_size", "beam_size", "threads",
                    "workers", "max_chars", "max_lines", "min_duration", "max_duration", "max_cps", "require_review",
                    "speakers"}
_RULE_KEYS = {"max_chars": (int, "max_chars"), "max_lines": (int, "max_lines"),
              "min_duration": ((int, float), "min_duration"), "max_duration": ((int, float), "max_duration"),
              "max_cps": ((int, float), "max_cps")}


def transcript_from_table(table: Mapping[str, Any], root: Path, source: str,
                          base: TranscriptSettings | None = None) -> TranscriptSettings:
    """Apply a ``[transcript]`` table (from show.toml, the environment or flags) over ``base``."""
    unknown = sorted(set(table) - _TRANSCRIPT_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting transcript.{unknown[0]} "
                          f"(known: {', '.join(sorted(_TRANSCRIPT_KEYS))})")
    s = base or TranscriptSettings()
    p = "transcript."
    changes: dict[str, Any] = {}
    for key in ("enabled", "require_review"):
        if key in table:
            changes[key] = _typed(table, key, bool, source, p)
    for key in ("engine", "device"):
        if key in table:
            changes[key] = _typed(table, key, str, source, p).strip().lower()
    if "model" in table:
        model = _typed(table, "model", str, source, p).strip()
        # A relative path is relative to the show folder, like the stings.
        looks_like_path = "/" in model or model.startswith(".") or model.endswith(".pt")
        if looks_like_path and not Path(model).expanduser().is_absolute():
            model = str(root / model)
        changes["model"] = model
    if "language" in table:
        changes["language"] = _typed(table, "language", str, source, p).strip() or None
    if "speakers" in table:
        value = table["speakers"]
        if isinstance(value, str):
            value = value.strip().lower()
            value = int(value) if value.isdigit() else value
        changes["speakers"] = value
    for key in ("batch_size", "beam_size", "threads", "workers"):
        if key in table:
            changes[key] = _typed(table, key, int, source, p)
    rules = {field_name: (float(_typed(table, key, kind, source, p)) if kind != int
                          else _typed(table, key, kind, source, p))
             for key, (kind, field_name) in _RULE_KEYS.items() if key in table}
    if rules:
        changes["rules"] = dataclasses.replace(s.rules, **rules)
    return dataclasses.replace(s, **changes).validated(source)


_SITE_KEYS = {"colour", "logo"}
_WHITE = (255, 255, 255)


def site_from_table(table: Mapping[str, Any], root: Path, source: str) -> SiteSettings:
    """The ``[site]`` table: the accent colour (readable on white) and the logo's path."""
    unknown = sorted(set(table) - _SITE_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting site.{unknown[0]} (known: {', '.join(sorted(_SITE_KEYS))})")
    changes: dict[str, Any] = {}
    if "colour" in table:
        value = _typed(table, "colour", str, source, "site.").strip()
        rgb = parse_hex(value)
        if rgb is None:
            raise ConfigError(f"{source}: site.colour must be a colour written \"#rrggbb\", not {value!r}")
        ratio = contrast(rgb, _WHITE)
        if ratio < AA_TEXT:
            raise ConfigError(f"{source}: site.colour {value} has a contrast of {ratio:.1f}:1 on white; links in it "
                              f"need {AA_TEXT:g}:1 to be readable (WCAG AA), so choose a darker shade")
        changes["colour"] = value.lower()
    if "logo" in table:
        changes["logo"] = _show_path(_typed(table, "logo", str, source, "site."), root)
    return SiteSettings(**changes)


_PUBLISH_KEYS = {"to"}
#: Names that say a setting holds a secret: these belong in rclone's config, never in show.toml.
_SECRET_NAME = re.compile(r"key|secret|pass|token|user|auth|credential|login|account", re.I)
#: An rclone remote's name as rclone allows it, then a colon and the path on that remote.
_REMOTE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. +@-]*:[^\n]*")


def parse_publish_target(value: Any, source: str, name: str = "publish.to") -> str:
    """``remote:path`` of a remote configured in rclone (its config file or ``RCLONE_CONFIG_*``).

    Connection strings (``:s3,access_key_id=...:``) are refused: they would put credentials in
    show.toml, a shell's history or a process list."""
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be text such as \"podcast-s3:bucket/show\", not {value!r}")
    target = value.strip()
    if target and (not _REMOTE.fullmatch(target) or "," in target.split(":", 1)[0]):
        raise ConfigError(f"{source}: {name} must be an rclone remote and a path such as \"podcast-s3:bucket/show\" "
                          "(the remote set up with 'rclone config' or RCLONE_CONFIG_<NAME>_* variables, which hold "
                          "its credentials)")
    return target


def publish_from_table(table: Mapping[str, Any], source: str,
                       base: PublishSettings | None = None) -> PublishSettings:
    """The ``[publish]`` table: where ``feed/`` goes. A key that looks like a credential is refused
    without repeating its value."""
    for key in sorted(set(table) - _PUBLISH_KEYS):
        if _SECRET_NAME.search(key):
            raise ConfigError(f"{source}: publish.{key} looks like a credential, which never goes in this file: "
                              "remove it and keep it in rclone's config ('rclone config') or its "
                              "RCLONE_CONFIG_<REMOTE>_* environment variables")
        raise ConfigError(f"{source}: unknown setting publish.{key} (known: {', '.join(sorted(_PUBLISH_KEYS))})")
    s = base or PublishSettings()
    if "to" in table:
        s = dataclasses.replace(s, to=parse_publish_target(table["to"], source))
    return s


#: Environment variables for ``rkaudio publish``.
ENV_PUBLISH = {"RKAUDIO_PUBLISH_TO": "to"}

#: Environment variables for the transcript step.
ENV_TRANSCRIPT = {
    "RKAUDIO_ENGINE": "engine",
    "RKAUDIO_MODEL": "model",
    "RKAUDIO_DEVICE": "device",
    "RKAUDIO_SPEAKERS": "speakers",
}


#: Environment variables that override show.toml (flags override these in turn).
ENV_AUDIO = {
    "RKAUDIO_TARGET": "target",
    "RKAUDIO_TRUE_PEAK": "true_peak",
    "RKAUDIO_INTRO": "intro",
    "RKAUDIO_OUTRO": "outro",
    "RKAUDIO_CROSSFADE": "crossfade",
    "RKAUDIO_TRANSITION": "transition",
    "RKAUDIO_CHANNELS": "channels",
    "RKAUDIO_BITRATE": "bitrate",
    "RKAUDIO_KEEP_MASTER": "keep_master",
    "RKAUDIO_LEVELLER": "leveller",
    "RKAUDIO_VIDEO_OUTPUT": "video_output",
}


def _env_value(key: str, raw: str) -> Any:
    if key in ("true_peak", "crossfade"):
        try:
            return float(raw)
        except ValueError:
            return raw
    if key in ("keep_master", "leveller"):
        flag = raw.strip().lower()
        if flag in ("1", "true", "yes", "on"):
            return True
        if flag in ("0", "false", "no", "off"):
            return False
        return raw  # reported as not true or false
    if key == "channels" and raw.isdigit():
        return int(raw)
    return raw


def env_audio_table(environ: Mapping[str, str]) -> dict[str, Any]:
    return {key: _env_value(key, environ[var]) for var, key in ENV_AUDIO.items() if environ.get(var)}


def load_show(root: Path, environ: Mapping[str, str] | None = None) -> Show:
    """Read ``root/show.toml``, then apply ``RKAUDIO_*`` variables."""
    path = root / SHOW_FILE
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(f"no {SHOW_FILE} here; run 'rkaudio init' to create a show", root) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot be read: {exc.strerror}") from None
    for name in data:
        if name not in ("show", "audio", "transcript", "site", "publish"):
            raise ConfigError(f"{source}: unknown table [{name}] "
                              "(known: [show], [audio], [transcript], [site], [publish])")
    show_table = data.get("show", {})
    audio_table = data.get("audio", {})
    transcript_table = data.get("transcript", {})
    site_table = data.get("site", {})
    publish_table = data.get("publish", {})
    for name, table in (("show", show_table), ("audio", audio_table), ("transcript", transcript_table),
                        ("site", site_table), ("publish", publish_table)):
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {name} must be a table ([{name}])")
    unknown = sorted(set(show_table) - _SHOW_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown setting show.{unknown[0]} (known: {', '.join(sorted(_SHOW_KEYS))})")
    for key in _TEXT_KEYS & set(show_table):
        _typed(show_table, key, str, source, "show.")
    title = show_table.get("title", "").strip()
    if not title:
        raise ConfigError(f"{source}: show.title is missing or empty")
    audio = audio_from_table(audio_table, root, source)
    environ = os.environ if environ is None else environ
    env = env_audio_table(environ)
    if env:
        audio = audio_from_table(env, root, "environment (RKAUDIO_*)", base=audio)
    transcript = transcript_from_table(transcript_table, root, source)
    env = {key: environ[var] for var, key in ENV_TRANSCRIPT.items() if environ.get(var)}
    if env:
        transcript = transcript_from_table(env, root, "environment (RKAUDIO_*)", base=transcript)
    publish = publish_from_table(publish_table, source)
    env = {key: environ[var] for var, key in ENV_PUBLISH.items() if environ.get(var)}
    if env:
        publish = publish_from_table(env, "environment (RKAUDIO_*)", base=publish)
    return Show(root=root, title=title, author=show_table.get("author", ""),
                description=show_table.get("description", ""),
                language=show_table.get("language", "en"), **show_publishing(show_table, root, source),
                audio=audio, transcript=transcript, site=site_from_table(site_table, root, source),
                publish=publish)


def find_root(start: Path) -> Path:
    """The show folder: ``start`` or its nearest parent that holds a show.toml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SHOW_FILE).is_file():
            return folder
    raise WorkspaceError(f"no {SHOW_FILE} in this folder or any parent; run 'rkaudio init DIR' "
                         "or pass --workspace", start)
