"""Leaving a process without tearing the interpreter down, once the speech libraries are in it.

At a normal exit Python frees every module and object one by one. With PyTorch, CTranslate2,
scikit-learn and the models loaded, and the freed memory glibc was told to keep
(`rkaudio.speech.speakers`), that took about 1 s after a ``process`` with speaker labels and
1.5 s after each of a build's pool workers: time the producer waits for nothing, as every file is
written, closed and renamed by then.

So once the work is done, `finish` runs what was registered with ``atexit`` (logging's flush,
multiprocessing's clean-up), flushes the standard streams and calls ``os._exit``. It does so only
when those libraries are loaded (otherwise the teardown is quick) and no other non-daemon thread
is still running (a normal exit would wait for it); otherwise it exits the usual way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

#: The libraries whose teardown is slow.
HEAVY_MODULES = ("torch", "ctranslate2")


def heavy_loaded() -> bool:
    return any(name in sys.modules for name in HEAVY_MODULES)


def flush_and_exit(code: int = 0) -> NoReturn:
    """Flush the standard streams and end the process now, with ``code``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, or a pipe whose reader left
            pass
    os._exit(code)


def exit_code(code: object) -> int:
    """``SystemExit.code`` as the process's exit status (a message means 1, as Python does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def finish(code: object) -> NoReturn:
    """Exit with ``code`` (a ``SystemExit.code``): quickly when the speech libraries are loaded."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if not heavy_loaded() or others:
        sys.exit(code)
    status = exit_code(code)
    atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs first
    flush_and_exit(status)
