"""rkaudio: podcast and webinar production from the command line, offline."""

from __future__ import annotations

__version__ = "0.1.0"
