"""Converting the bundled CTranslate2 model into an openai-whisper checkpoint.

The checkpoint is made at test time in a temporary folder (never committed) and checked three ways:
openai-whisper loads it with the dimensions of tiny.en; its tensors are the CTranslate2 model's,
with the fused attention projections split; and, independently of rkaudio's reader, CTranslate2's
own runtime and openai-whisper compute the same encoder output and decode the same tokens from it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rkaudio.core.errors import ConversionError
from rkaudio.speech.ct2_convert import convert_ct2_whisper, read_ct2_model, state_dict_from_ct2

#: openai-whisper (and PyTorch, which it needs) is an extra; its tests run in the full lane only
#: (marked torch) and are skipped where it is not installed. It is imported only by those tests, so
#: the quick lane never pays for loading PyTorch.
HAVE_WHISPER = importlib.util.find_spec("whisper") is not None


def needs_whisper(test):
    return pytest.mark.torch(pytest.mark.skipif(not HAVE_WHISPER, reason="openai-whisper is not installed")(test))

SPEECH = Path(__file__).resolve().parent / "data" / "speech" / "kindness_programme.flac"
TINY_EN = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
           "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4}


@pytest.fixture(scope="module")
def bundled() -> Path:
    from rkaudio.speech.engine import bundled_model_path
    return bundled_model_path()


@pytest.fixture(scope="module")
def ct2_variables(bundled: Path) -> dict:
    return read_ct2_model(bundled / "model.bin")


@pytest.fixture(scope="module")
def checkpoint(bundled: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_WHISPER:
        pytest.skip("openai-whisper is not installed")
    return convert_ct2_whisper(bundled, tmp_path_factory.mktemp("converted") / "tiny.en.pt")


@pytest.fixture(scope="module")
def state(checkpoint: Path) -> dict:
    import torch

    return torch.load(checkpoint, map_location="cpu", weights_only=True)


@needs_whisper
def test_checkpoint_has_the_dimensions_of_tiny_en(state: dict, bundled: Path) -> None:
    assert state["dims"] == TINY_EN
    expected_heads = json.loads((bundled / "config.json").read_text(encoding="utf-8"))["alignment_heads"]
    assert state["alignment_heads"] == expected_heads
    import torch

    assert all(t.dtype == torch.float32 for t in state["model_state_dict"].values())


@needs_whisper
def test_openai_whisper_loads_the_checkpoint(checkpoint: Path) -> None:
    import whisper

    model = whisper.load_model(str(checkpoint), device="cpu")
    assert model.dims.n_mels == 80 and model.dims.n_audio_layer == 4 and model.dims.n_text_layer == 4
    assert model.dims.n_audio_state == 384 and model.dims.n_audio_head == 6 == model.dims.n_text_head
    assert not model.is_multilingual


@needs_whisper
def test_fused_projections_are_split(state: dict, ct2_variables: dict) -> None:
    weights = state["model_state_dict"]
    for part, layers in (("encoder", 4), ("decoder", 4)):
        for layer in range(layers):
            fused = ct2_variables[f"{part}/layer_{layer}/self_attention/linear_0/weight"].astype(np.float32)
            fused_bias = ct2_variables[f"{part}/layer_{layer}/self_attention/linear_0/bias"].astype(np.float32)
            assert fused.shape == (3 * 384, 384)
            ours = f"{part}.blocks.{layer}.attn"
            for k, name in enumerate(("query", "key", "value")):
                split = weights[f"{ours}.{name}.weight"].numpy()
                assert split.shape == (384, 384)
                assert np.array_equal(split, fused[k * 384:(k + 1) * 384])
            assert np.array_equal(weights[f"{ours}.query.bias"].numpy(), fused_bias[:384])
            assert np.array_equal(weights[f"{ours}.value.bias"].numpy(), fused_bias[768:])
            assert f"{ours}.key.bias" not in weights  # openai-whisper's key projection has no bias
            assert not fused_bias[384:768].any()
    cross = ct2_variables["decoder/layer_2/attention/linear_1/weight"].astype(np.float32)
    assert cross.shape == (2 * 384, 384)
    assert np.array_equal(weights["decoder.blocks.2.cross_attn.key.weight"].numpy(), cross[:384])
    assert np.array_equal(weights["decoder.blocks.2.cross_attn.value.weight"].numpy(), cross[384:])
    assert np.array_equal(weights["decoder.token_embedding.weight"].numpy(),
                          ct2_variables["decoder/embeddings/weight"].astype(np.float32))
    assert np.array_equal(weights["encoder.conv1.weight"].numpy(),
                          ct2_variables["encoder/conv1/weight"].astype(np.float32))


@pytest.fixture(scope="module")
def speech_mel() -> np.ndarray:
    """The first 30 s of a committed speech clip as Whisper's log-mel input."""
    if not HAVE_WHISPER:
        pytest.skip("openai-whisper is not installed")
    import whisper

    from rkaudio.speech import recognise as asr

    raw = b"".join(asr._decoded_blocks(SPEECH, 600.0))
    audio = np.frombuffer(raw, dtype=np.float32).copy()
    return whisper.log_mel_spectrogram(whisper.pad_or_trim(audio)).numpy()


@needs_whisper
def test_converted_model_computes_what_ctranslate2_computes(checkpoint: Path, bundled: Path,
                                                          speech_mel: np.ndarray) -> None:
    """The same input through CTranslate2's runtime and through openai-whisper on the conversion."""
    import ctranslate2
    import torch
    import whisper

    reference = ctranslate2.models.Whisper(str(bundled), device="cpu", compute_type="float32", intra_threads=2)
    features = ctranslate2.StorageView.from_array(speech_mel[None])
    expected = np.array(reference.encode(features, to_cpu=True))
    model = whisper.load_model(str(checkpoint), device="cpu")
    with torch.no_grad():
        got = model.encoder(torch.from_numpy(speech_mel)[None]).numpy()
    assert got.shape == expected.shape == (1, 1500, 384)
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()

    tokenizer = whisper.tokenizer.get_tokenizer(False)
    greedy = reference.generate(features, [list(tokenizer.sot_sequence_including_notimestamps)],
                                beam_size=1, max_length=224)[0].sequences_ids[0]
    decoded = whisper.decode(model, torch.from_numpy(speech_mel),
                             whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False))
    assert decoded.tokens == greedy, (decoded.text, tokenizer.decode(greedy))
    assert decoded.text.startswith("Social mixing is one of the most powerful ways")


def test_quantized_weights_are_dequantized(ct2_variables: dict, bundled: Path) -> None:
    """int8 with a scale per row (CTranslate2's scheme), and int16 with one scale, come back to within a step."""
    variables = dict(ct2_variables)
    name = "encoder/layer_1/self_attention/linear_0/weight"
    original = ct2_variables[name].astype(np.float32)
    scale8 = 127.0 / np.abs(original).max(axis=1)
    variables[name] = np.rint(original * scale8[:, None]).astype(np.int8)
    variables[f"{name}_scale"] = scale8.astype(np.float32)
    name16 = "decoder/layer_0/ffn/linear_0/weight"
    original16 = ct2_variables[name16].astype(np.float32)
    scale16 = np.float32(2 ** 10 / np.abs(original16).max())
    variables[name16] = np.rint(original16 * scale16).astype(np.int16)
    variables[f"{name16}_scale"] = np.asarray(scale16)
    state, _dims = state_dict_from_ct2(variables, bundled / "model.bin")
    query = state["encoder.blocks.1.attn.query.weight"]
    step = 1.0 / scale8[:384, None]
    assert np.all(np.abs(query - original[:384]) <= 0.5 * step + 1e-7)
    assert np.abs(query - original[:384]).max() > 0  # it really was quantized
    assert np.abs(state["decoder.blocks.0.mlp.0.weight"] - original16).max() <= 0.5 / scale16 + 1e-7


# --- broken models ------------------------------------------------------------------------------

def _model_folder(bundled: Path, folder: Path, data: bytes) -> Path:
    folder.mkdir()
    shutil.copy(bundled / "config.json", folder / "config.json")
    (folder / "model.bin").write_bytes(data)
    return folder


@pytest.mark.parametrize("damage", ["truncated", "header-only", "garbage", "empty"])
def test_broken_model_bin_is_a_conversion_error_naming_the_file(damage: str, bundled: Path,
                                                                 tmp_path: Path) -> None:
    pytest.importorskip("torch")
    whole = (bundled / "model.bin").read_bytes()
    data = {"truncated": whole[:len(whole) // 2], "header-only": whole[:40],
            "garbage": np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "empty": b""}[damage]
    folder = _model_folder(bundled, tmp_path / damage, data)
    out = tmp_path / "out" / "model.pt"
    with pytest.raises(ConversionError) as caught:
        convert_ct2_whisper(folder, out)
    assert caught.value.path == folder / "model.bin"
    assert str(folder / "model.bin") in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not out.exists()
    assert not list(out.parent.glob("*")) if out.parent.exists() else True


def test_not_a_whisper_model(bundled: Path, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    with pytest.raises(ConversionError, match="no model.bin"):
        convert_ct2_whisper(folder, tmp_path / "x.pt")
