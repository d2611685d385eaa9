"""Leaving without the interpreter's teardown once the speech libraries are loaded
(`rkaudio.core.leaving`): the exit status, the output and the ``atexit`` work all survive."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: A script that records what ran: ``atexit`` hooks, and an object's finalizer (which only the
#: interpreter's teardown calls for a module-level object).
SCRIPT = """
import atexit, sys, threading, types
from pathlib import Path
from rkaudio.core import leaving

marks = Path(sys.argv[1])
HEAVY, THREAD, CODE = sys.argv[2] == "heavy", sys.argv[3] == "thread", sys.argv[4]
if HEAVY:  # stands in for the real library: what is loaded is what counts
    sys.modules["ctranslate2"] = types.ModuleType("ctranslate2")

class Finalized:
    def __init__(self, path):
        self.path, self.open = str(path), open  # all it needs, kept through the teardown

    def __del__(self):
        with self.open(self.path, "a") as f:
            f.write("teardown\\n")

KEPT = Finalized(marks)
atexit.register(lambda: open(marks, "a").write("atexit\\n"))
if THREAD:
    done = threading.Event()
    def late():
        done.wait(0.3)
        open(marks, "a").write("thread\\n")
    threading.Thread(target=late).start()
sys.stdout.write("unfinished line, no newline")
leaving.finish(None if CODE == "none" else int(CODE) if CODE.isdigit() else CODE)
"""


def leave(tmp_path: Path, *, heavy: bool, thread: bool = False, code: str = "0") -> tuple[subprocess.CompletedProcess, list[str]]:
    script = tmp_path / "leave.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    marks = tmp_path / "marks.txt"
    done = subprocess.run([sys.executable, str(script), str(marks), "heavy" if heavy else "light",
                           "thread" if thread else "none", code], capture_output=True, text=True, timeout=60)
    return done, marks.read_text(encoding="utf-8").split() if marks.exists() else []


@pytest.mark.parametrize("code, status", [("0", 0), ("3", 3), ("none", 0)])
def test_with_the_speech_libraries_loaded_it_skips_the_teardown_and_keeps_the_rest(
        tmp_path: Path, code: str, status: int) -> None:
    done, marks = leave(tmp_path, heavy=True, code=code)
    assert done.returncode == status, done
    assert done.stdout == "unfinished line, no newline"
    assert marks == ["atexit"], marks  # the hooks ran; the object's finalizer did not


def test_a_message_as_the_exit_code_is_printed_and_exits_1(tmp_path: Path) -> None:
    done, marks = leave(tmp_path, heavy=True, code="boom")
    assert done.returncode == 1 and done.stderr.strip() == "boom", done
    assert marks == ["atexit"]


def test_without_them_the_exit_is_the_usual_one(tmp_path: Path) -> None:
    done, marks = leave(tmp_path, heavy=False, code="3")
    assert done.returncode == 3 and done.stdout == "unfinished line, no newline", done
    assert sorted(marks) == ["atexit", "teardown"], marks


def test_a_thread_still_working_is_waited_for(tmp_path: Path) -> None:
    done, marks = leave(tmp_path, heavy=True, thread=True, code="0")
    assert done.returncode == 0, done
    assert marks[0] == "thread" and "atexit" in marks, marks


def test_the_command_line_keeps_its_exit_status_with_the_libraries_loaded(tmp_path: Path) -> None:
    """``rkaudio`` itself: an error after the speech libraries loaded still exits non-zero, with its
    one-line message."""
    code = ("import sys, types; sys.modules['ctranslate2'] = types.ModuleType('ctranslate2'); "
            "sys.argv = ['rkaudio', 'process', sys.argv[1]]; from rkaudio.cli import main; main()")
    missing = tmp_path / "no such recording.wav"
    done = subprocess.run([sys.executable, "-c", code, str(missing)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode != 0, done
    assert done.stderr.strip().startswith("rkaudio: error:") and "Traceback" not in done.stderr, done.stderr
