"""CE from raw videos: the same CE run on the twin's shipped crops and on crops the face step
made from the CE test videos, scored on the twin's hidden test labels.

As a team does it, through the commands: `abaw data synth` (small, edition 8), `abaw run --track
ce` on the tree as shipped; then the CE videos' crops are deleted, `abaw faces extract --track ce`
crops the videos with an offline detector, and `abaw run --track ce` runs again. Exit status 1
when the two hidden-test F1 scores are more than --bar apart.

    python eval/faces_ce.py                      # small twin, seed 0, Haar cascade, ~12 min
    python eval/faces_ce.py --size tiny --seed 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abaw import protocol  # noqa: E402


def abaw(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "abaw", *args], check=True, stdout=subprocess.DEVNULL)


def ce_run(root: Path, work: Path) -> dict:
    """The CE run's summary.json (its hidden-test F1 under `hidden_test`)."""
    abaw("run", "--track", "ce", "--root", str(root), "--recipe", "demo", "--work", str(work),
         "--out", str(work / "submissions"), "--quiet")
    return json.loads(max((work / "ce").glob("*/summary.json")).read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small", choices=["tiny", "small"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detector", default="haar")
    ap.add_argument("--bar", type=float, default=0.05)
    ap.add_argument("--keep", type=Path, help="keep the twin and runs here")
    args = ap.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="faces-ce-"))
    root = base / "twin"
    if not root.is_dir():
        abaw("data", "synth", str(root), "--edition", "8", "--size", args.size,
             "--seed", str(args.seed))
    shipped = ce_run(root, base / "shipped")
    # the CE test videos lose their crops: only the videos are left to work from
    videos = sorted((root / protocol.CE_VIDEO_FOLDER).glob("*.mp4"))
    crops = next(p for p in root.rglob("cropped_aligned") if p.is_dir())
    for v in videos:
        shutil.rmtree(crops / v.stem, ignore_errors=True)
    abaw("faces", "extract", str(root), "--track", "ce", "--detector", args.detector,
         "--work", str(base / "faces"), "--quiet")
    extracted = ce_run(root, base / "faces")
    summaries = [json.loads(p.read_text()) for p in (base / "faces" / "faces").rglob("*.faces.json")]
    found = sum(i["crops"] for s in summaries for i in s.get("ids", {}).values())
    frames = sum(s["frames"] for s in summaries if "ids" in s)
    gap = extracted["hidden_test"] - shipped["hidden_test"]
    print(json.dumps({"twin": args.size, "seed": args.seed, "detector": args.detector,
                      "ce_videos": len(videos),
                      "crops_written": f"{found} for {frames} decoded frames",
                      "hidden_test_f1_shipped_crops": round(shipped["hidden_test"], 3),
                      "hidden_test_f1_extracted_crops": round(extracted["hidden_test"], 3),
                      "gap": round(gap, 3), "bar": args.bar}))
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if abs(gap) <= args.bar else 1


if __name__ == "__main__":
    sys.exit(main())
