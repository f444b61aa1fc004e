"""Two class-score adjustments tuned on validation, after the smoothing (classes only).

- Generalised logit adjustment (GLA; Zhu et al., NeurIPS 2023): a model's class scores carry the
  label prior it was trained with (and a pre-trained backbone's own), which favours frequent
  classes under a macro-F1 metric. The prior is estimated from the model's own mean prediction
  pi over the tuned set, and the decision becomes argmax(log p - tau log pi); tau (one number,
  not one offset per class) is chosen on validation, so it overfits a small validation set less
  than a free per-class bias. The result is a class bias like any other (`PostParams.bias`).
- Confidence gating: smoothing helps uncertain frames and blurs confident transitions. A frame
  whose raw top probability reaches the gate keeps its raw scores; the others take the smoothed
  ones. The gate is chosen on validation among `GATES` (1.01 = always smoothed, no gating).
"""

from __future__ import annotations

import numpy as np

from abaw.post import objectives as ob

TAUS = np.round(np.arange(0, 21) / 10, 1)          # 0 (no adjustment) .. 2
GATES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def prior(probs) -> np.ndarray:
    """(C,) the mean predicted distribution of (N, C) probabilities, floored above 0."""
    p = np.asarray(probs, np.float64).mean(axis=0)
    p = np.maximum(p, 1e-6)
    return p / p.sum()


def gla_bias(pi, tau: float) -> np.ndarray:
    """The class bias (added to log-probabilities) of logit adjustment by `tau`."""
    return -float(tau) * np.log(np.asarray(pi, np.float64))


def tune_gla(scored, labels, pi, track: str, edition: int, zero_division: float = 0.0,
             taus=TAUS) -> tuple[float, float]:
    """(tau, value): the adjustment strength that maximises the class score of `scored` (C, M)
    probabilities at the labelled rows; ties keep the smaller tau."""
    logp = np.log(np.maximum(np.asarray(scored, np.float64), 1e-12))       # (C, M)
    best, best_tau = -np.inf, 0.0
    for tau in taus:
        pred = np.argmax(logp + gla_bias(pi, tau)[:, None], axis=0)
        v = ob.class_value(pred, labels, track, edition, logp.shape[0], zero_division)
        if v > best + 1e-12:
            best, best_tau = v, float(tau)
    return best_tau, float(best)


def gate(raw, smoothed, threshold: float) -> np.ndarray:
    """Rows (..., C) whose raw top probability is >= threshold keep `raw`, the others `smoothed`."""
    raw, smoothed = np.asarray(raw), np.asarray(smoothed)
    keep = raw.max(axis=-1, keepdims=True) >= threshold
    return np.where(keep, raw, smoothed).astype(smoothed.dtype, copy=False)


def tune_gate(raw, smoothed, labels, track: str, edition: int, zero_division: float = 0.0,
              gates=GATES) -> tuple[float, float]:
    """(gate, value) over `gates` for (C, M) raw and smoothed probabilities at the labelled rows;
    ties keep the larger gate (the plain smoothing)."""
    best, best_gate = -np.inf, max(gates)
    for g in sorted(gates, reverse=True):
        pred = np.argmax(gate(raw.T, smoothed.T, g), axis=1)
        v = ob.class_value(pred, labels, track, edition, raw.shape[0], zero_division)
        if v > best + 1e-12:
            best, best_gate = v, float(g)
    return best_gate, float(best)
