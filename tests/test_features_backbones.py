"""Every registered backbone: a tiny random model of its real class, saved and loaded back through
the path real weights take, checked against the model's own outputs computed independently."""

import numpy as np
import pytest
import torch

from abaw.errors import AbawError
from abaw.features.registry import BACKBONES, create_backbone, get_spec, sorted_specs
from abaw.features.tiny import write_tiny


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


class TinyModels:
    """Tiny weights folders, written on first use and shared by the feature test modules."""

    def __init__(self, root):
        self.root = root

    def __getitem__(self, name):
        folder = self.root / name
        if not folder.exists():
            write_tiny(name, folder)
        return folder if BACKBONES[name].hub_id else None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return TinyModels(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture(scope="module")
def faces():
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)) for _ in range(3)]


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(AbawError) as e:
        create_backbone("clip-vit-z99")
    msg = str(e.value)
    assert "clip-vit-z99" in msg and all(s.name in msg for s in sorted_specs())
    assert "\n" not in msg


def test_missing_model_fails_at_once_with_where_and_how(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(AbawError) as e:
        create_backbone("dinov2-vit-b14")
    msg = str(e.value)
    assert "\n" not in msg
    assert str(tmp_path / "models" / "dinov2-vit-b14") in msg
    assert "hf download facebook/dinov2-base --local-dir" in msg
    with pytest.raises(AbawError, match="no such folder"):
        create_backbone("resnet50", weights=str(tmp_path / "nowhere"))


def test_default_folder_under_abaw_models_is_used(tiny, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(tiny["vit-b16"], tmp_path / "vit-b16")
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path))
    b = create_backbone("vit-b16")
    assert b.location == str(tmp_path / "vit-b16") and b.dim == 32


@pytest.mark.parametrize("name", [s.name for s in sorted_specs()])
def test_every_backbone_loads_from_a_folder_and_encodes(name, tiny, faces):
    b = create_backbone(name, weights=tiny[name])
    spec = get_spec(name)
    assert b.kind == spec.kind and b.layer == spec.layer and b.pooling == spec.pooling
    if b.model is not None:
        assert type(b.model).__name__ in spec.classes or name.startswith("whisper")
    meta = b.meta()
    assert meta["dim"] == b.dim and len(meta["revision"]) == 16 and meta["preprocessing"]
    if b.kind == "visual":
        x = b.transform(faces)
        assert x.shape[0] == 3 and x.dtype == torch.float32
        y = b.encode(x)
        assert y.shape == (3, b.dim) and torch.isfinite(y).all()
        torch.testing.assert_close(b.encode(x), y)  # deterministic (MAE masking is off)
    elif b.kind == "text":
        texts = ["a smiling face", "a frown", "she frowns and looks away, then laughs"]
        e = b.encode_text(texts, batch_size=2)
        assert e.shape == (3, b.dim) and np.isfinite(e).all()
        np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
        assert not np.allclose(e[0], e[2])        # different texts, different rows
        np.testing.assert_allclose(b.encode_text(texts[2:]), e[2:], rtol=1e-5, atol=1e-6)
    else:
        wave = np.random.default_rng(1).standard_normal(int(2.5 * b.sample_rate)).astype(
            np.float32)
        centres, feats = b.features(wave, batch_size=2)
        assert feats.shape == (len(centres), b.dim) and np.isfinite(feats).all()
        assert np.all(np.diff(centres) > 0) and 0 <= centres[0] and centres[-1] < 2.5


def test_revision_is_the_weights_not_the_folder(tiny, tmp_path):
    import shutil

    shutil.copytree(tiny["dinov2-vit-b14"], tmp_path / "copy")
    a = create_backbone("dinov2-vit-b14", weights=tiny["dinov2-vit-b14"]).meta()
    b = create_backbone("dinov2-vit-b14", weights=tmp_path / "copy").meta()
    other = write_tiny("dinov2-vit-b14", tmp_path / "other", seed=1)
    c = create_backbone("dinov2-vit-b14", weights=other).meta()
    assert a["revision"] == b["revision"] != c["revision"]


def test_wrong_class_in_folder_is_refused(tiny):
    with pytest.raises(AbawError, match="expected Dinov2Model"):
        create_backbone("dinov2-vit-b14", weights=tiny["vit-b16"])


def test_preprocessing_is_the_models_own_processor(tiny, faces):
    from transformers import AutoImageProcessor

    b = create_backbone("dinov2-vit-b14", weights=tiny["dinov2-vit-b14"])
    ref = AutoImageProcessor.from_pretrained(tiny["dinov2-vit-b14"])(images=faces,
                                                                      return_tensors="pt")
    torch.testing.assert_close(b.transform(faces), ref["pixel_values"])
    assert b.preprocessing["crop_size"] == {"height": 28, "width": 28}


def test_layers_and_pooling_match_the_model_outputs(tiny, faces):
    b = create_backbone("vit-b16", weights=tiny["vit-b16"])
    x = b.transform(faces)
    with torch.no_grad():
        out = b.model(pixel_values=x, output_hidden_states=True)
    torch.testing.assert_close(b.encode(x), out.last_hidden_state[:, 0])
    for layer, tokens in [("1", out.hidden_states[1]), ("-2", out.hidden_states[-2]),
                          ("mean:2", (out.hidden_states[-1] + out.hidden_states[-2]) / 2)]:
        m = create_backbone("vit-b16", weights=tiny["vit-b16"], layer=layer, pooling="mean")
        torch.testing.assert_close(m.encode(x), tokens[:, 1:].mean(1))
    for bad in ["first", "mean:0", "9"]:
        with pytest.raises(AbawError, match="--layer"):
            create_backbone("vit-b16", weights=tiny["vit-b16"], layer=bad).encode(x)
    with pytest.raises(AbawError, match="--pooling"):
        create_backbone("vit-b16", weights=tiny["vit-b16"], pooling="max")


def test_clip_image_embedding_and_text_tower(tiny, faces):
    b = create_backbone("clip-vit-b16", weights=tiny["clip-vit-b16"])
    x = b.transform(faces)
    with torch.no_grad():
        vision = b.model.vision_model(pixel_values=x)
        ref = b.model.visual_projection(vision.pooler_output)
    torch.testing.assert_close(b.encode(x), ref)
    prompts = ["a happy face", "a sad face"]
    emb = b.encode_text(prompts)
    tok = b._tokenizer(prompts, padding=True, return_tensors="pt")
    with torch.no_grad():
        text = b.model.text_model(**tok)
        ref_text = b.model.text_projection(text.pooler_output).numpy()
    assert emb.shape == (2, 16)
    np.testing.assert_allclose(emb, ref_text, rtol=1e-5, atol=1e-6)


def test_timm_last_layer_is_the_models_pre_logits(tiny, faces):
    b = create_backbone("convnext-base", weights=tiny["convnext-base"])
    x = b.transform(faces)
    b.model.reset_classifier(0)  # timm's own way to get pooled features out of forward()
    with torch.no_grad():
        torch.testing.assert_close(b.encode(x), b.model(x))
    stage = create_backbone("convnext-base", weights=tiny["convnext-base"], layer="1")
    assert stage.encode(x).shape == (3, stage.dim)
    with pytest.raises(AbawError, match="--pooling"):
        create_backbone("resnet50", weights=tiny["resnet50"], pooling="cls")


def test_ssl_audio_time_grid_from_the_conv_config(tiny):
    b = create_backbone("wav2vec2-base", weights=tiny["wav2vec2-base"])
    # kernels (10, 3, 3, 3, 3, 2, 2), strides (5, 2, 2, 2, 2, 2, 2): the 20 ms step (320
    # samples) and 25 ms receptive field (400 samples) published for wav2vec 2.0
    assert b.hop_s == 320 / 16000 and b.offset_s == 200 / 16000
    b.chunk_samples = 8000
    wave = np.random.default_rng(2).standard_normal(20000).astype(np.float32)
    centres, feats = b.features(wave, batch_size=4)
    inputs = b.extractor(wave[:8000], sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        ref = b.model(**inputs).last_hidden_state[0].numpy()  # first chunk alone
    np.testing.assert_allclose(feats[:len(ref)], ref, rtol=1e-4, atol=1e-5)
    # chunks of 8000, 8000, 4000 samples; conv lengths by hand: 8000 -> 1599 -> 799 -> 399
    # -> 199 -> 99 -> 49 -> 24 steps; 4000 -> 799 -> 399 -> 199 -> 99 -> 49 -> 24 -> 12
    assert len(feats) == 24 + 24 + 12
    np.testing.assert_allclose(centres[24], 0.5 + 200 / 16000)


def test_ast_steps_are_patch_tokens_averaged_over_frequency(tiny):
    b = create_backbone("ast", weights=tiny["ast"])
    wave = np.random.default_rng(4).standard_normal(16000).astype(np.float32)
    inputs = b.prepare([wave])
    with torch.no_grad():
        tokens = b.model(**inputs).last_hidden_state[0, 2:]  # (F*T, D), frequency-major
    f, t = b.freq_tokens, b.time_tokens
    ref = torch.stack([tokens[[i * t + j for i in range(f)]].mean(0) for j in range(t)])
    torch.testing.assert_close(b.encode(inputs)[0], ref)
    assert (f, t) == ((32 - 16) // 10 + 1, (128 - 16) // 10 + 1)


def test_whisper_keeps_steps_over_real_audio_only(tiny):
    b = create_backbone("whisper-base", weights=tiny["whisper-base"])
    assert b.chunk_samples == 32000 and b.hop_s == 0.02  # 2 s windows, 2 x 160-sample hops
    centres, feats = b.features(np.zeros(16000 * 3, np.float32))
    assert len(feats) == 100 + 50  # one full window + steps centred inside the last 1 s


def test_logmel_matches_a_direct_computation():
    b = create_backbone("logmel")
    sr = 16000
    wave = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr)
    centres, feats = b.features(wave)
    assert feats.shape == (1 + (sr - 400) // 160, 64)
    # frame 10 computed directly: periodic Hann, |rfft(512)|, mel weights, log(. + 0.01)
    seg = wave[1600:2000] * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400))
    ref = np.log(np.abs(np.fft.rfft(seg, 512)) @ b.mel + 0.01)
    np.testing.assert_allclose(feats[10], ref, rtol=1e-5)
    assert centres[10] == pytest.approx(0.1 + 0.0125)
    silence = b.features(np.zeros(sr))[1]
    np.testing.assert_allclose(silence, np.log(0.01), rtol=1e-6)
