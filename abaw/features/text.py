"""Text inputs and text encoders: behaviour descriptions or transcripts given as files per video.

A recipe names a folder of text files for a text backbone (`[features] inputs = {minilm-l6 =
"behaviour"}`, relative to the dataset root). The file of an annotation id is `<folder>/<id>.txt`,
else that of its raw video (`<folder>/<video>.txt`, shared by `_left`/`_right`). One segment per
line, frames 1-based and inclusive, as the annotation files count them:

    start,end,text          # an optional header line like this one; '#' lines are comments
    1,90,the person smiles and nods while listening
    91,240,"frowns, looks away"

Every frame of a segment gets the embedding of its text (a later line wins where segments
overlap); frames no segment covers, and ids without a file, have no text input (zeros, not
present), as frames without a face have no visual input.

Encoders (interface: `encode_text(list[str]) -> (N, dim)` float32 NumPy):
- `SentenceBackbone`: a transformers sentence encoder (BERT family, e.g. all-MiniLM-L6-v2),
  mean of the token states over the real tokens, L2-normalised (sentence-transformers' recipe);
- `HashTextBackbone`: no weights: words and word pairs hashed into `dim` signed buckets,
  L2-normalised; it learns nothing, so a model on top learns what the words mean (offline runs).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import torch

from abaw import protocol
from abaw.errors import AbawError
from abaw.features.backbone import Backbone, check_pooling, load_hf

HASH_DIM = 256
_WORD = re.compile(r"[a-z0-9']+")


class TextBackbone(Backbone):
    kind = "text"

    def encode_text(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(N, dim) L2-normalised rows, one per text; `batch_size` bounds what a model sees."""
        raise NotImplementedError


class SentenceBackbone(TextBackbone):
    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        from transformers import AutoTokenizer

        check_pooling(self.name, pooling, ("mean", "cls"))
        self.model = load_hf(self, spec, source)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.preprocessing = {"tokenizer": type(self.tokenizer).__name__, "normalize": True}
        self.to("cpu")

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.inference_mode()
    def encode_text(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            tok = self.tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                                 max_length=int(self.model.config.max_position_embeddings),
                                 return_tensors="pt").to(self.device)
            h = self.model(**tok).last_hidden_state                         # (B, L, D)
            if self.pooling == "cls":
                e = h[:, 0]
            else:
                m = tok["attention_mask"].unsqueeze(-1).to(h.dtype)         # (B, L, 1)
                e = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
            out.append(torch.nn.functional.normalize(e.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


class HashTextBackbone(TextBackbone):
    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        check_pooling(self.name, pooling, ("mean",))
        self.preprocessing = {"hash": "sha1", "dim": HASH_DIM, "grams": [1, 2]}

    @property
    def model_id(self) -> str:
        return "abaw:text-hash"

    @property
    def dim(self) -> int:
        return HASH_DIM

    def encode_text(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), HASH_DIM), np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                h = int.from_bytes(hashlib.sha1(gram.encode()).digest()[:8], "little")
                out[i, h % HASH_DIM] += 1.0 if (h >> 63) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        return out


def text_file(folder, id: str, edition: int = protocol.LATEST_EDITION) -> Path | None:
    """The text file of annotation id `id` in `folder`: its own, else its raw video's."""
    folder = Path(folder)
    for name in dict.fromkeys([id, protocol.split_person(id, edition)[0]]):
        path = folder / f"{name}.txt"
        if path.is_file():
            return path
    return None


def read_segments(path) -> list[tuple[int, int, str]]:
    """[(start, end, text)] of a text file (see the module doc); AbawError naming file:line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AbawError(f"{path}: cannot read the text file ({e}), expected UTF-8 text") from None
    out = []
    for n, row in enumerate(csv.reader(lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and [c.strip().lower() for c in row] == ["start", "end", "text"]:
            continue
        try:
            start, end = int(row[0]), int(row[1])
            text = ",".join(row[2:]).strip()
        except (ValueError, IndexError):
            raise AbawError(f"{path}:{n}: found {','.join(row)[:60]!r}, expected "
                            "start,end,text with 1-based frame numbers") from None
        if not 1 <= start <= end or not text:
            raise AbawError(f"{path}:{n}: found frames {start}..{end} and text {text[:30]!r}, "
                            "expected 1 <= start <= end and a text")
        out.append((start, end, text))
    return out


def text_rows(backbone: TextBackbone, frames, path) -> tuple[np.ndarray, np.ndarray]:
    """(rows (N, dim) float32, present (N,)) for the frames of one id from its text file."""
    frames = np.asarray(frames, np.int64)
    rows = np.zeros((len(frames), backbone.dim), np.float32)
    present = np.zeros(len(frames), bool)
    if path is None:
        return rows, present
    segments = read_segments(path)
    if not segments:
        return rows, present
    texts = list(dict.fromkeys(t for _, _, t in segments))
    emb = backbone.encode_text(texts)                                      # (U, dim)
    which = {t: i for i, t in enumerate(texts)}
    for start, end, text in segments:
        hit = (frames >= start) & (frames <= end)
        rows[hit] = emb[which[text]]
        present |= hit
    return rows, present
