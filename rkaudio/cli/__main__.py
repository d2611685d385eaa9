"""``python -m rkaudio.cli``: the same as the ``rkaudio`` command."""

from .app import main

main()
