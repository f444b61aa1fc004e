"""The face-detector registry: a dict of named specs and a decorator that fills it (as the
backbones' `abaw.features.registry`).

`create_detector(name, weights=None, device="cpu", threshold=None)` returns a `Detector`
(`abaw.faces.detector`). Where the weights come from, in order:
1. `weights=` a weights file, a folder holding one of the entry's files, or a hub id;
2. the folder `$ABAW_MODELS/<name>` (default `~/.cache/abaw/models/<name>`) if it holds one;
3. the entry's hub id through the Hugging Face cache (`HF_HUB_OFFLINE=1` honoured);
entries whose weights ship inside a pip package (`package`) load them from there. A model found
nowhere fails at once with one line naming the folder and the command that fetches it.

This module imports no torch and no OpenCV: `abaw faces list` reads only the specs.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from abaw.errors import AbawError
from abaw.features.registry import weights_home

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name; anything else is a path


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    landmarks: int                 # points per face: 5 (eyes, nose, mouth corners) or 0 (box only)
    hub_id: str | None             # default weights; None: they ship with `package`
    files: tuple[str, ...]         # weight files a folder may hold; the first is the hub's
    package: str | None = None     # pip package that ships the weights (offline entries)
    module: str | None = None      # the module that package installs
    threshold: float = 0.0         # default score threshold
    note: str = ""


DETECTORS: dict[str, DetectorSpec] = {}
_BUILDERS: dict[str, object] = {}
DEFAULT_DETECTOR = "retinaface-mnet025"
OFFLINE_DETECTOR = "haar"


def register(name, landmarks, hub_id, files, package=None, module=None, threshold=0.0, note=""):
    """Decorator: register `name` as built by the decorated loader."""

    def wrap(fn):
        if name in DETECTORS:
            raise ValueError(f"detector {name} registered twice")
        DETECTORS[name] = DetectorSpec(name, landmarks, hub_id, tuple(files), package, module,
                                       threshold, note)
        _BUILDERS[name] = fn
        return fn

    return wrap


def get_spec(name: str) -> DetectorSpec:
    if name not in DETECTORS:
        raise AbawError(f"--detector: found {name!r}, expected one of {', '.join(DETECTORS)}")
    return DETECTORS[name]


def expected_folder(name: str) -> Path:
    return weights_home() / name


def fetch_command(spec: DetectorSpec) -> str:
    if spec.hub_id is None:
        return f"pip install {spec.package}"
    return f"hf download {spec.hub_id} {spec.files[0]} --local-dir {expected_folder(spec.name)}"


def _in_folder(spec: DetectorSpec, folder: Path) -> Path | None:
    for f in spec.files:
        if (folder / f).is_file():
            return folder / f
    return None


def weights_found(spec: DetectorSpec) -> str:
    """Where the default weights are now: "package", "folder", "hub cache" or "missing"."""
    if spec.hub_id is None:
        return "package" if importlib.util.find_spec(spec.module) else "missing"
    if _in_folder(spec, expected_folder(spec.name)):
        return "folder"
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.hub_id, spec.files[0])
    return "hub cache" if isinstance(cached, str) else "missing"


def _missing(spec: DetectorSpec, tried: str, why: str = "") -> AbawError:
    reason = f" ({why})" if why else ""
    return AbawError(f"detector {spec.name}: weights not found in {tried}{reason}; expected one "
                     f"of {', '.join(spec.files)} in {expected_folder(spec.name)} or --weights "
                     f"DIR: fetch with `{fetch_command(spec)}`")


def resolve_weights(spec: DetectorSpec, weights=None) -> Path:
    """The weights file to load. Fails at once when nothing local is found and we are offline."""
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_file():
            return path.resolve()
        if path.is_dir():
            found = _in_folder(spec, path)
            if found is None:
                raise _missing(spec, str(path), "no weights file in that folder")
            return found.resolve()
        if not _HUB_ID.fullmatch(str(weights)):
            raise _missing(spec, str(weights), "no such file or folder")
        hub_id = str(weights)
    else:
        found = _in_folder(spec, expected_folder(spec.name))
        if found is not None:
            return found
        hub_id = spec.hub_id
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(hub_id, spec.files[0])
    if isinstance(cached, str):
        return Path(cached)
    if constants.HF_HUB_OFFLINE:
        raise _missing(spec, f"{expected_folder(spec.name)} or the Hugging Face cache",
                       f"{hub_id} not cached and HF_HUB_OFFLINE=1")
    try:
        return Path(hf_hub_download(hub_id, spec.files[0]))
    except Exception as e:  # no network, unknown repo or file: one line, not a traceback
        raise _missing(spec, hub_id, str(e).splitlines()[0][:160]) from None


def create_detector(name: str, weights=None, device: str = "cpu", threshold: float | None = None):
    """A ready `Detector` named `name` on `device` (a torch device string)."""
    spec = get_spec(name)
    source = None if spec.hub_id is None and weights is None else resolve_weights(spec, weights)
    detector = _BUILDERS[name](spec, source, device=device,
                               threshold=spec.threshold if threshold is None else threshold)
    detector.location = str(source) if source else f"pip:{spec.package}"
    return detector


# --- the entries ------------------------------------------------------------------------------

@register(DEFAULT_DETECTOR, 5, "py-feat/retinaface", ["mobilenet0.25_Final.pth", "model.safetensors"],
          threshold=0.8,
          note="RetinaFace, MobileNet-0.25 backbone (Deng et al. 2020), 5 landmarks; torch, batched")
def retinaface(spec, source, device, threshold):
    from abaw.faces.retinaface import RetinaFaceDetector
    return RetinaFaceDetector.from_file(source, device=device, threshold=threshold)


@register(OFFLINE_DETECTOR, 0, None, ["haarcascade_frontalface_default.xml"],
          package="opencv-python-headless", module="cv2",
          note="OpenCV's frontal-face Haar cascades default + alt2 (Viola-Jones), shipped in the "
               "wheel; box only")
def haar(spec, source, device, threshold):
    from abaw.faces.haar import HaarDetector
    return HaarDetector(source, threshold=threshold)
