"""Word error rate as the tests and the transcription benchmark measure it (jiwer, after normalising).

The references keep the seed documents' British spelling; Whisper's English models write American
spelling, so a small spelling map is applied to both sides, as is usual in WER scoring.
"""

from __future__ import annotations

import re
import unicodedata

import jiwer

SPELLING = {"programme": "program", "programmes": "programs",
            "organisation": "organization", "organisations": "organizations",
            "wellbeing": "well being"}


def normalise(text: str) -> str:
    """Lower case, words only, apostrophes dropped, hyphens and dashes split, spelling unified."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"['\u2018\u2019]", "", s)
    s = re.sub(r"[-\u2010-\u2015/]", " ", s)
    s = re.sub(r"[^\w\s]", " ", s)
    return " ".join(SPELLING.get(w, w) for w in s.split())


#: Word error rate a test allows on a committed clip (tests/data/speech/). Most of the voices are
#: clear to tiny.en; two older synthetic voices are hard for it (about 14 % and 22 % measured with
#: either engine; see tests/data/speech/README.md).
CLIP_WER_LIMIT = {"intergroup_relations": 0.22, "arts_and_empathy": 0.30}
DEFAULT_CLIP_WER_LIMIT = 0.15


def clip_wer_limit(clip: str) -> float:
    return CLIP_WER_LIMIT.get(clip, DEFAULT_CLIP_WER_LIMIT)


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalise(reference), normalise(hypothesis))
