"""Speech to timed words.

Owns the timed word (`words`), the engine protocol and Whisper's quality thresholds (`engine`),
finding speech and grouping it into windows (`windows`), transcribing a recording block by block
(`recognise`), how much of the speech the words cover and decoding again what they miss
(`coverage`), choosing and loading an engine (`engines`), the faster-whisper and openai-whisper
engines, and converting CTranslate2 models for the latter (`ct2_convert`).

May import: `rkaudio.core`, `rkaudio.show`, `rkaudio.audio` (the ffmpeg runner).
"""
