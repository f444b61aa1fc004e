"""`preflight` / `abaw run --check`: each mistake a run would meet hours in is reported before any
step runs, all of them at once, and nothing is written under --work or --out."""

import os
import shutil
from pathlib import Path

import pytest
from test_data_check import run_cli

from abaw.errors import AbawError
from abaw.pipeline import preflight as pf
from abaw.pipeline.preflight import PreflightFailed, preflight
from tracks import get_track

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from abaw.data.synth import synthesize

    return synthesize(tmp_path_factory.mktemp("preflight") / "ed8", edition=8, size="tiny", seed=0)


@pytest.fixture
def tree(twin, tmp_path):
    """A copy of the twin to break."""
    return Path(shutil.copytree(twin, tmp_path / "tree"))


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """--work and --out (not made yet), and every file under them after the test."""
    monkeypatch.chdir(tmp_path)
    work, out = tmp_path / "work", tmp_path / "out"
    yield work, out
    left = [os.path.join(d, f) for top in (work, out) for d, _, fs in os.walk(top) for f in fs]
    assert not work.exists() and not out.exists() and left == []   # nothing was written


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No weights anywhere: an empty weights home and an empty Hugging Face cache."""
    from huggingface_hub import constants

    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))


def problems(track, root, folders, **kw) -> list[str]:
    """The problems preflight lists (the lines under its first line), or [] when it passes."""
    work, out = folders
    try:
        preflight(get_track(track), root, work=work, out=out, **{"recipe": "demo", **kw})
    except PreflightFailed as e:
        head, *lines = str(e).split("\n")
        if not lines:                                   # one problem: one line
            one = f"{track.upper()}, before any step ran: "
            assert head.startswith(one)
            return [head[len(one):]]
        assert head.startswith(f"{track.upper()}: {len(lines)} problems found in ")
        return [line.strip() for line in lines]
    return []


def test_the_demo_recipe_on_the_twin_passes(twin, folders):
    work, out = folders
    for track in ("va", "expr", "au", "ce"):
        done = preflight(get_track(track), twin, recipe="demo", work=work, out=out)
        text = "\n".join(done.checked)
        assert "weights: resnet18 (random: made by abaw)" in text
        assert "test rows: " in text and "--out" in text and "disk: " in text


def test_a_recipe_that_does_not_load(twin, folders):
    shipped = sorted(p.stem for p in (REPO / "tracks" / "va" / "recipes").glob("*.toml"))
    assert "demo" in shipped and "capnet-causal" in shipped
    assert problems("va", twin, folders, recipe="nosuch") == [
        "--recipe: found 'nosuch', expected a TOML file or a recipe name of va "
        f"({', '.join(shipped)})"]
    found = problems("va", twin, folders, overrides=["optim.lr=fast"])
    assert found == ["--set optim.lr=fast: field optim.lr: found 'fast', expected a number"]


def test_a_template_by_bare_name_is_looked_up_under_the_root(twin, folders):
    name = "CVPR_8th_ABAW_AU_test_set_example.txt"        # the README's example
    assert problems("au", twin, folders, template=name) == []
    found = problems("au", twin, folders, template="CVPR_8th_ABAW_AU_test_set_sample.txt")
    assert found == [f"CVPR_8th_ABAW_AU_test_set_sample.txt: found no such file in "
                     f"{Path.cwd()} or under {twin}, expected the organisers' template or test list"]


def test_the_template_of_another_track(twin, folders):
    found = problems("au", twin, folders, template="CVPR_8th_ABAW_VA_test_set_example.txt")
    assert len(found) == 1 and "is this the AU template?" in found[0]


def test_no_template_under_the_root(tree, folders):
    os.remove(tree / "CVPR_8th_ABAW_Expr_test_set_example.txt")
    found = problems("expr", tree, folders)
    assert len(found) == 1 and found[0].startswith(f"{tree}: found no EXPR template (looked for ")


def test_missing_weights_in_one_problem_with_the_commands(twin, folders, offline):
    found = problems("va", twin, folders, recipe="default")
    home = Path(os.environ["ABAW_MODELS"])
    assert found == [
        f"{get_recipe('va', 'default')}: found no weights for clip-vit-b16 (`hf download "
        f"openai/clip-vit-base-patch16 --local-dir {home / 'clip-vit-b16'}`), ast (`hf download "
        f"MIT/ast-finetuned-audioset-10-10-0.4593 --local-dir {home / 'ast'}`), expected them in "
        "a folder or the Hugging Face cache; `abaw models list` says where each goes"]
    (home / "ast").mkdir(parents=True)
    (home / "ast" / "config.json").write_text("{}")        # one of them is here now
    assert "ast" not in problems("va", twin, folders, recipe="default")[0]
    folder = problems("va", twin, folders,
                      overrides=['features.weights={resnet18 = "no/such-model"}'])
    assert folder[0].endswith("found no weights for resnet18 (`hf download no/such-model`), "
                              "expected them in a folder or the Hugging Face cache; `abaw models "
                              "list` says where each goes")


def test_offline_encoders_need_no_weights_of_the_recipe_backbones(twin, folders, offline):
    # `abaw run --offline-encoders`: the recipe's backbones are replaced before anything is
    # extracted, so their weights are not needed (and not asked for)
    assert problems("va", twin, folders, recipe="default",
                    overrides=["features.offline=true"]) == []
    assert problems("expr", twin, folders, recipe="clip-wav2vec2-tcn-xattn",
                    overrides=["features.offline=true"]) == []


def test_random_weights_exist_only_for_timm_cnns(twin, folders):
    found = problems("va", twin, folders, overrides=['features.backbones=["dinov2-vit-b14"]',
                                                     'features.weights={dinov2-vit-b14 = "random"}'])
    assert len(found) == 1 and "field features.weights.dinov2-vit-b14: found \"random\"" in found[0]


def get_recipe(track, name):
    from tracks import recipe_path

    return recipe_path(get_track(track), name)


@pytest.mark.parametrize("key, make", [
    ("loss.prompts", "abaw features prompts --track VA --out prompts/va.npy"),
    ("loss.teacher", "abaw predict TEACHER_RUN --split train --out prompts/va.npy"),
])
def test_a_file_the_recipe_names_and_what_makes_it(twin, folders, key, make):
    found = problems("va", twin, folders, overrides=[f'{key}="prompts/va.npy"'])
    assert len(found) == 1 and found[0].startswith(
        f"{get_recipe('va', 'demo')}: field {key}: found prompts/va.npy, no such file, expected ")
    assert f"make it with `{make}" in found[0]
    Path("prompts").mkdir()
    Path("prompts/va.npy").write_bytes(b"")
    try:
        assert problems("va", twin, folders, overrides=[f'{key}="prompts/va.npy"']) == []
        # training only: a run that stops after the features does not need it
        os.remove("prompts/va.npy")
        assert problems("va", twin, folders, overrides=[f'{key}="prompts/va.npy"'],
                        until="features") == []
    finally:
        shutil.rmtree("prompts")


def test_test_videos_without_crops(tree, folders):
    from abaw.data import load_index

    index = load_index(tree)
    test = index.ids("VA", "test")
    shutil.rmtree(tree / index.media[test[0]].crop_dir)
    found = problems("va", tree, folders)
    assert found == [f"{tree}: found no face crop for 1 of the {len(test)} VA test videos "
                     f"({test[0]}), expected cropped_aligned*/<id>/<NNNNN>.jpg for every test "
                     f"video; detect the faces of the raw videos: `abaw faces extract {tree}` "
                     "(then found under the work folder, or give its --out as --crops)"]
    for id_ in index.ids("CE", "test"):                    # CE: raw videos, nobody ran the faces
        shutil.rmtree(tree / index.media[id_].crop_dir)
    found = problems("ce", tree, folders)
    assert len(found) == 1 and "CE test videos" in found[0] and "abaw faces extract" in found[0]


def test_no_crops_for_any_training_video(tree, folders):
    shutil.rmtree(tree / "cropped_aligned")
    shutil.rmtree(tree / "cropped_aligned_new_50_vids", ignore_errors=True)
    found = problems("au", tree, folders)
    assert [f.split(", expected")[0] for f in found] == [
        f"{tree}: found no face crop for any of the {n} AU {split} videos"
        for split, n in (("train", 3), ("val", 2))] + [
        f"{tree}: found no face crop for 2 of the 2 AU test videos (" + found[2].split("(")[1]
        .split(")")[0] + ")"]


def test_output_folders_that_cannot_be_written(twin, folders, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    found = problems("va", twin, (blocker / "work", blocker / "out"))
    assert found == [f"--work {blocker / 'work'}: found a file at {blocker}, expected a folder "
                     "abaw can write in",
                     f"--out {blocker / 'out'}: found a file at {blocker}, expected a folder abaw "
                     "can write in"]
    assert blocker.read_text() == ""


def test_a_probe_leaves_an_existing_folder_as_it_was(twin, folders):
    work, out = folders
    work.mkdir()
    (work / "keep").write_text("x")
    try:
        assert problems("va", twin, folders) == []
        assert sorted(os.listdir(work)) == ["keep"]
    finally:
        shutil.rmtree(work)


def test_too_little_disk_for_the_feature_stores(twin, folders, monkeypatch):
    monkeypatch.setattr(pf.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1, 1, 1000))
    found = problems("va", twin, folders)
    # rows x width x 2 bytes (float16) + 9 a row: resnet18's first stage (64 channels on an 8x8
    # grid) and 64 log-mel bands
    rows = sum(len(s.frames) for s in load(twin).sequences["VA"].values())
    face, voice = rows * (64 * 8 * 8 * 2 + 9), rows * (64 * 2 + 9)
    assert found == [f"--work {folders[0]}: found 1.0 kB free, expected at least "
                     f"{pf._size(face + voice)} for the feature stores still to extract "
                     f"(resnet18: {rows:,} rows x 4,096 values, {pf._size(face)}; logmel: "
                     f"{rows:,} rows x 64 values, {pf._size(voice)})"]


def load(root):
    from abaw.data import load_index

    return load_index(root)


def test_dataset_errors_are_listed(tree, folders):
    ann = next((tree / "8th ABAW Annotations" / "VA_Estimation_Challenge" / "Train_Set").iterdir())
    ann.write_text(ann.read_text().replace("\n", "\nnot,a number\n", 1))
    found = problems("va", tree, folders)
    assert len(found) == 1 and found[0].startswith(f"8th ABAW Annotations/VA_Estimation_Challenge"
                                                   f"/Train_Set/{ann.name}:2")


def test_every_problem_at_once_and_nothing_run(tree, folders, offline, capsys):
    from abaw import pipeline

    os.remove(tree / "CVPR_8th_ABAW_AU_test_set_example.txt")
    work, out = folders
    args = ["run", "--track", "au", "--root", str(tree), "--recipe", "default", "--check",
            "--work", str(work), "--out", str(out), "--set", 'loss.teacher="t.npz"']
    code, stdout, err = run_cli(capsys, *args)
    lines = err.strip().split("\n")
    assert code == 1 and lines[0].startswith("error: AU: 3 problems found in ")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        str(get_recipe("au", "default")), str(get_recipe("au", "default")), str(tree)]
    with pytest.raises(PreflightFailed, match="AU: 3 problems"):
        pipeline.run_track(get_track("au"), tree, recipe="default", work=work, out=out,
                           overrides=['loss.teacher="t.npz"'], quiet=True)


def test_run_check_passes_in_one_listing(twin, folders, capsys):
    work, out = folders
    code, stdout, _ = run_cli(capsys, "run", "--track", "va", "--root", str(twin), "--recipe",
                              "demo", "--check", "--work", str(work), "--out", str(out))
    assert code in (0, None) and stdout.startswith("VA: every check passed in ")
    assert f"  test rows: {twin / 'CVPR_8th_ABAW_VA_test_set_example.txt'} (240 rows)" in stdout


def test_an_unknown_step(twin, folders):
    with pytest.raises(AbawError, match="--until: found 'zip', expected one of index, features"):
        preflight(get_track("va"), twin, until="zip", work=folders[0], out=folders[1])


def test_text_inputs_a_recipe_names_must_exist(tree, folders):
    # the demo recipe with a text backbone reading "said/": no folder, then an empty one, then one
    # file are what a run would read (an absent stream, silently, without this check)
    sets = ["features.backbones=['resnet18','text-hash']", "features.inputs={text-hash='said'}"]
    expected = [f"field features.inputs.text-hash: found no text file in {tree / 'said'}, "
                "expected <id or video>.txt per video (abaw/features/text.py says the format)"]
    for _ in range(2):
        found = problems("va", tree, folders, overrides=sets)
        assert [p.split(": ", 1)[1] for p in found] == expected
        (tree / "said").mkdir(exist_ok=True)
    (tree / "said" / "x.txt").write_text("1,2,smiles\n")
    assert problems("va", tree, folders, overrides=sets) == []
