"""Visual encoders: transformers ViTs (CLIP, DINOv2, ViT, ViT-MAE) and timm CNNs.

Interface: `transform(images: list[PIL.Image]) -> (B, 3, H, W)` runs in the data-loader workers
and is the model's own preprocessing (its image processor or timm data config, never hand-copied
numbers); `encode(pixels) -> (B, dim)` runs on the device.
"""

from __future__ import annotations

from pathlib import Path

import torch

from abaw.errors import AbawError
from abaw.features.backbone import (
    Backbone,
    check_class,
    check_pooling,
    load_hf,
    parse_layer,
    select_hidden,
)
from abaw.features.registry import GRID  # "grid" pooling: a GRID x GRID layout of the face

# Pooling "patches" (ViTs): the CLS token, then the patch tokens averaged over a PATCH_GRID x
# PATCH_GRID layout: a global and a few local views of the face per frame, token after token
# (what granularity-alignment fusions read; the store's meta says how a row splits).
PATCH_GRID = 2


def patch_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """(B, 1 + P, D) ViT tokens -> (B, (1 + G*G) * D): CLS, then the P patches pooled to G x G."""
    b, n, d = tokens.shape
    side = int(round((n - 1) ** 0.5))
    if side * side != n - 1:
        raise AbawError(f"--pooling patches: found {n - 1} patch tokens, expected a square grid")
    grid = tokens[:, 1:].transpose(1, 2).reshape(b, d, side, side)          # (B, D, s, s)
    cells = torch.nn.functional.adaptive_avg_pool2d(grid, PATCH_GRID).flatten(2)  # (B, D, G*G)
    return torch.cat([tokens[:, :1], cells.transpose(1, 2)], dim=1).flatten(1)


class HFImageTransform:
    """Picklable wrapper around a transformers image processor (workers call it on a batch)."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, images) -> torch.Tensor:
        return self.processor(images=images, return_tensors="pt")["pixel_values"]


class TimmImageTransform:
    def __init__(self, transform):
        self.transform = transform

    def __call__(self, images) -> torch.Tensor:
        return torch.stack([self.transform(im) for im in images])


def _processor_meta(processor) -> dict:
    keep = ("do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
            "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb")
    d = processor.to_dict()
    return {"processor": type(processor).__name__, **{k: d[k] for k in keep if k in d}}


class HFVisionBackbone(Backbone):
    """DINOv2, ViT, ViT-MAE: tokens of the chosen layer, pooled by CLS, mean of patch tokens, or
    CLS + pooled patches (`patches`)."""

    kind = "visual"
    poolings = ("cls", "mean", "patches")

    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        from transformers import AutoImageProcessor

        check_pooling(self.name, pooling, self.poolings)
        self.model = load_hf(self, spec, source)
        processor = AutoImageProcessor.from_pretrained(source)
        self.transform = HFImageTransform(processor)
        self.preprocessing = _processor_meta(processor)
        self.is_mae = type(self.model).__name__ == "ViTMAEModel"
        if self.is_mae:
            # MAE drops 75% of the patches at random by default; features keep every patch
            self.model.config.mask_ratio = 0.0
        self.to("cpu")

    @property
    def tokens(self) -> dict | None:
        """How a stored row splits into tokens (None: one vector)."""
        if self.pooling != "patches":
            return None
        return {"count": 1 + PATCH_GRID ** 2, "order": "token", "global": True}

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size) * (self.tokens or {"count": 1})["count"]

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        kw = {}
        if self.is_mae:
            # ascending noise keeps the patches in their original order (argsort = identity)
            n = self.model.embeddings.patch_embeddings.num_patches
            kw["noise"] = torch.arange(n, device=pixels.device, dtype=torch.float32).expand(
                len(pixels), n)
        out = self.model(pixel_values=pixels, output_hidden_states=self.layer != "last", **kw)
        return select_hidden(out, self.layer)  # (B, 1 + patches, D)

    @torch.inference_mode()
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        tokens = self._tokens(pixels)
        if self.pooling == "cls":
            return tokens[:, 0]
        if self.pooling == "patches":
            return patch_tokens(tokens)
        return tokens[:, 1:].mean(1)  # patch tokens only, (B, D)


class ClipBackbone(HFVisionBackbone):
    """CLIP: vision tower (`embed` = the projected image embedding, in the text space) and the
    text tower for class-prompt embeddings."""

    poolings = ("embed", "cls", "mean", "patches")

    def __init__(self, spec, source, layer, pooling):
        if pooling == "embed" and parse_layer(layer)[0] != "last":
            raise AbawError(f"--layer: found {layer!r} with pooling embed, expected last "
                            "(the projection reads the final layer)")
        super().__init__(spec, source, layer, pooling)
        self._tokenizer = None

    @property
    def dim(self) -> int:
        if self.pooling == "embed":
            return int(self.model.config.projection_dim)
        return int(self.model.config.vision_config.hidden_size) * (self.tokens or {"count": 1})["count"]

    def _tokens(self, pixels):
        out = self.model.vision_model(pixel_values=pixels,
                                      output_hidden_states=self.layer != "last")
        return out, select_hidden(out, self.layer)

    @torch.inference_mode()
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        out, tokens = self._tokens(pixels)
        if self.pooling == "embed":
            return self.model.visual_projection(out.pooler_output)  # (B, projection_dim)
        if self.pooling == "cls":
            return tokens[:, 0]
        return tokens[:, 1:].mean(1)

    @torch.inference_mode()
    def encode_text(self, prompts: list[str]):
        """(K, projection_dim) float32 NumPy text embeddings of `prompts` (not normalised)."""
        from transformers import AutoTokenizer

        if self._tokenizer is None:
            self._tokenizer = AutoTokenizer.from_pretrained(self.source)
        longest = int(self.model.config.text_config.max_position_embeddings)
        tok = self._tokenizer(list(prompts), padding=True, truncation=True, max_length=longest,
                              return_tensors="pt")
        tok = {k: v.to(self.device) for k, v in tok.items()}
        out = self.model.text_model(**tok)
        return self.model.text_projection(out.pooler_output).float().cpu().numpy()


class TimmBackbone(Backbone):
    """timm CNNs (ConvNeXt, ResNet, EfficientNet): `last` = the model's own head pooling
    (pre-logits); an index reads that stage of `forward_intermediates`, averaged over space."""

    kind = "visual"

    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        import timm
        from timm.data import create_transform, resolve_data_config

        check_pooling(self.name, pooling, ("mean", "grid"))
        how, _ = parse_layer(self.layer)
        if how == "mean":
            raise AbawError(f"--layer: found {layer!r} for {self.name}, expected last or a stage "
                            "index (CNN stages differ in width)")
        local = Path(source).is_dir()
        try:
            self.model = timm.create_model(f"local-dir:{source}" if local else f"hf-hub:{source}",
                                           pretrained=True)
        except (RuntimeError, FileNotFoundError) as e:
            raise OSError(str(e)) from None
        check_class(spec, self.model)
        data_cfg = resolve_data_config({}, model=self.model)
        self.transform = TimmImageTransform(create_transform(**data_cfg, is_training=False))
        self.preprocessing = {"timm_data_config": data_cfg}
        self.to("cpu")
        size = data_cfg["input_size"]
        self._dim = int(self.encode(torch.zeros(1, *size)).shape[-1])

    @property
    def model_id(self) -> str:
        return f"timm:{self.model.pretrained_cfg.get('architecture', type(self.model).__name__)}"

    @property
    def tokens(self) -> dict | None:
        """Grid pooling keeps GRID x GRID cells of C channels, channel-major (C, G, G)."""
        return {"count": GRID * GRID, "order": "channel", "global": False} \
            if self.pooling == "grid" else None

    @property
    def dim(self) -> int:
        return self._dim

    @torch.inference_mode()
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        how, k = parse_layer(self.layer)
        if how == "last" and self.pooling != "grid":
            return self.model.forward_head(self.model.forward_features(pixels), pre_logits=True)
        if how == "last":
            fmap = self.model.forward_features(pixels)
        else:
            fmap = self._stage(pixels, k)
        if self.pooling == "grid":
            # where on the face a feature fires matters (brows vs mouth): keep a coarse layout
            return torch.nn.functional.adaptive_avg_pool2d(fmap, GRID).flatten(1)  # (B, C*G*G)
        return fmap.mean((2, 3))  # (B, C, H, W) -> (B, C)

    def _stage(self, pixels: torch.Tensor, k: int) -> torch.Tensor:
        try:
            # stop_early: the stages after k would be computed and thrown away
            (fmap,) = self.model.forward_intermediates(pixels, indices=[k], stop_early=True,
                                                       intermediates_only=True)
        except (IndexError, AssertionError, ValueError):
            raise AbawError(f"--layer: found {k} for {self.name}, expected a stage index in "
                            f"[0, {len(self.model.feature_info) - 1}]") from None
        return fmap
