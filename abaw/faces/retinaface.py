"""RetinaFace with a MobileNet-0.25 backbone (Deng et al., "RetinaFace: Single-stage Dense Face
Localisation in the Wild", CVPR 2020), in torch, batched.

The module names and shapes are those of the widely used public checkpoint
`mobilenet0.25_Final.pth` (its keys carry a `module.` prefix, dropped on load), so that file, or a
`model.safetensors` with the same tensors, loads without unpickling anything
(`torch.load(weights_only=True)` / safetensors). Facts of that model kept here:
- input: BGR pixels minus the mean (104, 117, 123), not scaled; any size;
- backbone: MobileNet-V1 at width 0.25, features at strides 8, 16, 32 (64, 128, 256 channels);
  an FPN to 64 channels, an SSH context module per level, LeakyReLU slope 0.1;
- two anchors per location: sizes (16, 32), (64, 128), (256, 512) px at strides 8, 16, 32;
- box and landmark offsets decoded with variances (0.1, 0.2) as in SSD.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from abaw.errors import AbawError
from abaw.faces.detector import Detector, Faces

MEAN_BGR = (104.0, 117.0, 123.0)
STEPS = (8, 16, 32)
ANCHORS = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)
NMS_IOU = 0.4
MAX_FACES = 50          # per frame, after NMS
LEAKY = 0.1


def _conv_bn(cin, cout, stride=1, k=3, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.LeakyReLU(LEAKY)) if act else nn.Sequential(*layers)


def _conv_dw(cin, cout, stride):
    """Depthwise 3x3 then pointwise 1x1 (indices 0, 1 and 3, 4 hold the weights)."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                         nn.BatchNorm2d(cin), nn.LeakyReLU(LEAKY),
                         nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(LEAKY))


class MobileNetV1x025(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(_conv_bn(3, 8, 2), _conv_dw(8, 16, 1), _conv_dw(16, 32, 2),
                                    _conv_dw(32, 32, 1), _conv_dw(32, 64, 2), _conv_dw(64, 64, 1))
        self.stage2 = nn.Sequential(_conv_dw(64, 128, 2), *[_conv_dw(128, 128, 1) for _ in range(5)])
        self.stage3 = nn.Sequential(_conv_dw(128, 256, 2), _conv_dw(256, 256, 1))

    def forward(self, x):
        c1 = self.stage1(x)      # (B, 64, H/8, W/8)
        c2 = self.stage2(c1)     # (B, 128, H/16, W/16)
        return c1, c2, self.stage3(c2)  # + (B, 256, H/32, W/32)


class FPN(nn.Module):
    def __init__(self, channels=(64, 128, 256), out=64):
        super().__init__()
        self.output1, self.output2, self.output3 = (_conv_bn(c, out, k=1) for c in channels)
        self.merge1, self.merge2 = _conv_bn(out, out), _conv_bn(out, out)

    def forward(self, c1, c2, c3):
        p3 = self.output3(c3)
        p2 = self.merge2(self.output2(c2) + F.interpolate(p3, size=c2.shape[2:], mode="nearest"))
        p1 = self.merge1(self.output1(c1) + F.interpolate(p2, size=c1.shape[2:], mode="nearest"))
        return p1, p2, p3


class SSH(nn.Module):
    """Context module: 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches concatenated."""

    def __init__(self, cin=64, cout=64):
        super().__init__()
        self.conv3X3 = _conv_bn(cin, cout // 2, act=False)
        self.conv5X5_1 = _conv_bn(cin, cout // 4)
        self.conv5X5_2 = _conv_bn(cout // 4, cout // 4, act=False)
        self.conv7X7_2 = _conv_bn(cout // 4, cout // 4)
        self.conv7x7_3 = _conv_bn(cout // 4, cout // 4, act=False)

    def forward(self, x):
        b5 = self.conv5X5_1(x)
        b7 = self.conv7x7_3(self.conv7X7_2(b5))
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(b5), b7], 1))


class Head(nn.Module):
    def __init__(self, values, cin=64, anchors=2):
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(cin, anchors * values, 1)

    def forward(self, x):  # (B, A*V, h, w) -> (B, h*w*A, V): location-major, anchors inner
        return self.conv1x1(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.values)


class RetinaFace(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = MobileNetV1x025()
        self.fpn = FPN()
        self.ssh1, self.ssh2, self.ssh3 = SSH(), SSH(), SSH()
        self.ClassHead = nn.ModuleList(Head(2) for _ in STEPS)
        self.BboxHead = nn.ModuleList(Head(4) for _ in STEPS)
        self.LandmarkHead = nn.ModuleList(Head(10) for _ in STEPS)

    def forward(self, x):
        """x: (B, 3, H, W) BGR minus mean -> (box offsets (B, N, 4), face probability (B, N),
        landmark offsets (B, N, 10)), N anchors in `priors` order."""
        levels = [s(p) for s, p in zip((self.ssh1, self.ssh2, self.ssh3),
                                        self.fpn(*self.body(x)), strict=True)]
        box = torch.cat([h(p) for h, p in zip(self.BboxHead, levels, strict=True)], 1)
        cls = torch.cat([h(p) for h, p in zip(self.ClassHead, levels, strict=True)], 1)
        lm = torch.cat([h(p) for h, p in zip(self.LandmarkHead, levels, strict=True)], 1)
        return box, cls.softmax(-1)[..., 1], lm


def priors(height: int, width: int) -> torch.Tensor:
    """(N, 4) anchors (cx, cy, w, h) in pixels, in the heads' order."""
    out = []
    for step, sizes in zip(STEPS, ANCHORS, strict=True):
        fh, fw = math.ceil(height / step), math.ceil(width / step)
        cy, cx = torch.meshgrid((torch.arange(fh) + 0.5) * step, (torch.arange(fw) + 0.5) * step,
                                indexing="ij")
        for_loc = [torch.stack([cx, cy, torch.full_like(cx, s), torch.full_like(cx, s)], -1)
                   for s in sizes]
        out.append(torch.stack(for_loc, 2).reshape(-1, 4))  # (fh*fw*2, 4)
    return torch.cat(out)


def decode(box, lm, anchors):
    """SSD-style decoding. box (B, N, 4), lm (B, N, 10), anchors (N, 4) px ->
    boxes (B, N, 4) x1y1x2y2 and landmarks (B, N, 5, 2) in pixels."""
    c, s = anchors[:, :2], anchors[:, 2:]
    centre = c + box[..., :2] * VARIANCE[0] * s
    size = s * torch.exp(box[..., 2:] * VARIANCE[1])
    boxes = torch.cat([centre - size / 2, centre + size / 2], -1)
    points = c[:, None] + lm.reshape(*lm.shape[:2], 5, 2) * VARIANCE[0] * s[:, None]
    return boxes, points


class RetinaFaceDetector(Detector):
    name = "retinaface-mnet025"
    landmarks = 5

    def __init__(self, model: RetinaFace, device="cpu", threshold: float = 0.8):
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.threshold = float(threshold)
        self._priors: dict = {}

    @classmethod
    def from_file(cls, path, device="cpu", threshold: float = 0.8) -> RetinaFaceDetector:
        model = RetinaFace()
        model.load_state_dict(load_state(path, model))
        return cls(model, device, threshold)

    @torch.inference_mode()
    def detect(self, frames: np.ndarray) -> list[Faces]:
        import torchvision

        b, h, w = frames.shape[:3]
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).flip(1).float()  # (B, 3, H, W) BGR
        x -= torch.tensor(MEAN_BGR, device=self.device).view(1, 3, 1, 1)
        box, score, lm = self.model(x)
        if (h, w) not in self._priors:
            self._priors[(h, w)] = priors(h, w).to(self.device)
        boxes, points = decode(box.float(), lm.float(), self._priors[(h, w)])
        img, idx = torch.nonzero(score > self.threshold, as_tuple=True)
        keep = torchvision.ops.batched_nms(boxes[img, idx], score[img, idx], img, NMS_IOU)
        img, idx = img[keep], idx[keep]                          # best score first
        # only the kept anchors leave the device
        boxes, points, score = (t[img, idx].cpu().numpy() for t in (boxes, points, score))
        img = img.cpu().numpy()
        out = []
        for i in range(b):
            mine = np.nonzero(img == i)[0][:MAX_FACES]
            out.append(Faces(boxes[mine], score[mine], points[mine]))
        return out


def load_state(path, model: nn.Module) -> dict:
    """A state dict for `model` from a safetensors or torch file, without unpickling code."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file: one line naming it
        raise AbawError(f"{path}: found an unreadable weights file ({str(e).splitlines()[0][:120]}),"
                        " expected a safetensors file or a torch state dict") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    want = model.state_dict()
    missing = sorted(set(want) - set(state))
    extra = sorted(set(state) - set(want))
    wrong = sorted(k for k in set(want) & set(state) if tuple(want[k].shape) != tuple(state[k].shape))
    if missing or extra or wrong:
        first = (missing + extra + wrong)[0]
        raise AbawError(f"{path}: found {len(missing)} missing, {len(extra)} unexpected and "
                        f"{len(wrong)} mis-shaped tensors (e.g. {first}), expected the state dict "
                        f"of RetinaFace MobileNet-0.25 ({len(want)} tensors)")
    return state


def write_random(folder, seed: int = 0) -> Path:
    """Randomly initialised weights of the real architecture as `folder/model.safetensors`
    (tests and benchmarks: the code path and the speed do not depend on the weights)."""
    from safetensors.torch import save

    from abaw.atomic import write_bytes

    torch.manual_seed(seed)
    state = RetinaFace().state_dict()
    return write_bytes(Path(folder) / "model.safetensors",
                       save({k: v.contiguous() for k, v in state.items()}))
