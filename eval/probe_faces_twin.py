"""Does a detector find the twin's drawn faces? The CE videos of the synthetic twin are rendered
(as `abaw data synth` writes them) and the detector runs on every decoded frame; a face frame
counts as found when the best face overlaps the 112x112 square where the renderer pasted the
face (`abaw.data.synth.media.Scene`) with IoU >= 0.5.

    python eval/probe_faces_twin.py                     # tiny twin, Haar cascade
    python eval/probe_faces_twin.py --size small        # 28 videos, ~5,900 face frames
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abaw import protocol  # noqa: E402
from abaw.data.media import iter_frames  # noqa: E402
from abaw.data.synth import ce  # noqa: E402
from abaw.data.synth import media as scene  # noqa: E402
from abaw.data.synth.people import PersonState  # noqa: E402
from abaw.data.synth.plan import make_plan  # noqa: E402
from abaw.faces.registry import create_detector  # noqa: E402
from abaw.faces.track import iou  # noqa: E402


def pasted(motion) -> np.ndarray:
    """(1, 4) the square where `Scene.frame` pastes a one-person video's face."""
    x0 = int(scene.WIDTH // 2 - scene.FACE / 2 + 2 * motion[0])
    y0 = int((scene.HEIGHT - scene.FACE) / 2 + 2 * motion[1])
    return np.array([[x0, y0, x0 + scene.FACE, y0 + scene.FACE]], np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="tiny", choices=["tiny", "small"])
    ap.add_argument("--detector", default="haar")
    ap.add_argument("--weights")
    ap.add_argument("--edition", type=int, default=8)
    args = ap.parse_args()
    detector = create_detector(args.detector, weights=args.weights)
    plan = make_plan(args.edition, args.size, 0)
    faces = found = 0
    per_video, ious = [], []
    with tempfile.TemporaryDirectory() as tmp:
        ce.write_ce(Path(tmp), plan, images=True)
        for person in ce.ce_people(plan):
            st = PersonState(person, plan.seed, names=protocol.CE_CLASSES)
            video = Path(tmp) / protocol.CE_VIDEO_FOLDER / f"{person.id}.mp4"
            frames = np.stack([f for _, _, f in iter_frames(video)])
            n = hit = 0
            for k, f in enumerate(detector.detect(frames)):
                if not st.face[k]:
                    continue
                n += 1
                if len(f):
                    v = iou(f.boxes[:1].astype(np.float64), pasted(st.motion[min(k, person.rows - 1)]))
                    ious.append(float(v[0, 0]))
                    hit += int(v[0, 0] >= 0.5)
            faces, found = faces + n, found + hit
            per_video.append(hit / max(n, 1))
    print(json.dumps({"twin": args.size, "detector": args.detector, "videos": len(per_video),
                      "face_frames": faces, "found": found,
                      "found_share": round(found / max(faces, 1), 3),
                      "median_iou_of_found": round(float(np.median(ious)), 2) if ious else None,
                      "per_video_share_quartiles": np.percentile(per_video, [0, 25, 50, 75, 100])
                      .round(2).tolist()}))


if __name__ == "__main__":
    main()
