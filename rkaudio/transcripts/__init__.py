"""Transcripts: timed words to caption cues, the files made from them, and the reviewers' records.

Owns the transcript model (`model`), cutting cues from words (`segmentation`), the writers
(`formats`) and the strict WebVTT reader (`vtt_reader`), the caption-rule checker
(`caption_check`), lining a reviewer's text up with the machine's timed words (`alignment`),
the words sidecar and the merge around a reviewer's cues (`sidecar`), an
episode's transcript files with their history (`store`) and the sign-off record (`signoff`).

May import: `rkaudio.core`, `rkaudio.show`, `rkaudio.speech` (the `Word` it is built from, and the
measure of speech without words).
"""
