"""Converting a CTranslate2 Whisper model (what faster-whisper runs) into an openai-whisper checkpoint.

This lets the openai-whisper engine run offline on the weights rkaudio ships for faster-whisper, and
lets the two engines be compared on exactly the same weights.

CTranslate2's ``model.bin`` is simple: a version, the spec's name and revision, then for each
variable its name, shape, dtype and raw bytes, then aliases (one variable under a second name).
Whisper's layers map one to one onto openai-whisper's, except that CTranslate2 fuses the query, key
and value projections of self-attention into one matrix (and the key and value of cross-attention
into another); they are split here. openai-whisper's key projections have no bias, so the fused
bias's key part must be zero. Weights are written as float32; a quantized model (int8 with a scale
per row, or int16 with one scale) is dequantized, which gives back the weights it was made from to
within the quantization step.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from pathlib import Path
from typing import Any

from ..core.errors import ConversionError
from ..core.files import temp_name

#: CTranslate2's dtype ids, in order (ctranslate2/specs/model_spec.py).
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_SUPPORTED_BINARY_VERSIONS = (5, 6)


def read_ct2_model(path: Path) -> dict[str, Any]:
    """Every variable of a CTranslate2 ``model.bin`` as a numpy array (aliases resolved).

    The file is mapped, not read: the arrays are views of it, so a model of several gigabytes
    costs no second copy in memory (the pages are the file's, shared with the page cache).
    """
    import numpy as np

    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as exc:
        raise ConversionError(f"cannot be read: {exc.strerror or exc}", path) from None
    data = memoryview(mapped)
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        try:
            (value,) = struct.unpack_from(fmt, data, pos)
        except struct.error:
            raise ConversionError("is truncated: it ends in the middle of the model", path) from None
        pos += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal pos
        size = take("<H")
        raw = data[pos:pos + size - 1]
        if len(raw) != size - 1:
            raise ConversionError("is truncated: it ends in the middle of a name", path)
        pos += size
        return bytes(raw).decode("utf-8", "replace")

    if not len(data):
        raise ConversionError("is empty", path)
    version = take("<I")
    if version > 255:  # binary versions are small numbers: this is some other kind of file
        raise ConversionError("is not a CTranslate2 model file (unrecognised header)", path)
    if version not in _SUPPORTED_BINARY_VERSIONS:
        raise ConversionError(f"is not a CTranslate2 model this version of rkaudio reads "
                              f"(binary version {version})", path)
    spec = text()
    take("<I")  # the spec's revision
    if spec != "WhisperSpec":
        raise ConversionError(f"holds a {spec or 'unknown'} model, not Whisper", path)
    variables: dict[str, Any] = {}
    for _ in range(take("<I")):
        name = text()
        shape = tuple(take("<I") for _ in range(take("<B")))
        type_id = take("<B")
        size = take("<I")
        if type_id >= len(_DTYPES):
            raise ConversionError(f"variable {name} has a data type this converter does not read", path)
        raw = data[pos:pos + size]
        if len(raw) != size:
            raise ConversionError("is truncated: it ends in the middle of the weights", path)
        pos += size
        try:
            if _DTYPES[type_id] == "bfloat16":  # numpy has no bfloat16: it is the top half of a float32
                value = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                value = np.frombuffer(raw, dtype=_DTYPES[type_id])
            variables[name] = value.reshape(shape)
        except ValueError:
            raise ConversionError(f"variable {name} holds {size} bytes, which do not fit its shape {shape}",
                                  path) from None
    for _ in range(take("<I")):
        alias, target = text(), text()
        if target in variables:
            variables[alias] = variables[target]
    return variables


def _count_layers(variables: dict[str, Any], part: str) -> int:
    count = 0
    while f"{part}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def state_dict_from_ct2(variables: dict[str, Any], source: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """openai-whisper's state dict (float32 numpy arrays) and model dimensions."""
    import numpy as np

    def get(name: str) -> Any:
        try:
            value = np.asarray(variables[name], dtype=np.float32)
        except KeyError:
            raise ConversionError(f"has no variable {name}: not a Whisper model rkaudio can convert",
                                  source) from None
        scale = variables.get(f"{name}_scale")
        if scale is not None:  # a quantized model: int8 (a scale per row) or int16 (one scale)
            scale = np.asarray(scale, dtype=np.float32)
            value = value / (scale.reshape(-1, *([1] * (value.ndim - 1))) if scale.size > 1 else scale)
        return value

    state: dict[str, Any] = {}

    def linear(ct2: str, ours: str, bias: bool = True) -> None:
        state[f"{ours}.weight"] = get(f"{ct2}/weight")
        if bias:
            state[f"{ours}.bias"] = get(f"{ct2}/bias")

    def norm(ct2: str, ours: str) -> None:
        state[f"{ours}.weight"] = get(f"{ct2}/gamma")
        state[f"{ours}.bias"] = get(f"{ct2}/beta")

    def split(ct2: str, names: list[str], prefix: str) -> None:
        """A fused projection, split into equal parts; the key part has no bias in openai-whisper."""
        weights = np.split(get(f"{ct2}/weight"), len(names), axis=0)
        biases = np.split(get(f"{ct2}/bias"), len(names), axis=0)
        for name, w, b in zip(names, weights, biases):
            state[f"{prefix}.{name}.weight"] = w
            if name == "key":
                if np.abs(b).max() > 1e-6:
                    raise ConversionError(f"{ct2} has a key bias, which openai-whisper's model cannot hold",
                                          source)
            else:
                state[f"{prefix}.{name}.bias"] = b

    def mlp(ct2: str, ours: str) -> None:
        norm(f"{ct2}/ffn/layer_norm", f"{ours}.mlp_ln")
        linear(f"{ct2}/ffn/linear_0", f"{ours}.mlp.0")
        linear(f"{ct2}/ffn/linear_1", f"{ours}.mlp.2")

    def self_attention(ct2: str, ours: str) -> None:
        norm(f"{ct2}/self_attention/layer_norm", f"{ours}.attn_ln")
        split(f"{ct2}/self_attention/linear_0", ["query", "key", "value"], f"{ours}.attn")
        linear(f"{ct2}/self_attention/linear_1", f"{ours}.attn.out")

    linear("encoder/conv1", "encoder.conv1")
    linear("encoder/conv2", "encoder.conv2")
    state["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    n_audio_layer = _count_layers(variables, "encoder")
    for i in range(n_audio_layer):
        ct2, ours = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        self_attention(ct2, ours)
        mlp(ct2, ours)
    norm("encoder/layer_norm", "encoder.ln_post")

    state["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    n_text_layer = _count_layers(variables, "decoder")
    for i in range(n_text_layer):
        ct2, ours = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        self_attention(ct2, ours)
        norm(f"{ct2}/attention/layer_norm", f"{ours}.cross_attn_ln")
        linear(f"{ct2}/attention/linear_0", f"{ours}.cross_attn.query")
        split(f"{ct2}/attention/linear_1", ["key", "value"], f"{ours}.cross_attn")
        linear(f"{ct2}/attention/linear_2", f"{ours}.cross_attn.out")
        mlp(ct2, ours)
    norm("decoder/layer_norm", "decoder.ln")

    def heads(part: str) -> int:
        return int(np.asarray(variables.get(f"{part}/num_heads", 0)).reshape(-1)[0])

    conv1 = state["encoder.conv1.weight"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(state["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": heads("encoder"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(state["decoder.token_embedding.weight"].shape[0]),
        "n_text_ctx": int(state["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(state["decoder.token_embedding.weight"].shape[1]),
        "n_text_head": heads("decoder"),
        "n_text_layer": n_text_layer,
    }
    if not dims["n_audio_layer"] or not dims["n_text_layer"] or not dims["n_audio_head"] or not dims["n_text_head"]:
        raise ConversionError("is missing its layer or head counts: not a Whisper model rkaudio can convert",
                              source)
    return state, dims


def convert_ct2_whisper(model_dir: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint (``torch.save``) of the CTranslate2 model in ``model_dir``.

    The checkpoint holds ``dims`` and ``model_state_dict`` as openai-whisper's ``load_model`` expects,
    plus ``alignment_heads`` ([layer, head] pairs from the model's config.json, for word timings).
    Written atomically: a failed conversion leaves no file behind.
    """
    model_bin = model_dir / "model.bin"
    if not model_bin.is_file():
        raise ConversionError("is not a faster-whisper (CTranslate2) model folder: it has no model.bin", model_dir)
    try:
        import torch
    except ImportError:
        raise ConversionError("converting needs PyTorch: pip install 'rkaudio[openai-whisper]'", model_dir) from None
    state, dims = state_dict_from_ct2(read_ct2_model(model_bin), model_bin)
    alignment: list[list[int]] = []
    config = model_dir / "config.json"
    if config.is_file():
        try:
            alignment = [[int(a), int(b)] for a, b in json.loads(config.read_text(encoding="utf-8"))
                         .get("alignment_heads", [])]
        except (ValueError, TypeError) as exc:
            raise ConversionError(f"alignment_heads cannot be read: {exc}", config) from None
    checkpoint = {"dims": dims, "model_state_dict": {k: torch.from_numpy(v.copy()) for k, v in state.items()},
                  "alignment_heads": alignment}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(out_path)
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path
