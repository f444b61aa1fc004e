"""Every registered head and fusion module, in one loop: shape, masking, causality, gradients, T=1."""

import pytest
import torch

from abaw.errors import AbawError
from abaw.models import AffectModel, create_model, list_models
from abaw.models.registry import model_class

torch.set_num_threads(1)
D = [6, 5, 4]
OUT, HID = 3, 8


def _streams(name):
    if name == "trimodal_six_path":
        return 3
    return 2


# fusions that read several tokens per frame: the first stream (6 values) as 3 tokens of 2
TOKENS = {"hga": {"in_tokens": [{"count": 3, "order": "token", "global": True}, None]}}


def single(name):
    """Heads and adapters take one stream."""
    return name in list_models("head") + list_models("adapter")


def build(name, **extra):
    torch.manual_seed(0)
    if name in list_models("head"):
        return create_model(name, in_dim=D[0], out_dim=OUT, hidden=HID, **extra)
    if name in list_models("adapter"):
        return create_model(name, in_dim=D[0], out_dim=OUT, **extra)
    return create_model(name, in_dims=D[: _streams(name)], out_dim=OUT,
                        **{**TOKENS.get(name, {}), **extra})


def run(model, name, xs, mask):
    if single(name):
        return model(xs[0], mask)
    return model(xs[: _streams(name)], mask)


def inputs(b=2, t=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(b, t, d, generator=g) for d in D]
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, 7:] = False       # trailing padding
    mask[0, 3] = False        # a frame with no input inside the window
    return xs, mask


def causal_ok(name):
    cls = model_class(name)
    return getattr(cls, "supports_causal", True) and "causal" in cls.__init__.__code__.co_varnames


ALL = list_models()


@pytest.mark.parametrize("name", ALL)
def test_shape_and_t1(name):
    model = build(name).eval()
    width = getattr(model, "width", OUT)    # a fusion that keeps the streams says how wide
    xs, mask = inputs()
    assert run(model, name, xs, mask).shape == (2, 12, width)
    xs1, m1 = [x[:, :1] for x in xs], torch.ones(2, 1, dtype=torch.bool)
    out = run(model, name, xs1, m1)
    assert out.shape == (2, 1, width) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL)
def test_masked_frames_never_change_real_outputs(name):
    model = build(name).eval()
    xs, mask = inputs()
    ref = run(model, name, xs, mask)
    garbage = [torch.where(mask.unsqueeze(-1), x, torch.full_like(x, float("nan"))) for x in xs]
    garbage[0][0, 3] = 1e4                          # a huge value as well as NaN
    out = run(model, name, garbage, mask)
    assert torch.allclose(out[mask], ref[mask], atol=1e-5), name
    # trailing padding gives what the shorter window gives
    short = run(model, name, [x[1:2, :7] for x in xs], torch.ones(1, 7, dtype=torch.bool))
    assert torch.allclose(ref[1, :7], short[0], atol=1e-5), name


@pytest.mark.parametrize("name", [n for n in ALL if causal_ok(n)])
def test_causal_never_sees_the_future(name):
    model = build(name, causal=True).eval()
    xs, mask = inputs()
    mask[:] = True
    ref = run(model, name, xs, mask)
    t = 5
    later = [x.clone() for x in xs]
    for x in later:
        x[:, t + 1:] = torch.randn_like(x[:, t + 1:]) * 3
    out = run(model, name, later, mask)
    assert torch.allclose(out[:, : t + 1], ref[:, : t + 1], atol=1e-5), name
    assert not torch.allclose(out[:, t + 1:], ref[:, t + 1:], atol=1e-3), name


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_every_parameter(name):
    model = build(name).train()
    xs, mask = inputs()
    xs = [x.requires_grad_() for x in xs]           # concat has no parameters of its own
    out = run(model, name, xs, mask)
    (out[mask] ** 2).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: no gradient for {missing}"


@pytest.mark.parametrize("name", [n for n in list_models("fusion")])
def test_fusion_survives_a_missing_stream(name):
    model = build(name).eval()
    xs, mask = inputs()
    xs[1] = xs[1].clone()
    xs[1][0] = 0.0                                  # no audio at all in window 0
    xs[1][1, :4] = 0.0                              # silence at the start of window 1
    out = run(model, name, xs, mask)
    assert torch.isfinite(out).all()


def test_unknown_names_and_options_list_the_valid_ones():
    with pytest.raises(AbawError, match="expected one of .*gru.*transformer"):
        create_model("lstm", in_dim=4, out_dim=2)
    with pytest.raises(AbawError, match="option 'kernal'.*kernel"):
        create_model("tcn", in_dim=4, out_dim=2, kernal=3)
    with pytest.raises(AbawError, match="expected 2"):
        create_model("bi_cross_attention", in_dims=[4, 4, 4], out_dim=2)


def test_affect_model_normalises_present_rows_only_and_embeds():
    torch.manual_seed(0)
    m = AffectModel([4, 3], 5, head="mlp", head_options={"hidden": 8}, fusion="concat",
                    fusion_dim=8, embed_dim=6).eval()
    m.set_normalization([torch.full((4,), 2.0), torch.zeros(3)], [torch.full((4,), 4.0), torch.ones(3)])
    xs = [torch.full((1, 2, 4), 6.0), torch.ones(1, 2, 3)]
    xs[0][0, 1] = 0.0                                # absent row stays zero, not (0 - 2) / 4
    mask = torch.ones(1, 2, dtype=torch.bool)
    seen = {}
    m.fusion.register_forward_pre_hook(lambda mod, args: seen.update(x=args[0][0].clone()))
    out = m(xs, mask)
    assert out["outputs"].shape == (1, 2, 5) and out["embedding"].shape == (1, 2, 6)
    assert torch.allclose(seen["x"][0, 0], torch.ones(4)) and torch.all(seen["x"][0, 1] == 0)
    late = AffectModel([4, 3], 5, fusion="late")
    assert late(xs, mask)["outputs"].shape == (1, 2, 5)


@pytest.mark.parametrize("name", ALL)
def test_mixed_precision(name):
    """bfloat16 autocast (what training uses on a GPU), checked on the CPU's autocast."""
    model = build(name).train()
    xs, mask = inputs()
    xs = [x.requires_grad_() for x in xs]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = run(model, name, xs, mask)
    assert torch.isfinite(out.float()).all()
    out.float()[mask].sum().backward()


def test_one_layer_mlp_is_a_linear_model_of_the_normalised_features():
    from abaw.models.mlp import MLPHead

    head = MLPHead(5, 3, hidden=8, layers=1).eval()
    assert [type(m).__name__ for m in head.modules() if type(m).__name__ == "Linear"] == ["Linear"]
    x, mask = torch.randn(1, 4, 5), torch.ones(1, 4, dtype=torch.bool)
    a, b = head(x, mask), head(2 * x, mask)   # LayerNorm removes the scale: same scores
    assert torch.allclose(a, b, atol=1e-5)
    assert len([m for m in MLPHead(5, 3, hidden=8, layers=3).modules()
                if isinstance(m, torch.nn.Linear)]) == 3


def test_concat_keeps_each_frame_as_it_is():
    """Concatenation passes every stream through unchanged (no per-frame normalisation that would
    remove a frame's level), zeroes masked frames, and the model builds its head on the joined
    width."""
    model = build("concat").eval()
    xs, mask = inputs()
    xs[0][0, 5] += 10.0                                     # one frame's level raised
    out = run(model, "concat", xs, mask)
    assert torch.equal(out[..., :6][mask], xs[0][mask])
    assert torch.equal(out[..., 6:][mask], xs[1][mask])
    assert (out[~mask] == 0).all()
    m = AffectModel([4, 3], 5, head="mlp", head_options={"hidden": 8}, fusion="concat",
                    fusion_dim=64)
    assert m.head.in_dim == 7
