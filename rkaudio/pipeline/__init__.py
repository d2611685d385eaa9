"""The operations a producer runs, each joining the stages below: ``init`` (`workspace`),
``process`` (`process`), ``transcribe`` and publishing a reviewed transcript (`transcribe`), and
bringing a published episode up to date after a sign-off (`republish`).

May import: every layer below it: `rkaudio.core`, `show`, `audio`, `speech`, `transcripts`,
`publishing`.
"""
