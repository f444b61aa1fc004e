"""The CLI: every command listed with a purpose, fast start-up (no torch), one-line user errors."""

import subprocess
import sys

import pytest

from abaw.cli import COMMANDS

PROBE = """
import sys
from abaw.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "transformers", "timm", "pandas", "av") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def run_probe(argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True,
                         text=True, timeout=120)
    return out.stdout + out.stderr


def test_help_lists_every_command_without_heavy_imports():
    out = run_probe(["--help"])
    for name, (_, _, purpose) in COMMANDS.items():
        assert name in out
        assert purpose.split()[0] in out
    assert "HEAVY:\n" in out or out.rstrip().endswith("HEAVY:")


@pytest.mark.parametrize("name", ["validate", "eval", "protocol"])
def test_light_commands_start_without_torch(name):
    out = run_probe([name, "--help"])
    assert "Usage:" in out
    heavy = out.rsplit("HEAVY:", 1)[1].strip()
    assert "torch" not in heavy and "transformers" not in heavy


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(name):
    out = subprocess.run([sys.executable, "-m", "abaw", name, "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Usage:" in out.stdout


def test_user_error_is_one_line_without_traceback():
    out = subprocess.run([sys.executable, "-m", "abaw", "protocol", "--edition", "12"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: edition: found 12, expected one of 1-10"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("argv", [["run", "--track", "foo"],
                                  ["run", "--track", "foo", "--last"],
                                  ["train", "--track", "foo", "--root", ".", "--features", "x",
                                   "--out", "o"],
                                  ["validate", "x.txt", "--track", "foo", "--edition", "8"]])
def test_an_unknown_track_is_refused_in_one_line_before_any_work(argv, capsys):
    from abaw.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "--track: found 'foo', expected one of va, expr, au, mtl, lsd, ce" in err


EDITION_ZERO = [  # every command taking --edition: 0 is an edition given (and refused)
    ["protocol", "--edition", "0"],
    ["protocol", "--edition", "0", "--track", "va"],
    ["data", "synth", "{tmp}/twin", "--edition", "0"],
    ["data", "check", "{tmp}", "--edition", "0"],
    ["data", "index", "{tmp}", "--edition", "0"],
    ["validate", "{tmp}/x.txt", "--track", "va", "--edition", "0", "--template", "{tmp}/x.txt"],
    ["eval", "--split", "val", "--track", "va", "--root", "{tmp}", "--pred", "{tmp}/x.txt",
     "--edition", "0"],
    ["features", "prompts", "--track", "expr", "--edition", "0", "--out", "{tmp}/p.npy"],
]


@pytest.mark.parametrize("argv", EDITION_ZERO, ids=[" ".join(a[:2]) for a in EDITION_ZERO])
def test_edition_zero_is_an_error_not_the_default(argv, tmp_path):
    (tmp_path / "x.txt").write_text("x\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = subprocess.run([sys.executable, "-m", "abaw"] + [a.format(tmp=tmp_path) for a in argv],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "edition: found 0, expected one of 1-10" in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before          # nothing written


@pytest.mark.parametrize("argv,words", [
    (["protocol", "--track", "foo"], "--track: found 'FOO', expected one of"),
    (["protocol", "--track", "mtl", "--edition", "5"], "expected one of AU, ERI, EXPR, VA in "
                                                       "edition 5"),
    (["protocol", "--track", ""], "--track: found ''"),
])
def test_protocol_with_an_unknown_track_is_one_line(argv, words):
    out = subprocess.run([sys.executable, "-m", "abaw", *argv], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and words in out.stderr and out.stderr.count("\n") == 1
