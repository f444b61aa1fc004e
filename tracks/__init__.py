"""Track packages: `tracks/<name>/__init__.py` defines `TRACK`, the spec every stage reads (see
`abaw.core.track.Track`), and `recipes/*.toml` its recipes. The command line resolves a track name
once, with `get_track`, and passes the spec down."""

from __future__ import annotations

import importlib
from pathlib import Path

from abaw.errors import AbawError

NAMES = ("va", "expr", "au", "mtl", "lsd", "ce")


def get_track(name: str):
    """The `Track` spec of a track name (any case): the one look-up of a name."""
    key = str(name).lower()
    if key not in NAMES:
        raise AbawError(f"--track: found {name!r}, expected one of {', '.join(NAMES)}")
    return importlib.import_module(f"tracks.{key}").TRACK


def recipe_path(track, recipe: str = "default") -> Path | None:
    """`tracks/<key>/recipes/<recipe>.toml` of a `Track` spec if it exists."""
    path = Path(__file__).parent / track.key / "recipes" / f"{recipe}.toml"
    return path if path.is_file() else None


def resolve_recipe(track, recipe: str | None = None) -> Path:
    """A recipe as `--recipe` names it: a TOML file, or a recipe name of the track (default:
    `default`); an error listing the track's recipes when it is neither."""
    if recipe and Path(recipe).is_file():
        return Path(recipe)
    found = recipe_path(track, recipe or "default")
    if found is None:
        names = sorted(p.stem for p in (Path(__file__).parent / track.key / "recipes").glob("*.toml"))
        raise AbawError(f"--recipe: found {recipe!r}, expected a TOML file or a recipe name of "
                        f"{track.key} ({', '.join(names)})")
    return found
