"""Does audio pay on the twin? One recipe with and without its audio stream, over seeds: arousal
CCC on validation (raw, and post-processed cross-fitted) and on the twin's hidden test labels.

For each seed S the small twin of seed S is generated once (as `abaw demo` keeps it, under
--base), and the recipe runs end to end twice with training seed S: with `features.backbones`
as given by --visual plus --audio, and with --visual alone (everything else the same, the
recipe's audio adapter included, so the two models differ only in the audio stream). Post-processing is tuned on validation in both; the
hidden test labels are read only for the final score.

    python eval/audio_pays.py                    # VA demo recipe (face + log-mel), seeds 0 1 2
    python eval/audio_pays.py --seeds 0 --audio-set model.adapter_options.audio.context=8

Prints one row per seed and variant, then the mean cross-fitted and hidden-test CCC_A gain of
the audio. Exits 1 when either mean gain is below --bar (0.05).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def arousal_scores(track, run_dir: Path, index, stores) -> dict:
    """CCC_A of the run's validation predictions as predicted ("raw"), post-processed by
    parameters tuned on the other validation videos ("crossfit"), and of the written test
    predictions on the hidden labels ("test")."""
    from abaw import pipeline
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.params import PostParams
    from abaw.post.tune import ValTruth, evaluate

    truth = ValTruth.from_index(index, track.index_name, "val")
    raw = pipeline.fold_predictions(track, run_dir, "val", index, stores)
    held = PredictionSet.load(run_dir / "predictions" / "val.crossfit.npz")
    params = PostParams.load(run_dir / "post.json")
    test = params.apply(pipeline.fold_predictions(track, run_dir, "test", index, stores))
    return {"raw": evaluate(raw, truth).parts["CCC_A"],
            "crossfit": evaluate(held, truth).parts["CCC_A"],
            "test": evaluate(test, pipeline.hidden_truth(index, track.name)).parts["CCC_A"]}


def run_variant(track, root: Path, recipe, overrides: list, work: Path) -> dict:
    from abaw import pipeline
    from abaw.data import load_index
    from abaw.recipe import load_recipe

    out = pipeline.run_track(track, root, recipe=recipe, overrides=overrides, work=work,
                             out=work / "submissions", quiet=True)
    cfg = load_recipe(recipe, overrides, track=track.name)
    index = load_index(root)
    stores = pipeline.ensure_features(index, cfg, work, [track.index_name], quiet=True)
    return arousal_scores(track, Path(out.run_dir), index, stores)


def main(argv=None) -> int:
    from abaw.cli.demo import twin_for
    from tracks import get_track, recipe_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--track", default="va")
    ap.add_argument("--recipe", default="demo")
    ap.add_argument("--visual", default="resnet18", help="the recipe's visual backbone")
    ap.add_argument("--audio", default="logmel", help="the audio backbone added")
    ap.add_argument("--audio-set", dest="audio_overrides", action="append",
                    default=[], help="override for the audio variant only (repeatable)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    help="recipe override for both variants (repeatable)")
    ap.add_argument("--base", type=Path, default=Path("demo"), help="where twins are kept")
    ap.add_argument("--work", type=Path, default=Path("runs/audio-pays"))
    ap.add_argument("--bar", type=float, default=0.05)
    args = ap.parse_args(argv)

    track = get_track(args.track)
    recipe = args.recipe if Path(args.recipe).is_file() else recipe_path(track, args.recipe)
    variants = {
        "visual": [f"features.backbones={json.dumps([args.visual])}"],
        "visual+audio": [f"features.backbones={json.dumps([args.visual, args.audio])}",
                         *args.audio_overrides],
    }
    rows, gains = [], {"crossfit": [], "test": []}
    for seed in args.seeds:
        root = twin_for(track.key, args.base, quiet=True, seed=seed)
        got = {}
        for name, extra in variants.items():
            got[name] = run_variant(track, root, recipe,
                                    [*args.overrides, *extra, f"run.seed={seed}"], args.work)
            s = got[name]
            rows.append((seed, name, s["raw"], s["crossfit"], s["test"]))
            print(f"seed {seed} {name:<13} CCC_A val raw {s['raw']:.3f}  cross-fitted "
                  f"{s['crossfit']:.3f}  hidden test {s['test']:.3f}", flush=True)
        for k in gains:
            gains[k].append(got["visual+audio"][k] - got["visual"][k])
    print("\n| seed | streams | val raw CCC_A | val cross-fitted CCC_A | hidden-test CCC_A |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} |")
    ok = True
    for k, g in gains.items():
        mean = sum(g) / len(g)
        ok &= mean >= args.bar
        print(f"mean {k} CCC_A gain of audio: {mean:+.3f} (bar {args.bar:+.3f}); per seed: "
              + ", ".join(f"{x:+.3f}" for x in g))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
