"""The command line: typer commands that parse, call the library and report (`app`), and how
progress and results are drawn (`report`, rich). The one place errors become exit codes.

May import: anything in rkaudio; nothing in rkaudio imports it.
"""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
