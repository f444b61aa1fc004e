"""`abaw demo`: its table says what each score is and keeps every digit in a pipe, it writes one
report per track, and it remakes a cached twin made from another plan or generator."""

import io
import subprocess
import sys
from pathlib import Path

from abaw.cli import demo
from abaw.pipeline import Outcome
from abaw.report.tables import make_console


def test_the_table_keeps_every_figure_whole_in_a_pipe():
    va = Outcome("VA", 8, "runs/va/x", val_raw=0.41234, val_post=0.5, val_crossfit=0.45678,
                 baseline=0.0, hidden_test=0.43219, zip_path="submissions/" + "v" * 150 + ".zip",
                 intervals={"raw": [0.3, 0.5], "post": [0.4, 0.6], "crossfit": [0.31234, 0.55],
                            "test": [0.40001, 0.46]})
    ce = Outcome("CE", 8, "runs/ce/x", val_raw=0.2, val_post=0.3, baseline=0.05,
                 hidden_test=0.3, scored_on="test (hidden truth)",
                 intervals={"raw": [0.1, 0.25], "post": [0.2, 0.4], "test": [0.2, 0.4]})
    out = io.StringIO()
    make_console(out).print(demo.table([va, ce], "t"))
    text = out.getvalue()
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
            for line in text.splitlines() if line.startswith("│")}
    assert rows["VA"][3:7] == ["0.4123 [0.3000, 0.5000]", "0.5000", "0.4568 [0.3123, 0.5500]",
                               "0.4322 [0.4000, 0.4600]"]
    assert rows["VA"][7] == va.zip_path                  # a long cell is not cut at 80 columns
    assert rows["CE"][2:7] == ["0.0500 (test)", "0.2000 [0.1000, 0.2500] (test)", "-", "-",
                               "0.3000 [0.2000, 0.4000]"]


def test_a_twin_of_another_plan_is_made_again(tmp_path, monkeypatch):
    made = []

    def fake(root, **kw):
        root.mkdir()
        (root / "data.txt").write_text(str(len(made)))
        made.append(kw)
        return root
    monkeypatch.setattr("abaw.data.synth.synthesize", fake)
    root = demo.twin_for("va", tmp_path, quiet=True, size="tiny")
    assert demo.twin_for("va", tmp_path, quiet=True, size="tiny") == root and len(made) == 1
    (root / demo.MARKER).write_text("ok\n")               # a twin of an earlier plan
    demo.twin_for("va", tmp_path, quiet=True, size="tiny")
    assert len(made) == 2 and (root / "data.txt").read_text() == "1"
    monkeypatch.setattr("abaw.data.synth.generator_digest", lambda: "drawn-otherwise")
    demo.twin_for("va", tmp_path, quiet=True, size="tiny")  # same plan, another generator
    assert len(made) == 3 and (root / "data.txt").read_text() == "2"


def test_the_generator_digest_follows_its_source(tmp_path, monkeypatch):
    import abaw.data.synth as synth

    first = synth.generator_digest()
    fake = tmp_path / "synth" / "__init__.py"
    fake.parent.mkdir()
    for path in Path(synth.__file__).parent.glob("*.py"):
        (fake.parent / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(synth, "__file__", str(fake))
    assert synth.generator_digest() == first
    (fake.parent / "faces.py").write_text((fake.parent / "faces.py").read_text() + "\n# redrawn\n")
    assert synth.generator_digest() != first


def test_demo_prints_the_table_and_writes_a_report_per_track(tmp_path):
    res = subprocess.run([sys.executable, "-m", "abaw", "demo", "--size", "tiny", "--tracks",
                          "lsd", "--out", str(tmp_path), "--quiet"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    page = tmp_path / "reports" / "lsd" / "index.html"
    assert page.is_file() and f"report: {page}" in res.stdout
    assert "cross-fitted" in res.stdout and "hidden test" in res.stdout
    assert "[low, high]: 90% bootstrap interval over videos" in res.stdout
    assert "…" not in res.stdout
