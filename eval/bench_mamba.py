"""Mamba's plain-PyTorch selective scan, forward + backward, against the textbook loop that
indexes each frame (`dA[:, t]`), measured in the same run on the same inputs, each the best of
--repeats. The textbook loop's backward builds a full-size zero tensor per frame, so its cost
grows with the square of the window. Target: the shipped scan >= 5x faster at the recipes' size
(batch 32, 128 frames, width 256 expanded to 512, state 16). Exit status 1 on a miss.

    python eval/bench_mamba.py
    python eval/bench_mamba.py --frames 256 --device cuda
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abaw.models.mamba import selective_scan  # noqa: E402

TARGET = 5.0


def textbook_scan(u, dt, A, B, C, D):
    dA = torch.exp(dt.unsqueeze(-1) * A)
    dBu = (dt * u).unsqueeze(-1) * B.unsqueeze(2)
    h = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])
    ys = []
    for t in range(u.shape[1]):
        h = dA[:, t] * h + dBu[:, t]
        ys.append((h * C[:, t].unsqueeze(1)).sum(-1))
    return torch.stack(ys, dim=1) + u * D


def best_seconds(scan, args, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        leaves = [a.detach().requires_grad_() for a in args]
        t0 = time.perf_counter()
        scan(*leaves).square().mean().backward()
        if leaves[0].is_cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--inner", type=int, default=512)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    b, t, e, n = a.batch, a.frames, a.inner, a.state
    args = [torch.randn(b, t, e, generator=g), torch.rand(b, t, e, generator=g) * 0.1,
            -torch.rand(e, n, generator=g) - 0.5, torch.randn(b, t, n, generator=g),
            torch.randn(b, t, n, generator=g), torch.ones(e)]
    args = [x.to(a.device) for x in args]
    shipped = best_seconds(selective_scan, args, a.repeats)
    reference = best_seconds(textbook_scan, args, a.repeats)
    ratio = reference / shipped
    print(f"batch {b}, {t} frames, width {e}, state {n}, {a.device}: forward + backward "
          f"{shipped:.2f} s shipped, {reference:.2f} s textbook loop: {ratio:.1f}x "
          f"(target >= {TARGET:.0f}x)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
