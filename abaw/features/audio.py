"""Audio encoders: Wav2Vec 2.0 / WavLM / HuBERT, AST, the Whisper encoder, and a VGGish-style
log-mel front end in NumPy.

Interface: `features(wave) -> (centres (T,), feats (T, dim))` over a whole mono waveform at
`sample_rate`: the encoder runs on fixed chunks (batched), and every output step carries the time
(seconds from the first sample) of the centre of the audio it saw. `abaw.features.timeline` maps
those steps onto video frames. Sample rate, mel settings and normalisation come from the model's
own feature extractor / config.
"""

from __future__ import annotations

import numpy as np
import torch

from abaw.errors import AbawError
from abaw.features.backbone import Backbone, check_pooling, load_hf, parse_layer, select_hidden


class AudioBackbone(Backbone):
    kind = "audio"
    sample_rate = 16000
    chunk_samples = 16000 * 20   # samples per model call (the last chunk is shorter)
    min_samples = 1              # a shorter last chunk is zero-padded to this length
    hop_s = 0.02                 # output step j of a chunk is centred at offset_s + j * hop_s
    offset_s = 0.0

    def _load(self, spec, source, pooling):
        from transformers import AutoFeatureExtractor

        check_pooling(self.name, pooling, ("mean",))
        model = load_hf(self, spec, source)
        self.extractor = AutoFeatureExtractor.from_pretrained(source)
        self.sample_rate = int(self.extractor.sampling_rate)
        return model

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def prepare(self, chunks: list[np.ndarray]) -> dict:
        return dict(self.extractor(chunks, sampling_rate=self.sample_rate, return_tensors="pt"))

    def encode(self, inputs: dict) -> torch.Tensor:
        out = self.model(**inputs, output_hidden_states=self.layer != "last")
        return select_hidden(out, self.layer)  # (B, T, D)

    @torch.inference_mode()
    def features(self, wave: np.ndarray, batch_size: int = 8):
        """(centres (T,) float64 seconds, feats (T, dim) float32) for a mono waveform."""
        wave = np.asarray(wave, dtype=np.float32)
        starts = list(range(0, len(wave), self.chunk_samples))
        chunks = [wave[s:s + self.chunk_samples] for s in starts]
        centres, feats = [], []
        i = 0
        while i < len(chunks):
            # a batch holds chunks of one length only, so no padding changes a full chunk's output
            j = i + 1
            while j < len(chunks) and j - i < batch_size and len(chunks[j]) == len(chunks[i]):
                j += 1
            n = len(chunks[i])
            padded = [np.pad(c, (0, max(0, self.min_samples - n))) for c in chunks[i:j]]
            inputs = {k: v.to(self.device) for k, v in self.prepare(padded).items()}
            out = self.encode(inputs).float().cpu().numpy()  # (b, T, D)
            t = self.offset_s + self.hop_s * np.arange(out.shape[1])
            keep = t < n / self.sample_rate  # steps centred on real audio, not on padding
            for b in range(j - i):
                centres.append(starts[i + b] / self.sample_rate + t[keep])
                feats.append(out[b, keep])
            i = j
        if not feats:
            return np.zeros(0), np.zeros((0, self.dim), np.float32)
        return np.concatenate(centres), np.concatenate(feats)

    def _meta_extra(self, **extra) -> None:
        keep = {k: v for k, v in self.extractor.to_dict().items()
                if isinstance(v, (int, float, str, bool)) or v is None}
        self.preprocessing = {"extractor": keep, "chunk_samples": self.chunk_samples,
                              "hop_s": self.hop_s, "offset_s": self.offset_s, **extra}


class SSLAudioBackbone(AudioBackbone):
    """Wav2Vec 2.0, WavLM, HuBERT: 20 s chunks; the step and receptive field of the conv feature
    encoder (hence each output's time) are computed from the config's kernels and strides."""

    def __init__(self, spec, source, layer, pooling, chunk_s: float = 20.0):
        super().__init__(spec, source, layer, pooling)
        self.model = self._load(spec, source, pooling)
        cfg = self.model.config
        receptive, step = 1, 1
        for kernel, stride in zip(cfg.conv_kernel, cfg.conv_stride, strict=True):
            receptive += (kernel - 1) * step
            step *= stride
        self.chunk_samples = int(chunk_s * self.sample_rate)
        self.min_samples = receptive
        self.hop_s = step / self.sample_rate
        self.offset_s = receptive / 2 / self.sample_rate
        self._meta_extra()
        self.to("cpu")


class WhisperBackbone(AudioBackbone):
    """The Whisper encoder on its fixed windows (30 s for the released models): log-mel at
    `hop_length`, then a stride-2 conv, so one output step per 2 hops."""

    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        full = self._load(spec, source, pooling)
        self.model = full.get_encoder()
        self.chunk_samples = int(self.extractor.n_samples)
        self.hop_s = 2 * self.extractor.hop_length / self.sample_rate
        self.offset_s = 0.0  # mel frames are centred (STFT center=True): step j sits at 2j hops
        self._meta_extra()
        self.to("cpu")

    @property
    def model_id(self) -> str:
        return "transformers:WhisperModel.encoder"

    @property
    def dim(self) -> int:
        return int(self.model.config.d_model)

    def encode(self, inputs: dict) -> torch.Tensor:
        out = self.model(inputs["input_features"], output_hidden_states=self.layer != "last")
        return select_hidden(out, self.layer)  # (B, T, D)


class ASTBackbone(AudioBackbone):
    """Audio Spectrogram Transformer: patch tokens averaged over frequency give one step per
    `time_stride` fbank frames (100 ms for the released model) over `max_length`-frame windows."""

    # Kaldi fbank framing used by ASTFeatureExtractor (torchaudio.compliance.kaldi defaults)
    FRAME_SHIFT_S = 0.010
    FRAME_LENGTH_S = 0.025

    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        self.model = self._load(spec, source, pooling)
        cfg = self.model.config
        self.freq_tokens = (cfg.num_mel_bins - cfg.patch_size) // cfg.frequency_stride + 1
        self.time_tokens = (cfg.max_length - cfg.patch_size) // cfg.time_stride + 1
        self.chunk_samples = int(round(self.extractor.max_length * self.FRAME_SHIFT_S
                                       * self.sample_rate))
        self.min_samples = int(round(self.FRAME_LENGTH_S * self.sample_rate))
        self.hop_s = cfg.time_stride * self.FRAME_SHIFT_S
        self.offset_s = (cfg.patch_size - 1) / 2 * self.FRAME_SHIFT_S + self.FRAME_LENGTH_S / 2
        self._meta_extra()
        self.to("cpu")

    def encode(self, inputs: dict) -> torch.Tensor:
        tokens = super().encode(inputs)[:, 2:]  # drop the CLS and distillation tokens
        b, _, d = tokens.shape
        # patches are laid out frequency-major: (B, F*T, D) -> (B, F, T, D), mean over F
        return tokens.reshape(b, self.freq_tokens, self.time_tokens, d).mean(1)


class LogMelBackbone(AudioBackbone):
    """VGGish's log-mel front end in NumPy: 25 ms periodic-Hann frames every 10 ms, |rfft| of
    the next power of two, 64 HTK-mel bands over 125-7500 Hz, log(mel + 0.01). The numbers are
    VGGish's `vggish_params.py` (tensorflow/models, research/audioset/vggish)."""

    SAMPLE_RATE = 16000
    WINDOW_S, HOP_S = 0.025, 0.010
    MEL_BANDS, MEL_MIN_HZ, MEL_MAX_HZ, LOG_OFFSET = 64, 125.0, 7500.0, 0.01

    def __init__(self, spec, source, layer, pooling):
        super().__init__(spec, source, layer, pooling)
        check_pooling(self.name, pooling, ("mean",))
        if parse_layer(self.layer)[0] != "last":
            raise AbawError(f"--layer: found {layer!r} for logmel, expected last (one layer)")
        self.sample_rate = self.SAMPLE_RATE
        self.window = int(round(self.WINDOW_S * self.sample_rate))
        self.step = int(round(self.HOP_S * self.sample_rate))
        self.n_fft = 2 ** int(np.ceil(np.log2(self.window)))
        self.hop_s = self.step / self.sample_rate
        self.offset_s = self.window / 2 / self.sample_rate
        self.mel = mel_matrix(self.n_fft // 2 + 1, self.sample_rate, self.MEL_BANDS,
                              self.MEL_MIN_HZ, self.MEL_MAX_HZ)
        self.preprocessing = {"sample_rate": self.sample_rate, "window": self.window,
                              "hop": self.step, "n_fft": self.n_fft, "mel_bands": self.MEL_BANDS,
                              "mel_hz": [self.MEL_MIN_HZ, self.MEL_MAX_HZ],
                              "log_offset": self.LOG_OFFSET}

    @property
    def model_id(self) -> str:
        return "numpy:vggish-logmel"

    @property
    def dim(self) -> int:
        return self.MEL_BANDS

    def features(self, wave: np.ndarray, batch_size: int = 0):
        wave = np.asarray(wave, dtype=np.float64)
        n = 0 if len(wave) < self.window else 1 + (len(wave) - self.window) // self.step
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.window) / self.window)  # periodic
        feats = np.zeros((n, self.MEL_BANDS), np.float32)
        for s in range(0, n, 4096):  # blocks keep memory flat on long videos
            idx = np.arange(s, min(n, s + 4096))[:, None] * self.step + np.arange(self.window)
            spec = np.abs(np.fft.rfft(wave[idx] * hann, n=self.n_fft))  # (b, n_fft/2+1)
            feats[s:s + len(idx)] = np.log(spec @ self.mel + self.LOG_OFFSET)
        return self.offset_s + self.hop_s * np.arange(n), feats


def hz_to_mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)  # HTK


def mel_matrix(n_bins: int, sample_rate: int, bands: int, low_hz: float, high_hz: float):
    """(n_bins, bands) triangular weights on the mel scale; the DC bin gets no weight."""
    bin_mel = hz_to_mel(np.linspace(0.0, sample_rate / 2, n_bins))
    edges = np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), bands + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return weights
