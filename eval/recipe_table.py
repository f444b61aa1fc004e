"""The recipes table of tracks/README.md, measured on the small synthetic twin.

Every seed recipe (tracks/*/recipes/*.toml but default and demo) runs end to end with
`--offline-encoders` (its backbones replaced by the offline encoders that learn on the twin, the
rest of the recipe as written: head, fusion, losses, stages, post-processing) on the small twin
of seed S with training seed S (as `abaw demo --seed S`), then once more without its key
ingredient (INGREDIENTS). Per recipe, averaged over the seeds run:

- score: the cross-fitted validation estimate of the post-processed score (post-processing tuned
  on other validation videos, `abaw.post.crossfit`); CE has no validation set: "-";
- hidden test: the twin's hidden test truth, after the validation-tuned post-processing;
- without: the same score without the key ingredient, and whether the ingredient helps here;
- baseline: the best constant prediction; time: wall seconds of the whole run (stages included).

    python eval/recipe_table.py --seeds 0                      # every recipe, one seed
    python eval/recipe_table.py --recipes va/capnet-causal --seeds 0 1 2
    python eval/recipe_table.py --table-only                   # rewrite the table from results

Two measurements may share one base folder when they use different twins or one of them has
already built the features (each with `--threads 1` and its own `--results`); the table is then
written from the concatenated results.

Runs are kept in --results (JSON lines) and skipped when already there, so an interrupted
measurement continues. The table goes between the markers of tracks/README.md. Exits 1 when a
recipe does not beat its track's constant baseline by MARGIN or writes no valid file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abaw import pipeline  # noqa: E402
from abaw.cli.demo import twin_for  # noqa: E402
from tracks import get_track  # noqa: E402

MARGIN = 0.1          # "clearly above the constant baseline"
HELPS = 0.01          # a difference smaller than this is "no" (one seed: noise is about 0.02)
START, END = "<!-- recipe table: start -->", "<!-- recipe table: end -->"

# recipe -> (seed system, key ingredient, overrides that remove it)
INGREDIENTS = {
    "expr/clip-wav2vec2-tcn-xattn": ("CLIP + Wav2Vec 2.0, TCN, bi-directional cross-attention "
                                     "(ABAW 10)", "cross-attention", ['model.fusion="concat"']),
    "va/clip-ast-gru-softprompt": ("CLIP + AST, GRUs, gated fusion, VA-grid soft prompts "
                                   "(ABAW 10)", "soft labels", ["stages.prompts=false"]),
    "va/vit-transformer-mask": ("ViT + Transformer, random frame masking (ABAW 6)", "masking",
                                ["model.head_options.mask_prob=0.0"]),
    "expr/vit-transformer-mask": ("ViT + Transformer, masking, focal loss (ABAW 6)", "masking",
                                  ["model.head_options.mask_prob=0.0"]),
    "au/vit-transformer-mask": ("ViT + Transformer, masking, focal loss (ABAW 6)", "masking",
                                ["model.head_options.mask_prob=0.0"]),
    "lsd/byel": ("BYEL: BYOL + emotion classifier, synthetic only (ABAW 4)", "BYEL pre-training",
                 ["stages.image=[]"]),
    "lsd/ssl-then-supervised": ("Emotion-aware SSL, then supervised (ABAW 4)", "SSL pre-training",
                                ['stages.image=["supervised"]']),
    "mtl/kd-task-discriminator": ("Teacher -> student distillation, task discriminator "
                                  "(ABAW 3)", "the discriminator",
                                  ["loss.task_discriminator=0.0"]),
    "va/capnet-causal": ("CAPNet: causal VA, 1/3 s ahead (ABAW 2)", "the causal horizon",
                         ["model.causal=false", "model.horizon=0"]),
    "va/face-behaviour-audio-moe": ("Face + behaviour text + WavLM, directed MoE (ABAW 10)",
                                    "the directed MoE", ['model.fusion="concat"']),
    "au/dinov2-wavlm-mamba-hga": ("DINOv2 + WavLM, granularity alignment, Mamba (ABAW 10)",
                                  "the patch tokens", ["model.fusion_options.patches=false"]),
    "expr/dual-transformer-safe-xattn": ("Dual-branch Transformer, safe cross-attention "
                                         "(ABAW 10)", "modality dropout",
                                         ["model.fusion_options.modality_dropout=0.0"]),
    "va/resnet-logmel-tcn-xattn": ("ResNet + log-mel, TCN, QKV cross-attention (ABAW 8)",
                                   "cross-attention", ['model.fusion="concat"',
                                                       'model.fusion_options={}',
                                                       'model.head="tcn"']),
    "expr/vnaw": ("V-NAW noise-aware frame weighting (ABAW 8)", "V-NAW", ['loss.main="ce"']),
    "va/clip-finetune-tcn-transformer": ("Fine-tuned CLIP, TCN + Transformer (ABAW 8)",
                                         "fine-tuning", ["stages.image=[]"]),
    "expr/clip-finetune-tcn-transformer": ("Fine-tuned CLIP, TCN + Transformer (ABAW 8)",
                                           "fine-tuning", ["stages.image=[]"]),
    "au/clip-finetune-tcn-transformer": ("Fine-tuned CLIP, TCN + Transformer (ABAW 8)",
                                         "fine-tuning", ["stages.image=[]"]),
    "au/convnext-whisper-fusion": ("ConvNeXt + Whisper, Transformer fusion (ABAW 8)", "audio",
                                   ['features.backbones=["convnext-base"]', 'model.fusion=""',
                                    'model.fusion_options={}']),
    "va/maven-polar": ("MAVEN: visual + audio + text, six paths, polar VA (ABAW 8)",
                       "polar outputs", ['model.va_output="cartesian"']),
    "ce/mae-tcm-curriculum": ("MAE face encoder, TCM, single -> compound curriculum (ABAW 7)",
                              "the curriculum", ['curriculum.kind=""']),
    "mtl/mae-tcm": ("MAE face encoder, joint training (ABAW 7)", "MAE pre-training",
                    ["stages.image=[]"]),
}

IMAGE_STAGE_INGREDIENTS = {"BYEL pre-training", "SSL pre-training", "fine-tuning",
                           "MAE pre-training"}

# why an ingredient may not pay here: what the twin lacks that it exploits, or what the offline
# encoders change (footnotes of the rows where it does not help)
FINE_TUNING = ("with the offline encoders the recipe's fine-tuning rate (1e-5, set for a "
               "pre-trained CLIP) barely moves the random-init encoder: 3 epochs take its EXPR "
               "loss from 2.09 to 1.99 (chance 2.08) and its convolutions by about 2 %, while its "
               "BatchNorm statistics move by half; the row measures those statistics "
               "re-estimated on the crops, not a fine-tuned encoder")
WHY_NOT = {
    "va/face-behaviour-audio-moe": "the twin ships no behaviour descriptions: its text files say "
                                   "the same for every video, the MoE learns from face and voice",
    "va/maven-polar": "polar outputs gain on validation on every seed and lose on the hidden test "
                      "on two of three (on seed 2 by 0.17, most of it valence); the twin ships no "
                      "transcripts: its text files say the same for every video",
    "mtl/kd-task-discriminator": "the edition-4 twin has no raw videos for s-Aff-Wild2, so no "
                                 "audio stream",
    "expr/dual-transformer-safe-xattn": "the twin's voice is never missing (only faces are): "
                                        "dropping audio teaches nothing the validation asks",
    "va/capnet-causal": "a constraint, not an aid: reading only the past costs accuracy by design",
    "va/clip-finetune-tcn-transformer": FINE_TUNING,
    "expr/clip-finetune-tcn-transformer": FINE_TUNING,
    "au/clip-finetune-tcn-transformer": FINE_TUNING,
}

def run_one(name: str, seed: int, ablate: bool, base: Path) -> dict:
    from abaw.data import load_index
    from abaw.formats.validator import validate
    from abaw.recipe import load_recipe
    from tracks import recipe_path

    key, recipe = name.split("/")
    track = get_track(key)
    overrides = ["features.offline=true", f"run.seed={seed}"]
    if ablate:
        overrides += INGREDIENTS[name][2]
    root = twin_for(key, base, quiet=True, seed=seed)
    for folder in load_recipe(recipe_path(track, recipe), overrides,
                              track=track.name).features.inputs.values():
        say_nothing(root, folder)
    t0 = time.perf_counter()
    out = pipeline.run_track(track, root, recipe=recipe, overrides=overrides,
                             work=base / "runs", out=base / "submissions", quiet=True)
    seconds = time.perf_counter() - t0
    cfg = load_recipe(recipe_path(track, recipe), overrides, track=track.name)
    index = load_index(root)
    valid = validate(out.zip_path, track.name, out.edition, root=index).valid
    row = {"recipe": name, "seed": seed, "ablated": ablate, "seconds": round(seconds, 1),
           "twin_generator": twin_generator(root),
           "baseline": out.baseline, "in_sample": out.val_post, "valid": bool(valid),
           "run_dir": out.run_dir}
    row.update(estimates(track, cfg, out, index))
    return row


def twin_generator(root: Path) -> str:
    """The generator digest the twin at `root` was made by (its marker's `generator` line)."""
    from abaw.cli.demo import MARKER

    lines = (root / MARKER).read_text().splitlines()
    return next(x.split()[1] for x in lines if x.startswith("generator "))


def say_nothing(root: Path, folder: str) -> None:
    """The twin has no behaviour descriptions or transcripts: one text file per annotation id
    that says the same thing for every video, so the text stream is there and carries nothing."""
    from abaw.data import load_index

    (root / folder).mkdir(exist_ok=True)
    for id in sorted({i for seqs in load_index(root).sequences.values() for i in seqs}):
        path = root / folder / f"{id}.txt"
        if not path.is_file():
            path.write_text("1,999999,a person in a video\n")


def estimates(track, cfg, out, index) -> dict:
    """{"score": cross-fitted validation estimate, "test": hidden test score}."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.crossfit import crossfit
    from abaw.post.params import PostParams
    from abaw.post.tune import ValTruth, evaluate

    run = Path(out.run_dir)
    if cfg.pipeline.derive_from:          # CE: no validation set; scored on the hidden test
        return {"score": None, "test": out.val_post}
    val = PredictionSet.load(run / "predictions" / "val.npz")
    truth = ValTruth.from_index(index, track.index_name, "val")
    score = crossfit(val, truth, **cfg.post.options()).estimate.value
    hidden = pipeline.hidden_truth(index, track.index_name)
    test = PostParams.load(run / "post.json").apply(
        PredictionSet.load(run / "predictions" / "test.npz"))
    return {"score": score, "test": evaluate(test, hidden).value if hidden else None}


def mean(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def fmt(v, sign=False) -> str:
    return "-" if v is None else (f"{v:+.3f}" if sign else f"{v:.3f}")


def table(results: list[dict]) -> tuple[str, list[str]]:
    """(markdown table, problems: recipes not clearly above their baseline or without a file).
    Whether an ingredient helps is judged on the hidden test where there is one: three times the
    videos of validation, and untouched by the choice of the kept epoch."""
    lines = ["| recipe | seed system | seeds | score (val, cross-fitted) | hidden test | "
             "without its key ingredient: val / test | helps here? (hidden test) | "
             "constant baseline | train time |",
             "|---|---|---|---|---|---|---|---|---|"]
    problems, notes = [], []
    for name, (system, ingredient, _) in INGREDIENTS.items():
        full = [r for r in results if r["recipe"] == name and not r["ablated"]]
        if not full:
            lines.append(f"| {name} | {system} | 0 | not measured yet | | {ingredient} | | | |")
            continue
        part = [r for r in results if r["recipe"] == name and r["ablated"]]
        key = "score" if mean(full, "score") is not None else "test"
        judge = "test" if mean(full, "test") is not None else key
        s, j, w = mean(full, key), mean(full, judge), mean(part, judge)
        helps = "-" if w is None else verdict(j - w, seed_gains(full, part, judge))
        if w is not None and mean(full, "score") == mean(part, "score") and j == w:
            helps = "no: the same model was kept (the ingredient never acted on it)"
        mark = ""
        if name in WHY_NOT and not helps.startswith("yes"):
            if WHY_NOT[name] not in notes:
                notes.append(WHY_NOT[name])
            mark = f" [{notes.index(WHY_NOT[name]) + 1}]"
        base = mean(full, "baseline")
        gains = " / ".join(delta(mean(full, k), mean(part, k)) for k in ("score", "test"))
        without = "-" if not part else (f"{fmt(mean(part, 'score'))} / {fmt(mean(part, 'test'))}"
                                        f" ({gains} with it)")
        lines.append(f"| {name} | {system} | {len(full)} | {fmt(mean(full, 'score'))} | "
                     f"{fmt(mean(full, 'test'))} | {ingredient}: {without} | {helps}{mark} | "
                     f"{fmt(base)} | {mean(full, 'seconds'):.0f} s |")
        if not all(r["valid"] for r in full):
            problems.append(f"{name}: a submission did not validate")
        if base is not None and s is not None and s < base + MARGIN:
            problems.append(f"{name}: {s:.3f} is not clearly above the baseline {base:.3f}")
    lines += [""] + [f"[{i}] {n}." for i, n in enumerate(notes, 1)]
    return "\n".join(lines), problems


def seed_gains(full, part, key) -> list[float]:
    """The ingredient's gain on each seed that has both runs."""
    without = {r["seed"]: r[key] for r in part if r.get("seed") is not None}
    return [r[key] - without[r["seed"]] for r in full if r.get("seed") in without]


def verdict(gain: float, gains: list[float]) -> str:
    """Does the ingredient help, from its mean gain over seeds and the gain on each: a mean can
    be one seed's doing, so with two or more seeds "yes" and "no" need most seeds to agree."""
    said = []
    if abs(gain) <= HELPS:
        word, said = "no", ["within noise"]
    elif len(gains) >= 2 and sum((g > 0) == (gain > 0) for g in gains) <= len(gains) / 2:
        word, said = "unclear", ["the seeds disagree"]
    else:
        word = "yes" if gain > 0 else "no"
    if len(gains) >= 2:
        said.append(f"{sum(g > 0 for g in gains)} of {len(gains)} seeds gain")
    return word + (f" ({'; '.join(said)})" if said else "")


def delta(with_it, without) -> str:
    return "-" if with_it is None or without is None else fmt(with_it - without, True)


def generator_caption(results) -> str:
    """A sentence when the rows were measured on twins of another generator than this
    checkout's: the same command would measure another twin."""
    from abaw.data.synth import generator_digest

    made = sorted({r.get("twin_generator", "unknown") for r in results})
    now = generator_digest()
    if made == [now]:
        return ""
    return (f" Measured on twins of generator {', '.join(made)}; this checkout's generator is "
            f"{now} (the twin's drawing changed since: `git log abaw/data/synth`), so re-running "
            "measures another twin.")


def write_readme(path: Path, text: str, seeds: list[int], results=()) -> None:
    caption = (f"Measured with `python eval/recipe_table.py --seeds {' '.join(map(str, seeds))}` "
               "on the small twin, every recipe with `--offline-encoders` (its backbones replaced "
               "by the offline encoders that learn on the twin: the track demo's random-init "
               "ResNet-18 read at its first stage, log-mel audio, hashed text; everything else "
               "as the recipe says). Seeds: as many as fitted on a shared 2-core machine (the "
               "seeds column; figures are means over them); seed to seed, a difference moves by "
               "several hundredths, so read small ones as noise. "
               "Score: the cross-fitted validation estimate of the post-processed score (CE has "
               "no validation set: its hidden test score); helps here?: the ingredient's gain on "
               "the hidden test, mean over seeds, within 0.01 said to be noise, and on how many "
               "seeds it gained (yes or no only when most seeds agree); train time: the whole run "
               "here, stages included, two runs at a time on 2 cores (a stage's output another run "
               "already made is reused: the CLIP fine-tuning, made by the VA recipe, serves the "
               "EXPR and AU ones). \"not measured yet\": no run "
               "here so far; \"-\" without the ingredient: that run not made (`--no-ablation`)."
               + generator_caption(results))
    block = f"{START}\n{caption}\n\n{text}\n{END}"
    old = path.read_text() if path.is_file() else ""
    if START in old and END in old:
        new = old[:old.index(START)] + block + old[old.index(END) + len(END):]
    else:
        new = old + ("\n" if old else "") + block + "\n"
    path.write_text(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipes", nargs="*", default=list(INGREDIENTS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--base", type=Path, default=Path("runs/recipe-table"),
                    help="Where the twins, runs and submissions go.")
    ap.add_argument("--results", type=Path, default=None,
                    help="JSON lines of every run [default: BASE/results.jsonl].")
    ap.add_argument("--readme", type=Path, default=ROOT / "tracks" / "README.md")
    ap.add_argument("--no-ablation", action="store_true", help="Only the recipes as written.")
    ap.add_argument("--table-only", action="store_true", help="Rewrite the table, run nothing.")
    ap.add_argument("--threads", type=int, default=2,
                    help="Torch threads (1 when two measurements share a 2-core machine).")
    args = ap.parse_args(argv)
    unknown = [r for r in args.recipes if r not in INGREDIENTS]
    if unknown:
        ap.error(f"unknown recipe {unknown[0]}; expected one of {', '.join(INGREDIENTS)}")
    results_path = args.results or args.base / "results.jsonl"
    results = [json.loads(x) for x in results_path.read_text().splitlines()] \
        if results_path.is_file() else []
    done = {(r["recipe"], r["seed"], r["ablated"]) for r in results}
    if not args.table_only:
        import torch

        torch.set_num_threads(args.threads)
        args.base.mkdir(parents=True, exist_ok=True)
        # recipes that train an image encoder first take longest: they go last
        slow = {n for n in args.recipes if INGREDIENTS[n][1] in IMAGE_STAGE_INGREDIENTS
                or n in ("ce/mae-tcm-curriculum",)}
        order = [n for n in args.recipes if n not in slow] + [n for n in args.recipes if n in slow]
        for seed in args.seeds:
            for name in order:
                for ablate in (False,) if args.no_ablation else (False, True):
                    if (name, seed, ablate) in done:
                        continue
                    row = run_one(name, seed, ablate, args.base)
                    results.append(row)
                    with results_path.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(f"{name} seed {seed}{' without ' + INGREDIENTS[name][1] if ablate else ''}"
                          f": score {fmt(row['score'])}, test {fmt(row['test'])}, baseline "
                          f"{fmt(row['baseline'])}, {row['seconds']:.0f} s", flush=True)
    text, problems = table(results)
    seeds = sorted({r["seed"] for r in results})
    write_readme(args.readme, text, seeds, results)
    print(text)
    for p in problems:
        print(f"MISSED: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
