"""One code path for one CPU process and for `torchrun --nproc_per_node=N` (DDP).

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; then the process group starts with NCCL on GPUs and
gloo on CPUs. Training shards batches (each rank its slice of every global batch, gradients
all-reduced); validation shards videos and gathers every rank's raw per-frame outputs before the
official metric is computed once over all of them (a metric such as CCC or F1 is not an average
of per-rank or per-batch scores). Rank 0 writes; the others wait at a barrier.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from abaw.errors import AbawError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto", deterministic: bool = True) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if deterministic:   # must be set before the first cuBLAS call
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if device == "auto":
        dev = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise AbawError(f"run.device: found {device!r}, expected auto, cpu, cuda or cuda:N") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise AbawError(f"run.device: found {device!r}, but no CUDA device is available")
        if dev.type == "cuda" and world > 1 and dev.index is None:
            dev = torch.device(f"cuda:{local}")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, local, dev)


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def broadcast_floats(d: Dist, values: list[float]) -> list[float]:
    """Rank 0's values, on every rank."""
    if d.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    if d.device.type == "cuda":
        t = t.to(d.device)
    dist.broadcast(t, 0)
    return t.cpu().tolist()


def share(sizes: list[int], rank: int, world: int) -> list[int]:
    """Indices of the items this rank takes: largest first, each to the least-loaded rank, so
    every rank gets about the same total size. Deterministic: every rank computes the same."""
    load, mine = [0] * world, []
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        r = min(range(world), key=lambda r: (load[r], r))
        load[r] += sizes[i]
        if r == rank:
            mine.append(i)
    return sorted(mine)


def gather_objects(d: Dist, obj) -> list:
    """Every rank's `obj` (picklable), in rank order, on every rank."""
    if d.world == 1:
        return [obj]
    out: list = [None] * d.world
    dist.all_gather_object(out, obj)
    return out
