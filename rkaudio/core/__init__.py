"""The lowest layer: what every other part of rkaudio shares.

Owns the error family (`errors`), atomic file writing and content digests (`files`), slugs
(`naming`), clock and time formats (`clock`), WCAG colour contrast (`colour`) and the progress
callback type (`progress`).

May import: the standard library only; nothing else from rkaudio.
"""
