"""The engine components the seed recipes brought: polar VA, the prediction horizon, the task
discriminator, the binary focal loss, attention-statistics pooling, patch tokens, frame skipping
and the compound curriculum. Each is checked against an independent computation."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from abaw.models import AffectModel, create_model
from abaw.models import losses as L
from abaw.models.fusion_tokens import split_tokens
from abaw.models.model import polar_to_va

torch.set_num_threads(1)


def test_polar_outputs_are_radius_and_direction_turned_into_valence_and_arousal():
    raw = torch.tensor([[[0.3, -2.0, 1.0, 9.0], [-1.0, 0.5, -0.5, 7.0]]])   # (1, 2, 4)
    got = polar_to_va(raw, 0)
    assert got.shape == (1, 2, 3)
    for t in range(2):
        rho, dx, dy = raw[0, t, :3].tolist()
        r = math.sqrt(2) / (1 + math.exp(-rho))
        assert got[0, t, 0].item() == pytest.approx(r * dx / math.hypot(dx, dy), abs=1e-6)
        assert got[0, t, 1].item() == pytest.approx(r * dy / math.hypot(dx, dy), abs=1e-6)
        assert got[0, t, 2].item() == raw[0, t, 3].item()                 # other columns kept
    # the VA block of a multi-task layout (MTL: its first two columns) is the one converted
    moved = polar_to_va(torch.tensor([[[5.0, 0.1, 3.0, 4.0, 0.3]]]), 1)
    assert moved.shape == (1, 1, 4)
    assert moved[0, 0, 0].item() == 5.0 and moved[0, 0, 3].item() == pytest.approx(0.3)


def _fit_va(polar):
    """A small model fitted to VA targets in all four quadrants: (outputs, targets)."""
    torch.manual_seed(0)
    x = torch.randn(64, 8, 16)
    target = torch.tanh(x[..., :2] @ torch.tensor([[1.5, 0.5], [-0.5, 1.5]]))
    m = AffectModel([16], 2, head="mlp", head_options={"hidden": 32, "dropout": 0.0}, polar=polar)
    mask = torch.ones(64, 8, dtype=torch.bool)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    for _ in range(300):
        loss = ((m(x, mask)["outputs"] - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m(x, mask)["outputs"].detach(), target


def test_polar_model_learns_both_sides_of_the_circumplex():
    """Polar outputs start pointing at positive valence and must still learn negative valence
    as well as plain outputs do (an angle output did not: the loss has no slope towards a target
    behind it, so it shrank the radius instead; mean error 1.7 times the plain model's)."""
    out, target = _fit_va(polar=0)
    plain, _ = _fit_va(polar=None)
    negative = target[..., 0] < -0.3
    assert out[..., 0][negative].mean() < 0.85 * target[..., 0][negative].mean()
    assert ((out - target) ** 2).mean() < 1.2 * ((plain - target) ** 2).mean()


def test_polar_model_starts_near_the_centre_and_stays_inside_the_reachable_disc():
    torch.manual_seed(0)
    m = AffectModel([6], 2, head="mlp", head_options={"hidden": 8}, polar=0).eval()
    out = m(torch.randn(4, 5, 6) * 3, torch.ones(4, 5, dtype=torch.bool))["outputs"]
    r = out.norm(dim=-1)
    assert (r <= math.sqrt(2) + 1e-6).all() and r.mean() < 0.6


def _gru(horizon):
    torch.manual_seed(0)
    return AffectModel([4], 2, head="gru", head_options={"hidden": 8, "causal": True},
                       horizon=horizon).eval()


def test_horizon_predicts_frame_t_from_frames_up_to_t_minus_horizon():
    m, h, t = _gru(3), 3, 6
    x = torch.randn(1, 12, 4)
    mask = torch.ones(1, 12, dtype=torch.bool)
    ref = m(x, mask)["outputs"]
    later = x.clone()
    later[:, t - h + 1:] = torch.randn_like(later[:, t - h + 1:]) * 5      # frames after t - h
    assert torch.allclose(m(later, mask)["outputs"][:, : t + 1], ref[:, : t + 1], atol=1e-6)
    earlier = x.clone()
    earlier[:, t - h] = torch.randn(4) * 5                                 # frame t - h itself
    assert not torch.allclose(m(earlier, mask)["outputs"][:, t], ref[:, t], atol=1e-4)


def test_task_discriminator_learns_which_tasks_are_annotated():
    from abaw.core.layout import layout
    from abaw.train.blocks import LabelStats
    from abaw.train.config import LossConfig
    from abaw.train.objectives import objective

    lay = layout("MTL", 4)
    stats = LabelStats(np.zeros((4, lay.label_width), np.float32), np.ones((4, 3), bool))
    obj = objective(lay, LossConfig(task_discriminator=0.5), stats)
    term = next(t for t in obj.terms if t.name == "tasks")
    torch.manual_seed(0)
    m = AffectModel([5], lay.width, head="mlp", head_options={"hidden": 8}, tasks=3)
    out = m(torch.randn(2, 1, 5), torch.ones(2, 1, dtype=torch.bool))
    assert out["tasks"].shape == (2, 1, 3)
    label_mask = torch.tensor([[[True, False, True]], [[False, False, True]]])
    batch = {"mask": torch.ones(2, 1, dtype=torch.bool), "labels": torch.zeros(2, 1, 16),
             "label_mask": label_mask}
    _, logs = obj(out, batch)
    ref = F.binary_cross_entropy_with_logits(out["tasks"].reshape(2, 3),
                                             label_mask.reshape(2, 3).float())
    assert term.weight == 0.5 and logs["tasks"][0].item() == pytest.approx(ref.item(), rel=1e-5)


def test_binary_focal_matches_its_formula_and_is_bce_at_gamma_zero():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(6, 4, generator=g), (torch.rand(6, 4, generator=g) > 0.5).float()
    mask = torch.tensor([True, True, False, True, True, True])
    pw = torch.tensor([1.0, 2.0, 3.0, 0.5])
    p = 1 / (1 + np.exp(-pred.numpy()))
    y = target.numpy()
    ce = -(pw.numpy() * y * np.log(p) + (1 - y) * np.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    ref = (((1 - p_t) ** 2 * ce).mean(1))[mask.numpy()].mean()
    assert L.binary_focal(pred, target, mask, 2.0, pw).item() == pytest.approx(ref, rel=1e-5)
    assert L.binary_focal(pred, target, mask, 0.0, pw).item() == pytest.approx(
        L.binary_cross_entropy(pred, target, mask, pw).item(), rel=1e-6)


def test_attention_statistics_pooling_weights_present_neighbours_only():
    torch.manual_seed(0)
    pool = create_model("attn_stats", in_dim=3, out_dim=3, context=2, hidden=4).eval()
    x = torch.randn(1, 9, 3)
    x[0, 4] = 0.0                                  # an absent frame inside the window
    x[0, 7:] = 0.0
    mask = torch.ones(1, 9, dtype=torch.bool)
    got = pool(x, mask)
    with torch.no_grad():                          # frame 3: neighbours 1..5, frame 4 absent
        nb = [1, 2, 3, 5]
        s = torch.stack([pool.score(x[0, i]) for i in nb]).squeeze(-1)
        a = torch.softmax(s, 0)
        mu = sum(a[k] * x[0, i] for k, i in enumerate(nb))
        sd = torch.sqrt(sum(a[k] * x[0, i] ** 2 for k, i in enumerate(nb)) - mu ** 2)
        ref = pool.out(torch.cat([mu, sd]))
    assert torch.allclose(got[0, 3], ref, atol=1e-5)
    silent = torch.zeros(1, 9, 3)
    silent[0, 0] = 1.0
    out = pool(silent, mask)                       # no voice within +-2 frames of frame 5..8
    assert (out[0, 3:] == 0).all() and out[0, :3].abs().sum() > 0


def test_tokens_split_by_the_store_order():
    cells = torch.arange(12.0).view(1, 1, 12)
    tok = split_tokens(cells, {"count": 3, "order": "token"})
    assert tok[0, 0, 1].tolist() == [4.0, 5.0, 6.0, 7.0]                  # token-major rows
    chan = split_tokens(cells, {"count": 3, "order": "channel"})           # (C=4, G=3) rows
    assert chan[0, 0, 1].tolist() == [1.0, 4.0, 7.0, 10.0]


def test_patch_pooling_keeps_cls_then_the_grid_cells():
    from abaw.features.visual import PATCH_GRID, patch_tokens

    tokens = torch.randn(2, 1 + 16, 3)                                     # CLS + a 4x4 grid
    got = patch_tokens(tokens).view(2, 1 + PATCH_GRID ** 2, 3)
    grid = tokens[:, 1:].view(2, 4, 4, 3)
    assert torch.allclose(got[:, 0], tokens[:, 0])
    assert torch.allclose(got[:, 1], grid[:, :2, :2].mean((1, 2)), atol=1e-6)   # top left
    assert torch.allclose(got[:, 4], grid[:, 2:, 2:].mean((1, 2)), atol=1e-6)   # bottom right


def test_hga_reads_a_channel_major_grid_like_the_same_tokens_in_token_order():
    torch.manual_seed(0)
    token = create_model("hga", in_dims=[8, 3], out_dim=8,
                         in_tokens=[{"count": 4, "order": "token", "global": False}, None]).eval()
    torch.manual_seed(0)
    channel = create_model("hga", in_dims=[8, 3], out_dim=8,
                           in_tokens=[{"count": 4, "order": "channel", "global": False}, None]).eval()
    v = torch.randn(1, 5, 4, 2)                                            # (B, T, tokens, C)
    a, mask = torch.randn(1, 5, 3), torch.ones(1, 5, dtype=torch.bool)
    out_t = token([v.reshape(1, 5, 8), a], mask)
    out_c = channel([v.transpose(2, 3).reshape(1, 5, 8), a], mask)
    assert torch.allclose(out_t, out_c, atol=1e-5)


def test_hga_knows_where_each_grid_cell_is():
    """A CNN grid's cells carry no position: the same cells in another layout are another face
    (mean pooling and attention over a bag of cells would not tell them apart)."""
    torch.manual_seed(0)
    model = create_model("hga", in_dims=[8, 3], out_dim=8,
                         in_tokens=[{"count": 4, "order": "token", "global": False}, None]).eval()
    v = torch.randn(1, 5, 4, 2)
    a, mask = torch.randn(1, 5, 3), torch.ones(1, 5, dtype=torch.bool)
    swapped = v[:, :, [1, 0, 2, 3]]
    out = model([v.reshape(1, 5, 8), a], mask)
    assert not torch.allclose(out, model([swapped.reshape(1, 5, 8), a], mask), atol=1e-4)


def test_frame_skip_reads_every_kth_frame_and_prediction_every_frame():
    from abaw.train.windows import VideoData, WindowSet

    n = 40
    feats = np.arange(n, dtype=np.float16)[:, None].repeat(2, 1)
    vd = VideoData("v", np.arange(1, n + 1), [feats], [np.arange(n)], [0], np.ones(n, bool),
                   np.arange(n, dtype=np.float32)[:, None], np.ones((n, 1), bool))
    ws = WindowSet([vd], 8, 4, labelled_only=True, skip=3, seed=1)
    steps = set()
    for epoch in range(6):
        ws.epoch = epoch
        b = ws.batch([2])
        k = ws.step(2)
        start = int(ws.index[2, 1])
        frames = np.arange(start, n, k)[:8]
        steps.add(k)
        assert b["x"][0][0, :len(frames), 0].tolist() == frames.tolist()
        assert b["labels"][0, :len(frames), 0].tolist() == frames.tolist()
        assert not b["mask"][0, len(frames):].any()
    assert steps <= {1, 2, 3} and len(steps) > 1
    plain = WindowSet([vd], 8, 4)
    assert plain.batch([2])["x"][0][0, :, 0].tolist() == list(range(8, 16))


def test_compound_curriculum_mixes_after_its_start_and_learns_both_labels():
    from abaw.train import curriculum
    from abaw.train.config import Config

    cfg = Config()
    cfg.curriculum.kind, cfg.curriculum.start, cfg.curriculum.share = "compound", 0.5, 0.5
    cfg.optim.epochs = 10
    assert not any(curriculum.mixes(cfg, e, s) for e in range(5) for s in range(50))
    share = np.mean([curriculum.mixes(cfg, e, s) for e in range(5, 10) for s in range(200)])
    assert 0.4 < share < 0.6
    x = torch.tensor([[[1.0]], [[3.0]], [[5.0]]])                            # 3 windows, T=1
    batch = {"x": [x], "mask": torch.tensor([[True], [True], [False]]),
             "labels": torch.tensor([[[0.0]], [[1.0]], [[2.0]]]),
             "label_mask": torch.ones(3, 1, 1, dtype=torch.bool)}
    own, other = curriculum.mixed_pair(batch)
    assert own["x"][0].flatten().tolist() == [2.0, 4.0, 3.0]               # with the next window
    assert other["labels"].flatten().tolist() == [1.0, 2.0, 0.0]
    assert own["mask"].flatten().tolist() == [True, False, False]          # both windows real
    calls = []

    def objective(out, b):
        calls.append(b["labels"].flatten().tolist())
        v = b["labels"].sum()
        return v, {"t": (v, torch.tensor(1))}

    loss, logs = curriculum.mixed_loss(objective, {}, (own, other))
    assert loss.item() == pytest.approx(3.0) and logs["t"][1].item() == 2
    assert calls == [[0.0, 1.0, 2.0], [1.0, 2.0, 0.0]]
