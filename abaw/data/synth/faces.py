"""Rendered 112x112 face crops whose geometry encodes the labels.

Each unit of `labels.UNITS` moves its own facial region:
  AU1 inner brow raise, AU2 outer brow raise (both add forehead lines), AU4 brow lower and pull
  together (furrow lines), AU6 cheek raise (cheeks up, crow's feet), AU7 lid tighten (lower lid
  up), AU9 nose wrinkle, AU10 upper lip raise (nasolabial folds), AU12 lip corner pull (corners
  up and out), AU15 lip corner depress, AU20 lip stretch (mouth wide and flat), AU23 lip tighten
  (narrow, thin lips), AU24 lip press (thin lips, chin bulge), AU25 lips part (teeth show), AU26
  jaw drop (mouth open, chin down), ASYM one-sided smirk and brow.
Valence bends the mouth and colours lips and cheeks; arousal opens the eyes and, through
`head_motion`, moves the head.

Geometry and light follow real faces so that a real face detector finds them: the eyes, nose
tip and mouth corners sit where the five-point template of the 112x112 aligned crops puts them
(`abaw.faces.align.TEMPLATE`, within a pixel or two at the mean face size), and the face is lit
from the front (eye sockets in shadow, nose bridge, forehead and cheekbones lit), whatever the
skin tone: OpenCV's Haar cascade finds ~83 % of the faces on every skin tone (a cartoon face with
white eyes and no shading: ~40 %, 16 % on dark skin).

Nuisance per subject: skin tone, hair, face size and shape, pose (roll, yaw), position in the
crop, lighting gradient, background, glasses, fringe over the brows, occluding hands in stretches,
sensor noise and JPEG quality. Per frame: unit intensities jittered (`RENDER_JITTER`) so a single
frame is a noisy view of the state and temporal smoothing helps.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from abaw.data.synth.labels import UNIT

SIZE = 112
RENDER_JITTER = 0.12   # sd of per-frame noise on every unit intensity
EYE = (0.44, -0.11)     # eye centres (+-x, y) in face units; the crop centre is (0, 0)
NOSE_TIP = (0.0, 0.39)
MOUTH = (0.37, 0.91)    # mouth corners at rest (+-x, y)
SOCKET = 110           # opacity of the eye sockets' shadow (black)
LIT, LIT_DARK = 40, 80  # opacity of the highlights (white): all skin, and more on the darkest
_T = np.linspace(0, 2 * np.pi, 25)[:-1]
_CIRCLE = np.stack([np.cos(_T), np.sin(_T)], 1)          # (24, 2)
_ARC = np.linspace(-1, 1, 7)


@dataclass
class Subject:
    """Appearance of one person (fixed over their frames)."""

    skin: np.ndarray        # (3,) RGB
    hair: np.ndarray        # (3,) RGB
    background: np.ndarray  # (2, 3) RGB, gradient ends
    scale: float            # pixels per face unit
    center: tuple           # (x, y) pixel centre of the face
    roll: float             # radians
    yaw: float              # shifts inner features sideways, in face units
    face_w: float           # face width factor
    brow_y: float           # brow height offset (identity: some brows sit high)
    eye_size: float
    mouth_w: float
    lip_t: float
    light: float            # strength of the lighting gradient
    light_dir: float        # radians
    gain: float             # overall brightness
    glasses: bool
    fringe: float           # how far the hair fringe reaches down (face units, 0 = none)
    noise: float            # sensor noise sd in grey levels
    quality: int            # JPEG quality
    style: str = "real"     # "real" (Aff-Wild2-like) or "synthetic" (LSD training images)


def make_subject(rng: np.random.Generator, style: str = "real") -> Subject:
    tone = rng.uniform(0, 1)
    skin = np.array([235, 200, 170]) * (1 - tone) + np.array([120, 80, 55]) * tone
    skin = np.clip(skin + rng.normal(0, 8, 3), 40, 250)
    hair = rng.choice(np.array([[30, 25, 20], [80, 50, 25], [150, 110, 60], [200, 180, 120],
                                [110, 110, 110]]), axis=0)
    bg = rng.uniform(60, 200, (2, 3))
    synthetic = style == "synthetic"
    return Subject(
        skin=skin, hair=hair.astype(float), background=bg,
        scale=rng.uniform(39, 41), center=(56 + rng.uniform(-0.8, 0.8), 56 + rng.uniform(-0.8, 0.8)),
        roll=rng.normal(0, 0.017), yaw=rng.normal(0, 0.022), face_w=rng.uniform(0.97, 1.03),
        brow_y=rng.normal(0, 0.011), eye_size=rng.uniform(0.92, 1.08),
        mouth_w=rng.uniform(0.93, 1.07), lip_t=rng.uniform(0.85, 1.15),
        light=0.0 if synthetic else rng.uniform(0.0, 0.2), light_dir=rng.uniform(0, 2 * np.pi),
        gain=1.0 if synthetic else rng.uniform(0.86, 1.08),
        glasses=bool(rng.random() < 0.15), fringe=float(rng.random() < 0.2) * rng.uniform(0.05, 0.15),
        noise=0.0 if synthetic else rng.uniform(1.5, 6.0),
        quality=95 if synthetic else int(rng.integers(60, 95)), style=style)


def _rgb(c) -> tuple:
    return tuple(int(v) for v in np.clip(c, 0, 255))


class FaceRenderer:
    """Draws one subject's frames; the background, lighting and noise are made once."""

    def __init__(self, subject: Subject, rng: np.random.Generator):
        self.s = subject
        y, x = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)                        # (112, 112)
        bg = subject.background[0] * (1 - y[..., None]) + subject.background[1] * y[..., None]
        if subject.style == "real":                                         # textured scene
            bg += rng.normal(0, 6, (14, 14, 3)).repeat(8, 0).repeat(8, 1)
        self.background = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
        d = np.cos(subject.light_dir) * (x - 0.5) + np.sin(subject.light_dir) * (y - 0.5)
        self.light = (subject.gain * (1 + subject.light * 2 * d))[..., None].astype(np.float32)
        self.noise = [rng.normal(0, subject.noise, (SIZE, SIZE, 1)).astype(np.float32)
                      for _ in range(4)] if subject.noise > 0 else None
        self.rng = rng
        self.colours = self._colours()

    def _colours(self) -> dict:
        s = self.s
        c = {k: _rgb(s.skin * k) for k in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)}
        c.update(skin=_rgb(s.skin), hair=_rgb(s.hair), brow=_rgb(s.hair * 0.7),
                 sclera=_rgb(0.5 * s.skin + 0.5 * np.array([225, 222, 215])),
                 dark=float(np.clip(1 - s.skin.mean() / 210, 0, 1)))
        return c

    def render(self, units: np.ndarray, valence: float, arousal: float,
               motion=(0.0, 0.0, 0.0), occluder=None, jitter: bool = True) -> np.ndarray:
        """(112, 112, 3) uint8 image of one frame. units: (len(UNITS),) intensities 0..1."""
        s, rng = self.s, self.rng
        if jitter:
            units = units + rng.normal(0, RENDER_JITTER, len(units))
            valence, arousal = valence + rng.normal(0, 0.1), arousal + rng.normal(0, 0.1)
        u = np.clip(units, 0, 1)
        g = {name: float(u[i]) for name, i in UNIT.items()}
        shapes = _face_shapes(s, g, float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1)),
                              self.colours, occluder)
        # one transform for every point of the frame: yaw shift, roll, scale, position, motion
        pts = np.concatenate([sh[1] for sh in shapes])                     # (P, 2) face units
        mx, my, mr = motion
        a = s.roll + mr
        c, sn = np.cos(a), np.sin(a)
        x = pts[:, 0] + s.yaw
        px = np.stack([(x * c - pts[:, 1] * sn) * s.scale + s.center[0] + mx,
                       (x * sn + pts[:, 1] * c) * s.scale + s.center[1] + my], 1).tolist()
        img = self.background.copy()
        dr = ImageDraw.Draw(img, "RGBA")
        i = 0
        for op, p, colour, width in shapes:
            xy = [tuple(q) for q in px[i: i + len(p)]]
            i += len(p)
            if op == "polygon":
                dr.polygon(xy, fill=colour)
            elif op == "line":
                dr.line(xy, fill=colour, width=width)
            else:
                xs, ys = [q[0] for q in xy], [q[1] for q in xy]
                dr.rectangle([min(xs), min(ys), max(xs), max(ys)], outline=colour, width=width)
        return self._finish(img)

    def _finish(self, img: Image.Image) -> np.ndarray:
        a = np.asarray(img, dtype=np.float32) * self.light
        if self.noise is not None:
            a += self.noise[int(self.rng.integers(len(self.noise)))]
        return np.clip(a, 0, 255).astype(np.uint8)


def _shade(colour: tuple, strength: float):
    """An RGBA colour whose opacity follows a unit's intensity; None when invisible."""
    alpha = int(230 * strength)
    return colour + (alpha,) if alpha >= 12 else None


def _face_shapes(s: Subject, g: dict, v: float, ar: float, col: dict, occluder) -> list:
    """The drawing of one frame as (op, points in face units, colour, width), back to front."""
    out = []

    def add(op, pts, colour, width=1):
        if colour is not None:
            out.append((op, np.asarray(pts, np.float64), colour, width))

    fw, jaw = s.face_w, g["AU26"]
    # head: hair behind, neck (AU20 tenses it), face outline (the chin drops with the jaw), ears
    add("polygon", _CIRCLE * [1.12 * fw, 1.25] + [0, -0.2], col["hair"])
    add("polygon", [[-0.45, 1.1], [0.45, 1.1], [0.55, 2.2], [-0.55, 2.2]], col[0.85])
    for side in (-1, 1):
        add("line", [[side * 0.2, 1.35], [side * 0.45, 2.2]], _shade(col[0.4], g["AU20"]), 4)
    face = _CIRCLE * [fw, 1.35]
    face[:, 1] += np.clip(face[:, 1], 0, None) / 1.35 * 0.3 * jaw + 0.1
    add("polygon", face, col["skin"])
    for side in (-1, 1):
        add("polygon", _CIRCLE * [0.12, 0.22] + [side * fw, 0.1], col[0.9])
    # light from the front: eye sockets in shadow under the brow ridge; the nose bridge, forehead
    # and cheekbones lit. Shadows darken by a share of the skin's own level, highlights add light,
    # more on darker skin, whose photographs keep their shape in the highlights.
    for side in (-1, 1):
        add("polygon", _CIRCLE * [0.34, 0.22] + [side * EYE[0], EYE[1] - 0.04], (0, 0, 0, SOCKET))
    lit = (255, 255, 255, int(LIT + LIT_DARK * col["dark"]))
    add("polygon", [[-0.09, -0.42], [0.09, -0.42], [0.11, 0.3], [-0.11, 0.3]], lit)
    add("polygon", _CIRCLE * [0.5, 0.2] + [0.0, -0.75], lit)
    for side in (-1, 1):
        add("polygon", _CIRCLE * [0.2, 0.1] + [side * 0.46, 0.2], lit)
    if s.fringe > 0:
        add("polygon", [[-fw, -1.3], [fw, -1.3], [fw * 0.9, -0.8 + s.fringe],
                        [-fw * 0.9, -0.8 + s.fringe]], col["hair"])
    # forehead lines: central with AU1, lateral with AU2; vertical furrows with AU4
    for k in range(3):
        y = -0.7 - 0.1 * k
        add("line", [[-0.22, y], [0.22, y]], _shade(col[0.5], g["AU1"]), 2)
        for side in (-1, 1):
            add("line", [[side * 0.3, y + 0.03], [side * 0.62, y + 0.06]],
                _shade(col[0.5], g["AU2"]), 2)
    for side in (-1, 1):
        add("line", [[side * 0.08, -0.42], [side * 0.05, -0.2]], _shade(col[0.45], g["AU4"]), 3)
    # brows: inner end (AU1 up, AU4 down and in), outer end (AU2 up); ASYM lifts one brow
    by = -0.45 + s.brow_y
    for side in (-1, 1):
        asym = g["ASYM"] if side == 1 else 0.0
        inner = [side * (0.14 - 0.08 * g["AU4"]), by - 0.28 * g["AU1"] + 0.16 * g["AU4"]]
        mid = [side * 0.37, by - 0.06 - 0.1 * g["AU1"] - 0.12 * g["AU2"] + 0.07 * g["AU4"]
               - 0.12 * asym]
        outer = [side * 0.62, by - 0.28 * g["AU2"] - 0.16 * asym]
        add("line", [inner, mid, outer], col["brow"], 5)
    # eyes: upper lid opens with arousal, lower lid rises with AU7 (tense) and AU6
    for side in (-1, 1):
        cx, cy, w = side * EYE[0], EYE[1], 0.24 * s.eye_size
        up = (0.02 + 0.2 * (ar + 1) / 2 + 0.05 * g["AU20"]) * s.eye_size   # fear widens eyes
        low = 0.1 * s.eye_size * (1 - 0.8 * g["AU7"] - 0.3 * g["AU6"])
        top = np.stack([cx + w * _ARC, cy - up * (1 - _ARC ** 2)], 1)
        bot = np.stack([cx - w * _ARC, cy + low * (1 - _ARC ** 2)], 1)
        add("polygon", np.concatenate([top, bot]), col["sclera"])
        pupil = 0.06 + 0.035 * (ar + 1) / 2                # pupils dilate with arousal
        r = min(pupil, (up + low) / 2)   # the gaze turns aside with ASYM ("Other")
        add("polygon", _CIRCLE * [pupil, r] + [cx + 0.1 * g["ASYM"], cy - (up - low) / 2],
            (40, 30, 25))
        add("line", top, col[0.4], 2)
        add("line", bot, _shade(col[0.4], g["AU7"]), 3)
        add("line", [[cx - 0.18, 0.06], [cx + 0.18, 0.06]], _shade(col[0.5], g["AU7"]), 2)
        # cheek raise: a bulge under the eye and crow's feet at the outer corner
        add("polygon", _CIRCLE * [0.22, 0.1] + [cx, 0.3 - 0.15 * g["AU6"]],
            _shade(col[0.75], g["AU6"]))
        for k in (-1, 0, 1):
            add("line", [[side * 0.66, cy + 0.05 * k], [side * 0.8, cy + 0.1 * k]],
                _shade(col[0.5], g["AU6"]), 2)
        if s.glasses:
            add("rectangle", [[cx - 0.3, -0.29], [cx + 0.3, 0.09]], (30, 30, 30, 150), 1)
    # nose, its wrinkle (AU9) and nasolabial folds (AU10, some AU12)
    add("line", [[0, -0.1], [0.05, NOSE_TIP[1] - 0.03], [-0.07, NOSE_TIP[1] + 0.03]], col[0.7], 2)
    for k in range(3):
        add("line", [[-0.16, -0.14 + 0.08 * k], [0.16, -0.14 + 0.08 * k]],
            _shade(col[0.4], g["AU9"]), 3)
    for side in (-1, 1):   # nostrils flare with AU9
        add("polygon", _CIRCLE * [0.07, 0.04] + [side * 0.09, 0.4], _shade(col[0.35], g["AU9"]))
    fold = _shade(col[0.55], max(g["AU10"], 0.5 * g["AU12"]))
    for side in (-1, 1):
        add("line", [[side * 0.18, 0.4], [side * 0.44, 0.78]], fold, 3)
    _mouth(add, s, g, v, col)
    for side in (-1, 1):   # blush with positive valence, shadowed cheeks with negative
        cheek = _CIRCLE * [0.18, 0.11] + [side * 0.54, 0.5]
        add("polygon", cheek, (230, 50, 60, int(150 * v)) if v > 0.05 else
            _shade(col[0.7], -0.7 * v))
    if occluder is not None:   # a hand over part of the face
        ox, oy, orad = occluder
        add("polygon", _CIRCLE * [orad, orad * 1.3] + [ox, oy], col[0.85])
    return out


def _mouth(add, s: Subject, g: dict, v: float, col: dict) -> None:
    ym = MOUTH[1]
    width = s.mouth_w * (MOUTH[0] + 0.12 * g["AU12"] + 0.22 * g["AU20"] - 0.15 * g["AU23"]
                         - 0.05 * g["AU24"])
    corner_y = ym - 0.2 * g["AU12"] + 0.18 * g["AU15"] + 0.03 * g["AU20"] - 0.08 * v
    gap = 0.14 * g["AU25"] + 0.3 * g["AU26"]
    thin = s.lip_t * (1 - 0.7 * g["AU24"]) * (1 - 0.6 * g["AU23"])
    bulge = 1 - _ARC ** 2
    x = width * _ARC
    line = corner_y + (ym + 0.15 * v - corner_y) * bulge   # positive valence: centre sags
    line[-1] -= 0.16 * g["ASYM"]                            # smirk: one corner up
    line[-2] -= 0.08 * g["ASYM"]
    raise_ = 0.12 * g["AU10"]
    upper_top = line - (0.07 * thin + raise_) * bulge - 0.005
    upper = line - raise_ * bulge                           # AU10 bares the upper teeth
    lower = line + gap * bulge
    lower_bot = lower + 0.09 * thin * bulge + 0.005
    lip = _rgb(s.skin * (0.7 - 0.3 * g["AU23"]) + np.array([60, 0, 10]) + np.array([40, -20, -10]) * v)

    def band(a, b, xs=x):
        return np.concatenate([np.stack([xs, a], 1), np.stack([xs, b], 1)[::-1]])

    if gap + raise_ > 0.02:   # open mouth, teeth
        add("polygon", band(upper, lower), (60, 20, 25))
        add("polygon", band(upper, line + min(gap, 0.05), x * 0.8), (235, 235, 225))
    add("polygon", band(upper_top, upper), lip)
    add("polygon", band(lower, lower_bot), lip)
    add("line", np.stack([x, line], 1), col[0.35])
    for k in (-2, -1, 1, 2):   # AU23: puckered vertical lines on tightened lips
        add("line", [[0.07 * k, upper_top[3] - 0.04], [0.07 * k, lower_bot[3] + 0.04]],
            _shade(col[0.35], g["AU23"]), 2)
    for side in (-1, 1):       # AU15: shading down from the corners
        add("line", [[side * width, corner_y + 0.02], [side * (width + 0.03), corner_y + 0.2]],
            _shade(col[0.5], g["AU15"]), 3)
    add("polygon", _CIRCLE * [0.2, 0.07] + [0, lower_bot[3] + 0.12],   # AU24: chin boss bulge
        _shade(col[0.6], g["AU24"]))


def head_motion(rng: np.random.Generator, arousal: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """(n, 3) per-frame head offset (dx px, dy px, roll rad): a random walk whose steps grow with
    arousal, pulled back to the centre so aligned crops stay near it."""
    n = len(arousal)
    step = (0.25 + 0.6 * np.clip(arousal + 0.5, 0, 1.5))[:, None] * rng.normal(0, 1, (n, 3))
    out = np.zeros((n, 3))
    pos = np.zeros(3)
    for i in range(n):   # mean-reverting walk (AR(1)); n is at most a few thousand per person
        pos = 0.85 * pos + step[i]
        out[i] = pos
    return out * np.array([amount, amount, 0.01 * amount])


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()
