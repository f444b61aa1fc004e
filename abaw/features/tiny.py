"""Tiny random models of every registered backbone's real class, written as real weights folders.

`write_tiny(name, folder)` builds the entry's model class from a tiny config (hidden 32, 2 layers,
small images, short audio windows), saves it with `save_pretrained` (timm: `save_for_hf`) together
with its own image processor / feature extractor / tokenizer, so `create_backbone(name,
weights=folder)` loads it through exactly the path real weights take. Used by the tests, the
benchmark and the offline demo (`abaw models tiny DIR`, then `ABAW_MODELS=DIR`); the features are
meaningless, the plumbing is real.
"""

from __future__ import annotations

from pathlib import Path

from abaw.features.registry import get_spec

_VIT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
# the released conv feature encoder's kernels and strides (20 ms steps), 32 channels wide
_SSL = dict(_VIT, conv_dim=(32,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
            conv_kernel=(10, 3, 3, 3, 3, 2, 2), num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2, vocab_size=32)


def _clip_tokenizer(folder: Path) -> None:
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":  # characters only: every word splits into letters
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)


def _clip(folder: Path) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    cfg = CLIPConfig(text_config=dict(_VIT, vocab_size=64, max_position_embeddings=32,
                                      bos_token_id=0, eos_token_id=1, pad_token_id=1),
                     vision_config=dict(_VIT, image_size=32, patch_size=8), projection_dim=16)
    CLIPModel(cfg).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
                       ).save_pretrained(folder)
    _clip_tokenizer(folder)


def _hf_vision(folder: Path, model_class: str) -> None:
    import transformers as tf

    if model_class == "Dinov2Model":
        tf.Dinov2Model(tf.Dinov2Config(**_VIT, image_size=28, patch_size=14)).save_pretrained(folder)
        # the released DINOv2 processor: resize the short side, then centre-crop
        tf.BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28},
                             do_center_crop=True).save_pretrained(folder)
        return
    if model_class == "ViTModel":
        tf.ViTModel(tf.ViTConfig(**_VIT, image_size=32, patch_size=8)).save_pretrained(folder)
    else:
        tf.ViTMAEModel(tf.ViTMAEConfig(**_VIT, image_size=32, patch_size=8)).save_pretrained(folder)
    tf.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)


def _timm(folder: Path, model_class: str) -> None:
    import timm
    from timm.models import save_for_hf

    arch = {"ConvNeXt": "test_convnext", "ResNet": "test_resnet",
            "EfficientNet": "test_efficientnet"}[model_class]
    model = timm.create_model(arch, pretrained=False)
    save_for_hf(model, folder, safe_serialization=True,
                data_config={"input_size": (3, 32, 32), "crop_pct": 1.0})


def _ssl(folder: Path, model_class: str) -> None:
    import transformers as tf

    config = {"Wav2Vec2Model": tf.Wav2Vec2Config, "WavLMModel": tf.WavLMConfig,
              "HubertModel": tf.HubertConfig}[model_class](**_SSL)
    getattr(tf, model_class)(config).save_pretrained(folder)
    tf.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)


def _ast(folder: Path) -> None:
    from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

    cfg = ASTConfig(**_VIT, max_length=128, num_mel_bins=32, patch_size=16, time_stride=10,
                    frequency_stride=10)
    ASTModel(cfg).save_pretrained(folder)
    ASTFeatureExtractor(num_mel_bins=32, max_length=128).save_pretrained(folder)


def _whisper(folder: Path) -> None:
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    # 2 s windows: 200 mel frames -> 100 encoder positions
    cfg = WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        num_mel_bins=80, max_source_positions=100, max_target_positions=16,
                        vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                        decoder_start_token_id=1)
    WhisperModel(cfg).save_pretrained(folder)
    WhisperFeatureExtractor(chunk_length=2).save_pretrained(folder)


def _bert(folder: Path) -> None:
    from transformers import BertConfig, BertModel, BertTokenizer

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz")
    words += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]   # every word splits into letters
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    BertModel(BertConfig(**_VIT, vocab_size=len(words), max_position_embeddings=256),
              add_pooling_layer=False).save_pretrained(folder)


def write_tiny(name: str, folder, seed: int = 0) -> Path | None:
    """Write tiny random weights for backbone `name` into `folder`; None for weightless ones."""
    import torch

    from abaw.features.backbone import quiet_transformers

    spec = get_spec(name)
    if spec.hub_id is None:
        return None
    quiet_transformers()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cls = spec.classes[0]
    if spec.family == "clip":
        _clip(folder)
    elif spec.family == "hf_vision":
        _hf_vision(folder, cls)
    elif spec.family == "timm_cnn":
        _timm(folder, cls)
    elif spec.family == "ssl_audio":
        _ssl(folder, cls)
    elif spec.family == "ast":
        _ast(folder)
    elif spec.family == "whisper":
        _whisper(folder)
    elif spec.family == "sentence":
        _bert(folder)
    else:
        raise ValueError(f"no tiny config for the {spec.family} family")
    return folder


def write_random(name: str, folder, seed: int = 0, image_size: int = 64) -> Path:
    """A seeded random initialisation of a timm entry's full architecture, as a weights folder.

    For the offline demo: the real class and layers, no download; `image_size` sets the input
    the model's data config asks for (the twin's crops carry their signal at 64 px)."""
    import timm
    import torch
    from timm.models import save_for_hf

    spec = get_spec(name)
    if spec.family != "timm_cnn":
        raise ValueError(f"random weights are written for timm entries only, not {name}")
    torch.manual_seed(seed)
    arch = spec.hub_id.split("/", 1)[1]                  # timm/resnet18.a1_in1k -> resnet18.a1_in1k
    model = timm.create_model(arch, pretrained=False)
    cfg = model.pretrained_cfg
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_for_hf(model, tmp, safe_serialization=True,
                data_config={"input_size": (3, image_size, image_size), "crop_pct": 1.0,
                             "mean": cfg.get("mean"), "std": cfg.get("std"),
                             "interpolation": cfg.get("interpolation", "bilinear")})
    tmp.rename(folder)
    return folder
