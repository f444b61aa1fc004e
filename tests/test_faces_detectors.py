"""The detector registry, RetinaFace (its published layout, anchors, decoding, loading) and the
Haar cascade on a real photograph."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from faces_clips import FACE, photo

from abaw.errors import AbawError
from abaw.faces import retinaface as rf
from abaw.faces.registry import DETECTORS, create_detector
from abaw.faces.track import iou


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


# A few tensors of the public `mobilenet0.25_Final.pth` (name without `module.`, shape).
PUBLISHED = {
    "body.stage1.0.0.weight": (8, 3, 3, 3),
    "body.stage1.1.0.weight": (8, 1, 3, 3),
    "body.stage1.1.3.weight": (16, 8, 1, 1),
    "body.stage2.0.3.weight": (128, 64, 1, 1),
    "body.stage3.1.4.running_var": (256,),
    "fpn.output1.0.weight": (64, 64, 1, 1),
    "fpn.output3.0.weight": (64, 256, 1, 1),
    "fpn.merge2.0.weight": (64, 64, 3, 3),
    "ssh1.conv3X3.0.weight": (32, 64, 3, 3),
    "ssh2.conv5X5_1.0.weight": (16, 64, 3, 3),
    "ssh3.conv7x7_3.1.bias": (16,),
    "ClassHead.0.conv1x1.weight": (4, 64, 1, 1),
    "BboxHead.1.conv1x1.bias": (8,),
    "LandmarkHead.2.conv1x1.weight": (20, 64, 1, 1),
}


def test_architecture_has_the_published_tensors():
    state = rf.RetinaFace().state_dict()
    for name, shape in PUBLISHED.items():
        assert tuple(state[name].shape) == shape, name
    params = sum(v.numel() for k, v in state.items() if "running" not in k and "batches" not in k)
    assert params == 426_608   # the 1.7 MB float32 checkpoint


def test_priors_against_a_loop():
    h, w = 100, 130
    want = []
    for step, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512)), strict=True):
        for i in range(math.ceil(h / step)):
            for j in range(math.ceil(w / step)):
                for s in sizes:
                    want.append([(j + 0.5) * step, (i + 0.5) * step, s, s])
    np.testing.assert_allclose(rf.priors(h, w).numpy(), np.array(want), atol=1e-4)
    # the heads give one row per prior, in the same order
    box, score, lm = rf.RetinaFace().eval()(torch.zeros(1, 3, h, w))
    assert box.shape == (1, len(want), 4) and lm.shape == (1, len(want), 10)
    assert score.shape == (1, len(want))


def test_decoding():
    anchors = torch.tensor([[50.0, 40.0, 16.0, 16.0], [100.0, 80.0, 64.0, 64.0]])
    box = torch.zeros(1, 2, 4)
    lm = torch.zeros(1, 2, 10)
    boxes, points = rf.decode(box, lm, anchors)
    np.testing.assert_allclose(boxes[0].numpy(), [[42, 32, 58, 48], [68, 48, 132, 112]])
    np.testing.assert_allclose(points[0, 1].numpy(), np.tile([100.0, 80.0], (5, 1)))
    # offsets are in anchor sizes scaled by the variances (0.1 centre, 0.2 log-size)
    box[0, 1] = torch.tensor([1.0, -2.0, math.log(2) / 0.2, 0.0])
    lm[0, 1, :2] = torch.tensor([3.0, 1.0])
    boxes, points = rf.decode(box, lm, anchors)
    np.testing.assert_allclose(boxes[0, 1].numpy(), [106.4 - 64, 67.2 - 32, 106.4 + 64, 67.2 + 32],
                               rtol=1e-5)
    np.testing.assert_allclose(points[0, 1, 0].numpy(), [100 + 0.1 * 3 * 64, 80 + 0.1 * 64])


def test_published_style_checkpoint_loads_without_pickle(tmp_path):
    torch.manual_seed(3)
    model = rf.RetinaFace()
    folder = tmp_path / "w"
    folder.mkdir()
    # as the public file: a DataParallel state dict (`module.` prefix) saved with torch.save
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()},
               folder / "mobilenet0.25_Final.pth")
    det = create_detector("retinaface-mnet025", weights=folder, threshold=0.0)
    assert det.location == str(folder / "mobilenet0.25_Final.pth")
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(model.eval()(x), det.model(x), strict=True):
            torch.testing.assert_close(a, b)
    faces = det.detect(np.random.default_rng(0).integers(0, 255, (2, 64, 96, 3), dtype=np.uint8))
    assert len(faces) == 2 and all(f.landmarks.shape == (len(f), 5, 2) for f in faces)
    assert all(len(f) <= rf.MAX_FACES and (np.diff(f.scores) <= 0).all() for f in faces)


def test_foreign_or_broken_weights_are_one_line(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(AbawError, match="unreadable weights file") as e:
        create_detector("retinaface-mnet025", weights=tmp_path)
    assert "\n" not in str(e.value)
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3)}, other)
    with pytest.raises(AbawError, match="expected the state dict of RetinaFace"):
        create_detector("retinaface-mnet025", weights=other)


def test_missing_weights_offline_name_the_folder_and_the_fetch(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(AbawError) as e:
        create_detector("retinaface-mnet025")
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "models" / "retinaface-mnet025") in msg
    assert "hf download py-feat/retinaface mobilenet0.25_Final.pth --local-dir" in msg
    with pytest.raises(AbawError, match="expected one of retinaface-mnet025, haar"):
        create_detector("mtcnn")
    # the default folder is found without any argument
    rf.write_random(tmp_path / "models" / "retinaface-mnet025")
    assert create_detector("retinaface-mnet025").location.endswith("model.safetensors")


def test_faces_list_without_torch(tmp_path):
    probe = ("import sys\nfrom abaw.cli import main\ntry:\n    main(['faces', 'list'])\n"
             "except SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules, 'CV2', "
             "'cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, env={"ABAW_MODELS": str(tmp_path), "PATH": "",
                                           "PYTHONPATH": ":".join(sys.path),
                                           "HF_HUB_CACHE": str(tmp_path)}).stdout
    for name in DETECTORS:
        assert name in out
    assert "│ 5 " in out and "│ 0 " in out and "package" in out and "missing" in out
    assert "TORCH False" in out and "CV2 False" in out


def test_haar_finds_the_face_in_a_photograph():
    det = create_detector("haar")
    img = photo()
    faces = det.detect(img[None])[0]
    assert len(faces) == 1 and faces.landmarks is None
    assert iou(faces.boxes.astype(float), FACE[None])[0, 0] >= 0.8
    blank = np.full((1, 240, 320, 3), 128, np.uint8)
    assert len(det.detect(blank)[0]) == 0
