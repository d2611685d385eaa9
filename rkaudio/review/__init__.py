"""The transcript review editor: the session's logic as plain data (`session`), its HTTP server on
127.0.0.1 (`server`) and the page (`static/`, plain HTML, CSS and JavaScript).

May import: every layer below it, up to `rkaudio.pipeline` (a sign-off republishes the episode).
"""
