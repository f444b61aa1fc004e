"""Every loss against a small case computed by hand (math module, not the code under test)."""

import math

import numpy as np
import pytest
import torch

from abaw import metrics
from abaw.models import losses as L

torch.set_num_threads(1)
ALL = torch.ones(3, dtype=torch.bool)


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def close(a, b, tol=1e-5):
    a = a.detach() if torch.is_tensor(a) else a
    return abs(float(a) - float(b)) < tol


LOGITS = t([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]])
TARGET = t([[0], [2], [-1]])                    # third frame: sentinel, masked
MASK = torch.tensor([True, True, False])
CE0 = -math.log(math.exp(2) / (math.exp(2) + 2))
CE1 = -math.log(1 / (2 + math.e))


def test_cross_entropy_plain_and_class_weighted():
    assert close(L.cross_entropy(LOGITS, TARGET, MASK), (CE0 + CE1) / 2)
    w = t([1.0, 2.0, 3.0])
    assert close(L.cross_entropy(LOGITS, TARGET, MASK, class_weight=w), (1 * CE0 + 3 * CE1) / 4)
    # the same convention as torch's weighted mean
    ref = torch.nn.functional.cross_entropy(LOGITS[:2], torch.tensor([0, 2]), weight=w)
    assert close(L.cross_entropy(LOGITS, TARGET, MASK, class_weight=w), ref)


def test_one_hot_squared_error():
    # frame 0: scores (2, 0, 0) vs (1, 0, 0); frame 1: (0, 1, 0) vs (0, 0, 1); frame 2 masked
    e0, e1 = (1 + 0 + 0) / 3, (0 + 1 + 1) / 3
    assert close(L.one_hot_squared_error(LOGITS, TARGET, MASK), (e0 + e1) / 2)
    w = t([1.0, 2.0, 3.0])
    assert close(L.one_hot_squared_error(LOGITS, TARGET, MASK, class_weight=w),
                 (1 * e0 + 3 * e1) / 4)


def test_focal():
    p0, p1 = math.exp(2) / (math.exp(2) + 2), 1 / (2 + math.e)
    fl = [-(1 - p0) ** 2 * math.log(p0), -(1 - p1) ** 2 * math.log(p1)]
    assert close(L.focal(LOGITS, TARGET, MASK, gamma=2.0), sum(fl) / 2)
    assert close(L.focal(LOGITS, TARGET, MASK, gamma=0.0), (CE0 + CE1) / 2)


def test_bce_with_pos_weight():
    pred, target = t([[0.0, 2.0]]), t([[1.0, 0.0]])
    one = torch.ones(1, dtype=torch.bool)
    want = (3 * math.log(2) + math.log(1 + math.exp(2))) / 2
    assert close(L.binary_cross_entropy(pred, target, one, pos_weight=t([3.0, 1.0])), want)
    # an AU frame with a sentinel is masked as a whole
    pred2 = torch.cat([pred, t([[9.0, 9.0]])])
    target2 = torch.cat([target, t([[-1.0, 1.0]])])
    assert close(L.binary_cross_entropy(pred2, target2, torch.tensor([True, False]),
                                        pos_weight=t([3.0, 1.0])), want)


def test_ccc_loss_matches_hand_value_and_the_official_metric():
    pred = t([[1.0], [2.0], [3.0], [0.0]])
    target = t([[2.0], [4.0], [6.0], [-5.0]])
    mask = torch.tensor([True, True, True, False])
    # mx=2, my=4, vx=2/3, vy=8/3, cov=4/3 -> CCC = (8/3) / (2/3 + 8/3 + 4) = 4/11
    assert close(L.ccc_loss(pred, target, mask), 1 - 4 / 11)
    rng = np.random.default_rng(0)
    p, y = rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) * 0.5 + 0.2
    got = L.ccc(t(p), t(y), torch.ones(50, dtype=torch.bool))
    assert close(got[0], metrics.ccc(p[:, 0], y[:, 0])) and close(got[1], metrics.ccc(p[:, 1], y[:, 1]))
    # differentiable: the gradient moves predictions towards the target
    x = t([[1.0], [2.0], [3.0]]).requires_grad_()
    L.ccc_loss(x, t([[2.0], [4.0], [6.0]]), ALL).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_mse():
    assert close(L.mse(t([[1.0, 0.0], [5.0, 5.0]]), t([[0.0, 2.0], [0.0, 0.0]]),
                       torch.tensor([True, False])), (1 + 4) / 2)


def test_va_grid_soft_labels():
    sigma = 0.5
    q = L.va_grid_soft_labels(t([[0.0, 0.0]]), sigma)[0]
    e = [math.exp(-d / (2 * sigma ** 2)) for d in (0, 4 / 9, 8 / 9)]
    z = e[0] + 4 * e[1] + 4 * e[2]
    assert close(q[4], e[0] / z) and close(q[1], e[1] / z) and close(q[0], e[2] / z)
    assert close(q.sum(), 1.0)
    # row-major, valence first: high valence, low arousal is region 3 * 2 + 0
    assert int(L.va_grid_soft_labels(t([[0.7, -0.7]]), 0.3)[0].argmax()) == 6
    assert torch.allclose(L.smooth_one_hot(torch.tensor([1]), 4, 0.2), t([[0.05, 0.85, 0.05, 0.05]]))


def test_soft_cross_entropy():
    pred, q = t([[0.0, 0.0]]), t([[0.3, 0.7]])
    assert close(L.soft_cross_entropy(pred, q, torch.ones(1, dtype=torch.bool)), math.log(2))


def test_distillation():
    one = torch.ones(1, dtype=torch.bool)
    # T = 1: KL(teacher || uniform student)
    want = 0.8 * math.log(0.8 / 0.5) + 0.2 * math.log(0.2 / 0.5)
    assert close(L.distill_classes(t([[0.0, 0.0]]), t([[0.8, 0.2]]), one, temperature=1.0), want)
    # T = 2: teacher sharpened by sqrt, times T^2
    a, b = math.sqrt(0.8), math.sqrt(0.2)
    pa, pb = a / (a + b), b / (a + b)
    want2 = 4 * (pa * math.log(pa / 0.5) + pb * math.log(pb / 0.5))
    assert close(L.distill_classes(t([[0.0, 0.0]]), t([[0.8, 0.2]]), one, temperature=2.0), want2)
    assert close(L.distill_binary(t([[0.0]]), t([[0.7]]), one), math.log(2))
    assert close(L.distill_values(t([[0.5, 0.0]]), t([[0.0, 0.0]]), one), 0.125)


def test_prompt_contrastive_and_grid():
    one = torch.ones(1, dtype=torch.bool)
    prompts = t([[2.0, 0.0], [0.0, 3.0]])            # normalised inside
    got = L.prompt_contrastive(t([[1.0, 0.0]]), t([[0]]), one, prompts, temperature=0.5)
    assert close(got, math.log(1 + math.exp(-2)))
    eye = torch.eye(9)
    emb = eye[4:5] * 5                               # points at the centre region's prompt
    logits = [1 / 0.1 if r == 4 else 0.0 for r in range(9)]
    lse = math.log(sum(math.exp(v) for v in logits))
    q = L.va_grid_soft_labels(t([[0.1, -0.2]]), 0.4)[0].tolist()
    want = -sum(qi * (li - lse) for qi, li in zip(q, logits, strict=True))
    assert close(L.prompt_grid(emb, t([[0.1, -0.2]]), one, eye, temperature=0.1, sigma=0.4), want, 1e-4)


def test_vnaw_weights_and_loss():
    logits = torch.log(t([[0.6, 0.3, 0.1], [0.6, 0.3, 0.1]]))
    target = t([[0], [1]])
    w = L.naw_weights(logits, target, progress=0.0)
    right = math.exp(-0.5 * (0.1 ** 2 + 0.2 ** 2) / 0.75)        # diagonal covariance at start
    det = 0.85 ** 2 - 0.8 ** 2
    wrong = math.exp(-0.5 * (0.45 ** 2 * 0.85 / det))            # s = (0.3, 0.6), centre (0.3, 0.15)
    assert close(w[0], right) and close(w[1], wrong)
    loss = L.VNAWLoss(lam=0.5)
    loss.progress = 0.0
    ce = [-math.log(0.6), -math.log(0.3)]
    want = 0.5 * sum(ce) / 2 + 0.5 * (ce[0] * right + ce[1] * wrong) / 2
    assert close(loss(logits, target, torch.ones(2, dtype=torch.bool)), want)


def test_objective_sums_terms_logs_each_and_skips_a_task_without_labels():
    out = {"outputs": torch.zeros(1, 2, 3, requires_grad=True)}
    batch = {"mask": torch.ones(1, 2, dtype=torch.bool),
             "labels": t([[[0.5, 1.0, float("nan")], [0.5, 0.0, float("nan")]]]),
             "label_mask": torch.tensor([[[True, False], [True, False]]])}
    terms = [L.Term("A_mse", L.mse, cols=(0, 1), target_cols=(0, 1), mask_col=0, weight=2.0),
             L.Term("B_bce", L.binary_cross_entropy, cols=(1, 3), target_cols=(1, 3), mask_col=1)]
    total, logs = L.Objective(terms)(out, batch)
    assert close(total, 2 * 0.25)
    assert close(logs["A_mse"][1], 2) and close(logs["B_bce"][1], 0)
    total.backward()
    assert torch.isfinite(out["outputs"].grad).all()          # NaN targets never reach the gradient
    with pytest.raises(ValueError):
        L.Objective(terms + terms[:1])
