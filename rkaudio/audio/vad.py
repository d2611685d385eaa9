"""Telling speech from everything else, a frame at a time: the Silero voice activity detector
that faster-whisper ships (an ONNX model, run with onnxruntime, no PyTorch).

The leveller asks one question of every 100 ms of a recording: is someone speaking? Silence,
breathing, room tone and music must not steer its gain. It runs the model on one 32 ms chunk of
each 100 ms frame, in order, so the model's memory follows the recording; that is a third of the
work of reading every chunk, and plenty for a decision that is then smoothed over whole passages.

`rkaudio.speech.windows` uses the same model through faster-whisper's own wrapper to find the
speech a transcript engine hears; audio sits below speech, so this module loads the model itself.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..core.errors import ToolError

#: Silero works on 16 kHz audio, in chunks of 512 samples (32 ms) with 64 samples of the
#: chunk before as context.
SAMPLE_RATE = 16000
CHUNK = 512
CONTEXT = 64
#: The model file in faster-whisper's package.
MODEL_FILE = "silero_vad_v6.onnx"


def model_path() -> Path:
    """Where faster-whisper keeps the Silero model (found without importing faster-whisper,
    which would load CTranslate2 for nothing)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError("the speech detector needs faster-whisper, which is not installed "
                        "(pip install faster-whisper)")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / MODEL_FILE
    if not path.is_file():
        raise ToolError(f"faster-whisper has no {MODEL_FILE} (expected at {path}); reinstall faster-whisper")
    return path


class SpeechDetector:
    """Speech probabilities for a stream of chunks, fed in order; keeps the model's state between calls."""

    def __init__(self) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One thread: the other core is decoding the recording at the same time.
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(str(model_path()), providers=["CPUExecutionProvider"],
                                                     sess_options=opts)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)

    def probabilities(self, chunks: np.ndarray) -> np.ndarray:
        """Speech probability (0 to 1) of each row of ``chunks``: shape (n, 64 + 512), 16 kHz mono,
        each row its chunk's 64 samples of context followed by the chunk."""
        if len(chunks) == 0:
            return np.zeros(0, dtype=np.float32)
        out, self._h, self._c = self._session.run(
            None, {"input": np.ascontiguousarray(chunks, dtype=np.float32), "h": self._h, "c": self._c})
        return np.asarray(out, dtype=np.float32).reshape(-1)
