"""No module imports a higher floor: the stages stack, each reading only what lies below it.

Floors, bottom up (a module may import its own floor and those below):
    0  protocol, core (and errors, atomic, artifacts, progress, the package itself)
    1  data, metrics, uncertainty
    2  features, faces, models
    3  train
    4  post, formats   (the same floor, and neither imports the other)
    5  pipeline, recipe, report
    6  cli
Track specs (`tracks/`) are read by every floor from 1 up and import only floor 0.

Every `import` is checked, at module level and inside functions (heavy imports are lazy, and a
lazy import up a floor is still an arrow up).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {
    "abaw": 0, "abaw.errors": 0, "abaw.atomic": 0, "abaw.artifacts": 0, "abaw.progress": 0,
    "abaw.protocol": 0, "abaw.core": 0,
    "abaw.data": 1, "abaw.metrics": 1, "abaw.uncertainty": 1,
    "abaw.features": 2, "abaw.faces": 2, "abaw.models": 2,
    "abaw.train": 3,
    "abaw.post": 4, "abaw.formats": 4,
    "abaw.pipeline": 5, "abaw.recipe": 5, "abaw.report": 5,
    "abaw.cli": 6, "abaw.__main__": 6,
}
TRACKS_FLOOR = 0.5          # above protocol/core, below everything else
APART = {"abaw.post", "abaw.formats"}   # one floor, no arrow either way


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def area(module: str) -> str:
    """The key of FLOORS (or "tracks") a module belongs to: its longest listed prefix."""
    if module == "tracks" or module.startswith("tracks."):
        return "tracks"
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in FLOORS:
            return key
    raise KeyError(module)


def floor(module: str) -> float:
    key = area(module)
    return TRACKS_FLOOR if key == "tracks" else FLOORS[key]


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) of every abaw / tracks import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:                                  # relative: from the package
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            # `from abaw import metrics` imports abaw.metrics: name the submodule when it is one
            names = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                     for a in node.names]
        else:
            continue
        out += [(node.lineno, n) for n in dict.fromkeys(names)
                if n.split(".")[0] in ("abaw", "tracks")]
    return out


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(files, root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        me = module_name(path, root)
        where = path.relative_to(root)
        for line, target in imports(path, root):
            mine, theirs = area(me), area(target)
            if mine == theirs:
                continue
            if floor(target) > floor(me):
                found.append(f"{where}:{line}: {me} imports {target} "
                             f"(floor {floor(target)} > {floor(me)})")
            elif mine == "tracks" and floor(target) > 0:
                found.append(f"{where}:{line}: track spec {me} imports "
                             f"{target}, expected only protocol / core")
            elif {mine, theirs} == APART:
                found.append(f"{where}:{line}: {me} imports {target} "
                             "(post and formats stand apart)")
    return found


def package_files():
    return sorted(p for d in ("abaw", "tracks") for p in (ROOT / d).rglob("*.py"))


def test_every_module_has_a_floor():
    for path in package_files():
        area(module_name(path))


def test_no_module_imports_a_higher_floor():
    assert violations(package_files()) == []


@pytest.mark.parametrize("where,line", [
    ("abaw/core/layout.py", "    from abaw.metrics import valid_mask\n"),     # lazy, up a floor
    ("abaw/post/tune.py", "from abaw.formats.writers import DEFAULT_DECIMALS\n"),   # across
    ("tracks/va/__init__.py", "from abaw.train import trainer\n"),             # spec reaching up
])
def test_a_planted_arrow_is_caught(tmp_path, where, line):
    src = ROOT / where
    planted = tmp_path / where
    planted.parent.mkdir(parents=True)
    text = src.read_text()
    if line.startswith(" "):
        text += "\n\ndef _planted():\n" + line
    else:
        text = line + text
    planted.write_text(text)
    assert violations([src]) == []
    assert len(violations([planted], root=tmp_path)) == 1
